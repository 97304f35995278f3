"""Who holds a lab's addresses (another lab's machine, another container, any host that
answers), the one-line refusal, the free layout `init` picks, and `mesoslab labs`' view of
the host's machines. The provider tools are given as recorded output; the TCP probe is
real (loopback sockets, and TEST-NET-1 where nobody answers)."""

from __future__ import annotations

import json
import socket
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from mesoslab.errors import LabError
from mesoslab.lab.address_clash import (
    AddressClash,
    answers,
    find_clashes,
    free_layout,
    refuse_clashes,
)
from mesoslab.lab.doctor.assess import _addresses
from mesoslab.lab.doctor.facts import FAIL, OK
from mesoslab.lab.host_labs import (
    folder_digest,
    host_labs,
    host_machines,
    parse_lxc_ls,
    vagrant_index_folders,
)
from mesoslab.lab.init import render_lab_toml
from mesoslab.lab.machines import machine_prefix
from mesoslab.lab.spec import LabSpec, parse_lab

LXC_HEADER = "NAME                          STATE   IPV4\n"


def _spec(folder: Path, name: str = "mine") -> LabSpec:
    folder.mkdir(parents=True, exist_ok=True)
    return parse_lab(
        {"name": name, "provider": "lxc", "platform": "rehearsal", "preset": "1m-2a"},
        directory=folder,
    )


def _lxc(rows: list[str]) -> str:
    return LXC_HEADER + "".join(row + "\n" for row in rows)


IP_ADDR = (
    "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n"
    "5: lxcbr0    inet 10.0.3.1/24 brd 10.0.3.255 scope global lxcbr0\\       valid_lft forever\n"
)


def _runner(lxc_output: str, ip_addr: str = IP_ADDR) -> Callable[[list[str]], str | None]:
    def run(argv: list[str]) -> str | None:
        return {"lxc-ls": lxc_output, "ip": ip_addr}.get(argv[0])

    return run


def _index(home: Path, *entries: tuple[Path, str]) -> Path:
    folder = home / "data" / "machine-index"
    folder.mkdir(parents=True)
    machines = {
        f"id{i}": {"vagrantfile_path": str(path), "name": name, "provider": "lxc"}
        for i, (path, name) in enumerate(entries)
    }
    (folder / "index").write_text(json.dumps({"version": 1, "machines": machines}))
    return home


def test_parse_lxc_ls_reads_states_and_every_address() -> None:
    rows = parse_lxc_ls(
        _lxc(["web      RUNNING 10.0.3.11, 10.0.3.120", "old      STOPPED -", "frozen   FROZEN  -"])
    )
    assert rows == [
        ("web", "running", ("10.0.3.11", "10.0.3.120")),
        ("old", "stopped", ()),
        ("frozen", "frozen", ()),
    ]


def test_machines_get_their_folder_from_vagrants_index_even_when_it_is_gone(
    tmp_path: Path,
) -> None:
    kept = _spec(tmp_path / "kept", "kept")
    (kept.directory / "lab.toml").write_text("")
    gone = tmp_path / "gone"  # never created: its lab was deleted
    home = _index(tmp_path / "vagrant.d", (kept.directory, "master1"), (gone, "agent1"))
    output = _lxc(
        [
            f"{machine_prefix(kept)}master1 RUNNING 10.0.3.11",
            f"mesoslab-old-{folder_digest(gone)}-agent1 STOPPED -",
            "mesoslab-lost-abcdef-agent9 STOPPED -",
            "not-ours RUNNING 10.0.3.99",
        ]
    )
    machines = {m.node: m for m in host_machines(run=_runner(output), vagrant_home=home)}
    assert set(machines) == {"master1", "agent1", "agent9"}  # not-ours is not a lab machine
    assert machines["master1"].folder == kept.directory and not machines["master1"].orphaned
    assert machines["agent1"].folder == gone and machines["agent1"].orphaned
    assert machines["agent1"].where() == f"{gone} (gone)"
    assert machines["agent9"].folder is None and machines["agent9"].where() == "folder unknown"
    labs = host_labs(list(machines.values()))
    assert [(lab.lab, lab.orphaned) for lab in labs] == [
        ("kept", False),
        ("lost", True),
        ("old", True),
    ]
    assert labs[0].to_json()["machines"] == [
        {
            "node": "master1",
            "name": f"{machine_prefix(kept)}master1",
            "state": "running",
            "addresses": ["10.0.3.11"],
        }
    ]


def test_an_unreadable_index_gives_no_folders(tmp_path: Path) -> None:
    home = tmp_path / "vagrant.d"
    (home / "data" / "machine-index").mkdir(parents=True)
    (home / "data" / "machine-index" / "index").write_text("{not json")
    assert vagrant_index_folders(home) == {}


def test_each_holder_is_named_and_the_own_lab_is_no_clash(tmp_path: Path) -> None:
    mine = _spec(tmp_path / "mine")
    other = _spec(tmp_path / "other", "other")
    (other.directory / "lab.toml").write_text('name = "Other-Lab"\n')  # its own spelling
    output = _lxc(
        [
            f"{machine_prefix(mine)}master1 RUNNING 10.0.3.11",  # ours: no clash
            f"{machine_prefix(other)}master1 RUNNING 10.0.3.21",
            "somebodys-box RUNNING 10.0.3.22",
        ]
    )
    other_machines = host_machines(
        run=_runner(output), vagrant_home=_index(tmp_path / "vd", (other.directory, "master1"))
    )
    probed: list[str] = []

    def probe(address: str) -> bool:
        probed.append(address)
        return True  # everything not accounted for "answers"

    clashes = find_clashes(mine, machines=other_machines, run=_runner(output), probe=probe)
    assert [c.line() for c in clashes] == [
        f"10.0.3.21 (agent1) is held by master1 of lab 'Other-Lab' ({other.directory})",
        "10.0.3.22 (agent2) is held by the LXC container somebodys-box",
    ]
    assert clashes[0].folder == other.directory
    assert probed == []  # every address was accounted for without a probe


def test_a_host_that_answers_is_a_clash_and_silence_is_not(tmp_path: Path) -> None:
    mine = _spec(tmp_path / "mine")
    clashes = find_clashes(
        mine, machines=[], run=_runner(_lxc([])), probe=lambda a: a == "10.0.3.22"
    )
    assert [c.line() for c in clashes] == [
        "10.0.3.22 (agent2) is held by a host that already answers on 10.0.3.22"
    ]


def test_only_addresses_on_this_hosts_networks_are_probed(tmp_path: Path) -> None:
    # A VirtualBox lab on 192.168.56.0/24 before its host-only network exists: the provider
    # will make that network; a probe would go out through the default route.
    spec = parse_lab(
        {"name": "vb", "provider": "virtualbox", "platform": "centos7"},
        directory=tmp_path,
    )
    probed: list[str] = []
    clashes = find_clashes(
        spec, machines=[], run=_runner(_lxc([])), probe=lambda a: probed.append(a) or True
    )
    assert clashes == [] and probed == []


def test_the_hosts_own_address_is_a_clash(tmp_path: Path) -> None:
    spec = parse_lab(
        {
            "name": "x",
            "provider": "lxc",
            "platform": "rehearsal",
            "network": {"gateway": "10.0.3.2"},
            "node": [{"name": "n1", "address": "10.0.3.1"}],
        },
        directory=tmp_path,
    )
    clashes = find_clashes(spec, machines=[], run=_runner(_lxc([])), probe=lambda a: False)
    assert [c.line() for c in clashes] == [
        "10.0.3.1 (n1) is held by this host's own interface lxcbr0"
    ]


def test_the_refusal_is_one_line_with_both_ways_out(tmp_path: Path) -> None:
    other = tmp_path / "other"
    clashes = [
        AddressClash("10.0.3.11", "master1", "master1 of lab 'other' (/x)", other),
        AddressClash("10.0.3.21", "agent1", "agent1 of lab 'other' (/x)", other),
    ]
    with pytest.raises(LabError) as info:
        refuse_clashes(clashes)
    error = info.value
    assert error.message == (
        "10.0.3.11 (master1) is held by master1 of lab 'other' (/x) (and 1 more, below)"
    )
    assert error.hint.startswith(f"run `mesoslab destroy -C {other}` to remove the other lab")
    assert "[network] subnet" in error.hint and "[[node]]'s address" in error.hint
    assert error.details == ("10.0.3.21 (agent1) is held by agent1 of lab 'other' (/x)",)
    refuse_clashes([])  # nothing to refuse


def test_doctor_fails_the_addresses_with_the_same_way_out(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "mine")
    clash = AddressClash("10.0.3.11", "master1", "the LXC container web")
    finding = _addresses(spec, [clash])
    assert finding.status == FAIL
    assert finding.detail == "10.0.3.11 (master1) is held by the LXC container web"
    assert "`mesoslab destroy` there" in finding.fix
    assert _addresses(spec, []).status == OK


def test_the_free_layout_moves_every_node_by_the_same_step(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "mine")
    taken = {"10.0.3.11", "10.0.3.61"}  # the first shift (+40) is taken too
    clashes, moved = free_layout(spec, run=_runner(_lxc([])), probe=lambda a: a in taken)
    assert [c.address for c in clashes] == ["10.0.3.11"]
    assert moved == {"master1": "10.0.3.91", "agent1": "10.0.3.101", "agent2": "10.0.3.102"}
    assert free_layout(spec, run=_runner(_lxc([])), probe=lambda a: False) == ([], {})


def test_lab_toml_with_moved_addresses_says_why_and_parses_to_them() -> None:
    taken = [AddressClash("10.0.3.11", "master1", "the LXC container web")]
    text = render_lab_toml(
        name="x",
        provider="lxc",
        platform="rehearsal",
        addresses={"master1": "10.0.3.51", "agent1": "10.0.3.61", "agent2": "10.0.3.62"},
        taken=taken,
    )
    assert "#   10.0.3.11 (master1) is held by the LXC container web" in text
    spec = parse_lab(tomllib.loads(text))
    assert [(n.name, n.address) for n in spec.nodes] == [
        ("master1", "10.0.3.51"),
        ("agent1", "10.0.3.61"),
        ("agent2", "10.0.3.62"),
    ]
    assert [n.roles for n in spec.nodes] == [n.roles for n in parse_lab({"name": "x"}).nodes]


def test_the_probe_sees_a_listener_and_a_refusal_but_not_silence() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert answers("127.0.0.1", listener.getsockname()[1])
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, not listening: connections are refused
        assert answers("127.0.0.1", port)
