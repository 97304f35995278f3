"""`mesoslab init`: the written lab.toml parses to exactly the options given, for every
combination; it documents every key; it never overwrites without --force."""

from __future__ import annotations

import itertools
import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from mesoslab.cli.lab import doctor, init, status
from mesoslab.cli.main import _Group
from mesoslab.errors import InitError
from mesoslab.lab.init import bundled_vagrantfile, render_lab_toml, write_lab
from mesoslab.lab.presets import PRESETS
from mesoslab.lab.spec import (
    DEFAULT_BOX,
    DEFAULT_SUBNET,
    PLATFORMS,
    PROVIDERS,
    load_lab,
    parse_lab,
)

REPO = Path(__file__).resolve().parents[1]
PACKAGES = (None, "mesosphere", "aventer", "prebaked", "local:rpms", "local:/srv/my rpms")


def cli() -> _Group:
    """The lab commands inside the real `mesoslab` group class (its error handling)."""
    return _Group(name="mesoslab", commands={"init": init, "doctor": doctor, "status": status})


@pytest.fixture
def vagrantfile(tmp_path: Path) -> Path:
    source = tmp_path / "checkout" / "Vagrantfile"
    source.parent.mkdir()
    source.write_text("# generic Vagrantfile\nVagrant.configure('2') { }\n")
    return source


# ------------------------------------------------------------------- every combination


def _combinations() -> list[tuple[str, str | None, str, str | None]]:
    return list(itertools.product(PRESETS, (None, *PROVIDERS), PLATFORMS, PACKAGES))


@pytest.mark.parametrize(("preset", "provider", "platform", "packages"), _combinations())
def test_written_file_parses_to_exactly_the_options(
    tmp_path: Path,
    vagrantfile: Path,
    preset: str,
    provider: str | None,
    platform: str,
    packages: str | None,
) -> None:
    expected_provider = provider or ("lxc" if platform == "rehearsal" else "virtualbox")
    if platform == "rehearsal" and expected_provider != "lxc":
        with pytest.raises(InitError) as err:
            write_lab(
                tmp_path / "lab",
                preset=preset,
                provider=provider,
                platform=platform,
                packages=packages,
                vagrantfile=vagrantfile,
                check_addresses=False,
            )
        assert "--platform rehearsal" in str(err.value) and "--provider lxc" in str(err.value)
        assert not (tmp_path / "lab" / "lab.toml").exists()
        return
    result = write_lab(
        tmp_path / "lab",
        name="classroom-7",
        preset=preset,
        provider=provider,
        platform=platform,
        packages=packages,
        vagrantfile=vagrantfile,
        check_addresses=False,
    )
    spec = load_lab(tmp_path / "lab")  # the real reading path, from the file on disk
    assert spec == result.spec
    assert spec.name == "classroom-7"
    assert spec.preset == preset
    assert spec.provider == expected_provider
    assert spec.platform == platform
    assert spec.box == DEFAULT_BOX[platform]
    assert spec.subnet == DEFAULT_SUBNET[expected_provider]
    channel = packages or ("mesosphere" if platform == "centos7" else "prebaked")
    assert spec.packages.channel == channel.partition(":")[0]
    assert spec.packages.local_path == (channel.partition(":")[2] or None)
    assert [n.name for n in spec.nodes] == [p.name for p in PRESETS[preset]]
    assert [n.roles for n in spec.nodes] == [p.roles for p in PRESETS[preset]]
    # what the file says is what the defaults would say: deleting a key changes nothing
    bare = {"name": "classroom-7", "preset": preset, "provider": expected_provider}
    bare["platform"] = platform
    if packages:
        bare["packages"] = packages
    assert parse_lab(bare, directory=spec.directory) == spec


def test_every_key_is_documented_with_its_allowed_values() -> None:
    text = render_lab_toml(name="demo")
    for key in ("name", "preset", "provider", "platform", "box", "packages"):
        assert re.search(rf"^{key} = ", text, re.M), key
    for table in ("[network]", "[resources]"):
        assert re.search(rf"^{re.escape(table)}$", text, re.M), table
    for commented in ("# [mirrors]", "# vault_url = ", "# mesosphere_repo_rpm = ", "# [[node]]"):
        assert commented in text, commented
    for value in (*PRESETS, *PROVIDERS, *PLATFORMS, "mesosphere", "aventer", "prebaked"):
        assert f'"{value}"' in text, value
    assert '"local:PATH"' in text
    # every active key line has a comment block right above its section or itself
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^[a-z_]+ = ", line) and lines[index - 1].strip():
            assert lines[index - 1].startswith("#") or "=" in lines[index - 1], line


def test_the_2026_notes_are_in_the_file() -> None:
    text = render_lab_toml(name="demo", provider="lxc", platform="rehearsal")
    assert "404" in text and "repos.mesosphere.io" in text  # Mesosphere repo gone -> channels
    assert "end-of-life" in text and "vault.centos.org" in text  # CentOS 7 EOL -> vault_url
    assert "192.168.56.0/21" in text and "networks.conf" in text  # VirtualBox host-only range
    assert "lxcbr0" in text and "10.0.3.0/24" in text  # the LXC bridge
    assert "Apple Silicon" in text  # x86_64-only boxes
    assert '# gateway = "10.0.3.1"' in text


def _uncomment_nodes(text: str) -> str:
    head, marker, tail = text.partition("\n#\n# [[node]]\n")
    assert marker, "no commented [[node]] example"
    body = (marker + tail).splitlines()
    return head + "\n".join(line[2:] if line.startswith("# ") else "" for line in body) + "\n"


@pytest.mark.parametrize("preset", list(PRESETS))
@pytest.mark.parametrize("provider", ["virtualbox", "lxc"])
def test_the_commented_nodes_are_the_presets_nodes(preset: str, provider: str) -> None:
    text = render_lab_toml(name="demo", preset=preset, provider=provider)
    from_preset = parse_lab(tomllib.loads(text))
    explicit = parse_lab(tomllib.loads(_uncomment_nodes(text)))
    assert explicit.nodes == from_preset.nodes
    assert len(explicit.nodes) == len(PRESETS[preset])


def test_the_commented_mirrors_parse_when_uncommented() -> None:
    text = render_lab_toml(name="demo")
    text = text.replace("# [mirrors]\n# vault_url = ", '[mirrors]\nvault_url = "https://m/7"\n#')
    # [mirrors] must come before [network]: it does in the file
    spec = parse_lab(tomllib.loads(text))
    assert spec.packages.vault_url == "https://m/7"


def test_strings_are_escaped(tmp_path: Path, vagrantfile: Path) -> None:
    path = 'local:/srv/rpms "quoted" \\ back'
    result = write_lab(
        tmp_path, name="x", packages=path, vagrantfile=vagrantfile, check_addresses=False
    )
    assert result.spec.packages.local_path == '/srv/rpms "quoted" \\ back'


# ----------------------------------------------------------------- files on disk, --force


def test_refuses_to_overwrite_without_force(tmp_path: Path, vagrantfile: Path) -> None:
    (tmp_path / "lab.toml").write_text('name = "mine"\n')
    with pytest.raises(InitError) as err:
        write_lab(tmp_path, vagrantfile=vagrantfile, check_addresses=False)
    assert "already exists" in str(err.value) and "--force" in str(err.value)
    assert (tmp_path / "lab.toml").read_text() == 'name = "mine"\n'
    write_lab(tmp_path, force=True, preset="3m-3a", vagrantfile=vagrantfile, check_addresses=False)
    assert load_lab(tmp_path).preset == "3m-3a"


def test_creates_the_folder_and_names_the_lab_after_it(tmp_path: Path, vagrantfile: Path) -> None:
    folder = tmp_path / "deep" / "My Lab 2"
    result = write_lab(folder, vagrantfile=vagrantfile, check_addresses=False)
    assert result.lab_file.is_file()
    assert result.spec.name == "My-Lab-2"


def test_bad_name_is_refused_with_the_rule(tmp_path: Path, vagrantfile: Path) -> None:
    with pytest.raises(InitError, match="--name"):
        write_lab(tmp_path, name="no spaces please", vagrantfile=vagrantfile, check_addresses=False)


@pytest.mark.parametrize("bad", ["local", "local:", "nexus", "aventer:x", ""])
def test_bad_packages_are_refused(tmp_path: Path, vagrantfile: Path, bad: str) -> None:
    with pytest.raises(InitError, match="local:PATH"):
        write_lab(tmp_path, packages=bad or "x:", vagrantfile=vagrantfile, check_addresses=False)


def test_copies_the_vagrantfile(tmp_path: Path, vagrantfile: Path) -> None:
    lab = tmp_path / "lab"
    first = write_lab(lab, vagrantfile=vagrantfile, check_addresses=False)
    assert first.vagrantfile_ok and "copied" in first.vagrantfile
    assert (lab / "Vagrantfile").read_bytes() == vagrantfile.read_bytes()
    again = write_lab(lab, force=True, vagrantfile=vagrantfile, check_addresses=False)
    assert "already" in again.vagrantfile


def test_keeps_a_changed_vagrantfile_unless_forced(tmp_path: Path, vagrantfile: Path) -> None:
    (tmp_path / "Vagrantfile").write_text("# my own\n")
    kept = write_lab(tmp_path, vagrantfile=vagrantfile, check_addresses=False)
    assert "kept" in kept.vagrantfile and "--force" in kept.vagrantfile
    assert (tmp_path / "Vagrantfile").read_text() == "# my own\n"
    write_lab(tmp_path, force=True, vagrantfile=vagrantfile, check_addresses=False)
    assert (tmp_path / "Vagrantfile").read_bytes() == vagrantfile.read_bytes()


def test_the_checkout_root_uses_its_own_vagrantfile(vagrantfile: Path) -> None:
    result = write_lab(vagrantfile.parent, vagrantfile=vagrantfile, check_addresses=False)
    assert result.vagrantfile_ok and "checkout" in result.vagrantfile
    assert vagrantfile.read_text().startswith("# generic")


def test_bundled_vagrantfile_is_the_checkouts() -> None:
    found = bundled_vagrantfile()
    if (REPO / "Vagrantfile").is_file():
        assert found == REPO / "Vagrantfile"
    else:
        assert found is None or found.name == "Vagrantfile"


# ------------------------------------------------------------------------------- the CLI


def test_cli_init_writes_and_says_what_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli(), ["init", "lab", "--provider", "lxc", "--platform", "rehearsal"])
    assert result.exit_code == 0, result.output
    spec = load_lab(tmp_path / "lab")
    assert (spec.provider, spec.platform, spec.packages.channel) == ("lxc", "rehearsal", "prebaked")
    assert str(tmp_path / "lab" / "lab.toml") in result.output
    assert "cd lab" in result.output
    assert result.output.index("mesoslab doctor") < result.output.index("mesoslab up")
    again = runner.invoke(cli(), ["init", "lab"])
    assert again.exit_code == 2
    assert "already exists" in again.output and "--force" in again.output
    forced = runner.invoke(cli(), ["init", "lab", "--force", "--preset", "3m-3a"])
    assert forced.exit_code == 0, forced.output
    assert len(load_lab(tmp_path / "lab").nodes) == 6


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--preset", "2m-1a"], ["--preset", "1m-2a", "3m-3a"]),
        (["--provider", "docker"], ["--provider", "virtualbox", "libvirt", "lxc"]),
        (["--platform", "centos8"], ["--platform", "centos7", "rehearsal"]),
        (["--packages", "nexus"], ["--packages", "mesosphere", "aventer", "local:PATH"]),
        (["--platform", "rehearsal", "--provider", "libvirt"], ["--provider lxc"]),
    ],
)
def test_cli_init_names_the_option_and_allowed_values(
    tmp_path: Path, args: list[str], words: list[str]
) -> None:
    result = CliRunner().invoke(cli(), ["init", str(tmp_path / "x"), *args])
    assert result.exit_code == 2
    for word in words:
        assert word in result.output, (word, result.output)
    assert not (tmp_path / "x" / "lab.toml").exists()
