from __future__ import annotations

from pathlib import Path

import pytest

from mesoslab.errors import InventoryError
from mesoslab.lab.inventory import DEFAULT_PORTS, load_inventory

DESIGN_EXAMPLE = """
[[node]]
name = "master1"
address = "192.168.56.11"
roles = ["master", "zookeeper", "marathon", "chronos"]
[node.ssh]
user = "vagrant"
port = 22
host = "192.168.56.11"
key = "~/.ssh/id_ed25519"

[[node]]
name = "agent1"
address = "192.168.56.21"
roles = ["agent"]

[ports]
mesos_master = 5050
mesos_agent = 5051
marathon = 8080
chronos = 4400
zookeeper = 2181
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inv.toml"
    path.write_text(text)
    return path


def test_design_example_parses(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, DESIGN_EXAMPLE))
    assert [n.name for n in inv.nodes] == ["master1", "agent1"]
    master = inv.node("master1")
    assert master is not None and master.ssh is not None
    assert master.ssh.key == "~/.ssh/id_ed25519" and master.ssh.user == "vagrant"
    assert inv.node("agent1").ssh is None  # type: ignore[union-attr]
    assert inv.ports == DEFAULT_PORTS
    assert [n.name for n in inv.resolve("agent")] == ["agent1"]
    assert [n.name for n in inv.resolve("master1")] == ["master1"]
    assert inv.find_host("master1.lab.example") is master
    assert inv.find_host("192.168.56.21") is inv.node("agent1")
    assert inv.find_host("elsewhere") is None


def test_ssh_host_defaults_to_address_and_ports_default(tmp_path: Path) -> None:
    inv = load_inventory(
        write(
            tmp_path,
            """
[[node]]
name = "m"
address = "10.0.0.5"
roles = ["master"]
[node.ssh]
user = "root"
[ports]
marathon = 18080
""",
        )
    )
    assert inv.nodes[0].ssh.host == "10.0.0.5"  # type: ignore[union-attr]
    assert inv.ports["marathon"] == 18080 and inv.ports["mesos_master"] == 5050


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[node]]\nname="a"\naddress="10.0.0.1"\nroles=["mastr"]', "unknown role 'mastr'"),
        (
            '[[node]]\nname="a"\naddress="10.0.0.1"\n[[node]]\nname="a"\naddress="10.0.0.2"',
            "duplicate node name 'a'",
        ),
        ('[[node]]\nname="a"\naddress="192.168.56.300"', "'address' must be an IP address"),
        ('[[node]]\nname="a"\naddress="10.0.0.1"\n[ports]\nhttp=80', "unknown port 'http'"),
        ('[[node]]\nname="a"\naddress="10.0.0.1"\n[ports]\nmarathon=99999', "must be a port"),
        ('[[node]]\nname="a"\naddress="10.0.0.1"\n[node.ssh]\nport="22"', "ssh.port must be"),
        ('[[node]]\nname="a"\naddress="10.0.0.1"\nrole=["agent"]', "unknown key(s) role"),
        ("[ports]\nmarathon=8080", "no [[node]] entries"),
        ("node = [", "not valid TOML"),
    ],
)
def test_bad_inventories_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InventoryError) as info:
        load_inventory(write(tmp_path, text))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="does not exist"):
        load_inventory(tmp_path / "nope.toml")
