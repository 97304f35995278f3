"""The check catalogue as a whole (DESIGN §4 "Checks"): every kind documented, defined in
the module of its namespace, used by a lesson or a test; kind modules found on disk."""

from __future__ import annotations

import importlib
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import mesoslab.checks.kinds as kinds_package
from mesoslab.checks import registry
from mesoslab.checks.registry import KINDS_PACKAGE, catalogue, kind_modules, namespace_of
from mesoslab.lessons import catalog

TESTS = Path(__file__).resolve().parent
KINDS_DIR = Path(kinds_package.__file__).parent


def test_every_kind_has_a_docstring_and_every_parameter_help_text() -> None:
    """`mesoslab checks` and the lesson lint show these to lesson authors."""
    undocumented = sorted(name for name, kind in catalogue().items() if not kind.doc.strip())
    no_help = sorted(
        f"{name}: {param}"
        for name, kind in catalogue().items()
        for param, spec in kind.params.items()
        if not spec.help.strip()
    )
    assert undocumented == [], f"check kinds without a docstring: {undocumented}"
    assert no_help == [], f"parameters without help text: {no_help}"


def test_every_kind_is_defined_in_a_module_of_its_namespace() -> None:
    wrong = sorted(
        f"{name} in {kind.fn.__module__}"
        for name, kind in catalogue().items()
        if namespace_of(kind.fn.__module__) != name.split(".")[0]
    )
    assert wrong == [], f"kinds outside {KINDS_PACKAGE}.<their namespace>: {wrong}"


def _kinds_in_lessons() -> set[str]:
    entries = catalog.lesson_files()
    assert entries, f"no lessons found in {catalog.lessons_dir()}"
    return {
        spec.kind
        for entry in entries
        for step in catalog.load(entry.id).steps
        for spec in step.checks
    }


def _kinds_named_in_tests() -> set[str]:
    text = "\n".join(
        path.read_text(encoding="utf-8")
        for path in sorted(TESTS.rglob("*.py"))
        if path.resolve() != Path(__file__).resolve()  # naming a kind here is no use of it
    )
    return {name for name in catalogue() if re.search(rf"""["']{re.escape(name)}["']""", text)}


def test_every_kind_is_used_by_a_lesson_or_a_test() -> None:
    in_lessons = _kinds_in_lessons()
    in_tests = _kinds_named_in_tests()
    unused = sorted(set(catalogue()) - in_lessons - in_tests)
    assert unused == [], (
        f"check kinds no lesson uses and no test names: {', '.join(unused)} "
        "(use them in a lesson's check block, test them against the fixture servers, or "
        "remove them)"
    )


def test_lessons_use_only_catalogued_kinds() -> None:
    assert _kinds_in_lessons() <= set(catalogue())


# ---------------------------------------------------------------------- kind modules on disk


def test_kind_modules_lists_every_python_file_under_the_kinds_folder() -> None:
    """A folder without ``__init__.py`` would hide its modules from pkgutil: this says so."""
    on_disk = set()
    for path in KINDS_DIR.rglob("*.py"):
        parts = path.relative_to(KINDS_DIR).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            on_disk.add(".".join((KINDS_PACKAGE, *parts)))
    assert set(kind_modules()) == on_disk
    assert {"host", "zookeeper", "mesos", "marathon", "chronos"} <= {
        namespace_of(m) for m in kind_modules()
    }


@pytest.fixture
def extra_kinds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A second folder of the kinds package (a module written there is a module of
    ``mesoslab.checks.kinds``), with a registry of its own that ends with the test."""
    folder = tmp_path / "kinds"
    folder.mkdir()
    monkeypatch.setattr(kinds_package, "__path__", [*kinds_package.__path__, str(folder)])
    monkeypatch.setattr(registry, "_REGISTRY", dict(catalogue()))
    monkeypatch.setattr(registry, "_loaded", False)
    before = set(sys.modules)
    yield folder
    for name in set(sys.modules) - before:
        if name.startswith(KINDS_PACKAGE + "."):
            del sys.modules[name]


def _write(path: Path, code: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    importlib.invalidate_caches()


KIND_MODULE = '''
    from mesoslab.checks.registry import P, check
    from mesoslab.checks.result import Observation


    @check("{name}", role="master", params={{"x": P(int, help="a number")}})
    def probe(ctx, node, params):
        """A kind only this test knows."""
        return Observation.ok("fine", expected="", observed="")
'''


def test_a_module_dropped_into_the_kinds_folder_is_found_without_editing_a_list(
    extra_kinds: Path,
) -> None:
    _write(extra_kinds / "dropin.py", KIND_MODULE.format(name="dropin.probe"))
    _write(extra_kinds / "nested" / "__init__.py", "")
    _write(extra_kinds / "nested" / "deep.py", KIND_MODULE.format(name="nested.deep"))
    assert {
        f"{KINDS_PACKAGE}.dropin",
        f"{KINDS_PACKAGE}.nested",
        f"{KINDS_PACKAGE}.nested.deep",
    } <= set(kind_modules())
    kinds = catalogue()
    assert kinds["dropin.probe"].doc == "A kind only this test knows."
    assert kinds["dropin.probe"].params["x"].help == "a number"
    assert kinds["nested.deep"].fn.__module__ == f"{KINDS_PACKAGE}.nested.deep"


def test_a_kind_registered_in_a_module_of_another_namespace_is_refused(
    extra_kinds: Path,
) -> None:
    _write(extra_kinds / "stray.py", KIND_MODULE.format(name="marathon.stray"))
    with pytest.raises(RuntimeError) as err:
        catalogue()
    assert str(err.value) == (
        f"check kind marathon.stray is defined in {KINDS_PACKAGE}.stray: a stray.* module"
    )
    assert "marathon.stray" not in registry._REGISTRY


def test_a_folder_namespace_covers_its_modules_only() -> None:
    """A module in ``kinds/mesos/`` may register ``mesos.*`` kinds and nothing else."""

    def probe() -> None:
        """Nothing."""

    probe.__module__ = f"{KINDS_PACKAGE}.mesos.extra"
    with pytest.raises(RuntimeError, match=r"host\.sneaky is defined in .*mesos\.extra"):
        registry.check("host.sneaky", role="")(probe)
    assert "host.sneaky" not in catalogue()
    assert namespace_of(f"{KINDS_PACKAGE}.mesos.extra") == "mesos"
    assert namespace_of("tests.kinds") is None  # a test's own kinds have no namespace rule


def test_a_kind_that_asks_one_service_takes_its_port() -> None:
    """`port:` points such a kind at a second daemon beside the lab's own (lesson 9)."""
    kinds = catalogue()
    with_service = {name: kind for name, kind in kinds.items() if kind.service is not None}
    assert {"mesos.agent_flag", "mesos.framework", "marathon.app_running", "zookeeper.mode"} <= (
        set(with_service)
    )
    for name, kind in with_service.items():
        assert kind.params["port"].types == (int,), name
        assert kind.service in ("mesos_master", "mesos_agent", "marathon", "zookeeper"), name
        refused = kind.problems({**_required(kind), "port": 70000})
        assert f"{name}: parameter 'port' must be a TCP port, got 70000" in refused, refused
    assert kinds["http.get"].service is None  # its port is its own required parameter


def _required(kind: registry.CheckKind) -> dict[str, object]:
    samples = {str: "x", int: 1, float: 1.0, bool: True, list: [], dict: {}}
    return {key: samples[p.types[0]] for key, p in kind.params.items() if p.required}


def test_a_kind_cannot_declare_port_and_a_service() -> None:
    def probe() -> None:
        """Nothing."""

    with pytest.raises(RuntimeError, match="declares 'port' and a service"):
        registry.check("tests.both", role="", params={"port": registry.P(int)}, service="marathon")(
            probe
        )
    assert "tests.both" not in catalogue()
