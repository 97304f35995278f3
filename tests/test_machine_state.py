"""Machine states from the provider's own tool (lab/machine_state.py), Vagrant as fallback.

The tools' outputs below are what lxc-ls 5, VBoxManage 7 and virsh 9 print; the real LXC
path is exercised on real containers by the lab tests (tests/test_rehearsal_e2e.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mesoslab.lab.machine_state import NOT_CREATED, machine_ids, provider_states

NAMES = ["master1", "agent1", "agent2"]


def _ids(lab: Path, provider: str, ids: dict[str, str]) -> None:
    for name, ident in ids.items():
        folder = lab / ".vagrant" / "machines" / name / provider
        folder.mkdir(parents=True)
        (folder / "id").write_text(ident)


class Tool:
    """Answers commands from a table (argv[0] -> stdout, None = failed) and records them."""

    def __init__(self, answers: dict[str, str | None]) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str]) -> str | None:
        self.calls.append(argv)
        key = next((k for k in self.answers if k in " ".join(argv)), argv[0])
        return self.answers.get(key)


LXC_RUNNING = """lab_master1_1764625000000_12345
other-container
"""  # `lxc-ls --running -1`


def _lxc_path(tmp_path: Path, *containers: str) -> Path:
    """An lxcpath holding these containers' folders, as LXC keeps them."""
    path = tmp_path / "lxc"
    for name in containers:
        (path / name).mkdir(parents=True)
        (path / name / "config").write_text("lxc.uts.name = x\n")
    return path


def test_a_lab_never_brought_up_is_not_created_without_asking_anyone(tmp_path: Path) -> None:
    tool = Tool({})
    assert provider_states(tmp_path, "lxc", NAMES, run=tool) == dict.fromkeys(NAMES, NOT_CREATED)
    assert tool.calls == []


def test_lxc_states_come_from_one_lxc_ls_and_the_containers_folders(tmp_path: Path) -> None:
    master, agent = "lab_master1_1764625000000_12345", "lab_agent1_1764625000001_12346"
    _ids(tmp_path, "lxc", {"master1": master, "agent1": agent})
    tool = Tool({"lxc-ls": LXC_RUNNING})
    states = provider_states(
        tmp_path, "lxc", NAMES, run=tool, lxc_path=_lxc_path(tmp_path, master, agent)
    )
    assert states == {"master1": "running", "agent1": "stopped", "agent2": NOT_CREATED}
    assert tool.calls == [["lxc-ls", "--running", "-1"]]  # not --fancy: no address lookups


@pytest.mark.parametrize("answer", [None, ""])
def test_lxc_cannot_tell_so_vagrant_must(tmp_path: Path, answer: str | None) -> None:
    """lxc-ls failed, or a container Vagrant created is neither running nor in the lxcpath
    (another lxcpath, no permission): the caller asks Vagrant rather than calling it gone."""
    _ids(tmp_path, "lxc", {"master1": "lab_master1_1764625000000_12345"})
    states = provider_states(
        tmp_path, "lxc", NAMES, run=Tool({"lxc-ls": answer}), lxc_path=_lxc_path(tmp_path)
    )
    assert states is None


def test_virtualbox_states_from_showvminfo(tmp_path: Path) -> None:
    _ids(tmp_path, "virtualbox", {"master1": "uuid-1", "agent1": "uuid-2", "agent2": "uuid-3"})
    tool = Tool(
        {
            "uuid-1": 'name="lab_master1"\nVMState="running"\nVMStateChangeTime="2026-12-01"\n',
            "uuid-2": 'VMState="poweroff"\n',
            "uuid-3": 'VMState="saved"\n',
        }
    )
    assert provider_states(tmp_path, "virtualbox", NAMES, run=tool) == {
        "master1": "running",
        "agent1": "poweroff",
        "agent2": "saved",
    }


def test_libvirt_states_from_virsh_domstate(tmp_path: Path) -> None:
    _ids(tmp_path, "libvirt", {"master1": "uuid-1", "agent1": "uuid-2"})
    tool = Tool({"uuid-1": "running\n\n", "uuid-2": "shut off\n\n"})
    assert provider_states(tmp_path, "libvirt", NAMES, run=tool) == {
        "master1": "running",
        "agent1": "shutoff",
        "agent2": NOT_CREATED,
    }


def test_an_unknown_provider_leaves_it_to_vagrant(tmp_path: Path) -> None:
    _ids(tmp_path, "docker", {"master1": "abc"})
    assert provider_states(tmp_path, "docker", NAMES, run=Tool({})) is None


def test_ids_are_read_per_provider(tmp_path: Path) -> None:
    _ids(tmp_path, "lxc", {"agent1": "c1\n"})
    assert machine_ids(tmp_path, "lxc", NAMES) == {"master1": None, "agent1": "c1", "agent2": None}
    assert machine_ids(tmp_path, "virtualbox", NAMES) == dict.fromkeys(NAMES)


# /proc/net/unix as Linux 6.1 writes it: LXC 5's monitor listening on the command socket of
# two containers (Flags 00010000: listening), a client connected to one of them, and others.
def _socket(flags: str, state: str, inode: int, path: str) -> str:
    return f"0000000034a1b2c3: 00000002 00000000 {flags} 0001 {state} {inode} {path}"


UNIX_TABLE = "\n".join(
    [
        "Num       RefCount Protocol Flags    Type St Inode Path",
        "0000000075624d0c: 00000003 00000000 00000000 0001 03  1559",
        _socket("00010000", "01", 3573103, "@/var/lib/lxc/lab_master1_1764625000000_12345/command"),
        _socket("00010000", "01", 3573051, "@/var/lib/lxc/lab_agent1_1764625000001_12346/command"),
        _socket("00000000", "03", 3600000, "@/var/lib/lxc/lab_agent2_1764625000002_12347/command"),
        _socket("00010000", "01", 1234, "/run/systemd/private"),
    ]
)


def _unix_table(tmp_path: Path) -> Path:
    table = tmp_path / "unix"
    table.write_text(UNIX_TABLE)
    return table


def test_running_lxc_containers_are_read_from_their_monitors_sockets(tmp_path: Path) -> None:
    master, agent = "lab_master1_1764625000000_12345", "lab_agent1_1764625000001_12346"
    _ids(tmp_path, "lxc", {"master1": master, "agent1": agent})
    tool = Tool({})
    states = provider_states(
        tmp_path, "lxc", NAMES, run=tool, lxc_path=Path("/var/lib/lxc"),
        unix_sockets=_unix_table(tmp_path),
    )  # fmt: skip
    assert states == {"master1": "running", "agent1": "running", "agent2": NOT_CREATED}
    assert tool.calls == []  # no lxc-ls: every container's monitor listens


def test_a_container_without_a_listening_monitor_is_asked_of_lxc_ls(tmp_path: Path) -> None:
    """agent2's socket is only a connected client's end (not listening): lxc-ls says."""
    master, agent2 = "lab_master1_1764625000000_12345", "lab_agent2_1764625000002_12347"
    _ids(tmp_path, "lxc", {"master1": master, "agent2": agent2})
    tool = Tool({"lxc-ls": LXC_RUNNING})
    states = provider_states(
        tmp_path, "lxc", NAMES, run=tool, lxc_path=_lxc_path(tmp_path, master, agent2),
        unix_sockets=_unix_table(tmp_path),
    )  # fmt: skip
    assert states == {"master1": "running", "agent1": NOT_CREATED, "agent2": "stopped"}
    assert tool.calls == [["lxc-ls", "--running", "-1"]]


def test_no_socket_table_means_lxc_ls_answers(tmp_path: Path) -> None:
    master = "lab_master1_1764625000000_12345"
    _ids(tmp_path, "lxc", {"master1": master})
    tool = Tool({"lxc-ls": LXC_RUNNING})
    states = provider_states(
        tmp_path, "lxc", ["master1"], run=tool, lxc_path=Path("/var/lib/lxc"),
        unix_sockets=tmp_path / "missing",
    )  # fmt: skip
    assert states == {"master1": "running"} and len(tool.calls) == 1
