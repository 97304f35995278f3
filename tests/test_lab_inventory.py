from __future__ import annotations

from pathlib import Path

from mesoslab.lab.inventory import SshTarget, load_inventory
from mesoslab.lab.lab_inventory import inventory_path, lab_inventory, write_inventory
from mesoslab.lab.spec import parse_lab


def test_lab_inventory_roundtrips_through_the_contract_format(tmp_path: Path) -> None:
    spec = parse_lab(
        {"preset": "3m-3a", "provider": "lxc", "platform": "rehearsal"}, directory=tmp_path
    )
    ssh = {
        "master1": SshTarget(
            host="10.0.3.11", user="vagrant", port=22, key="/k/id", extra_keys=("/k/other",)
        )
    }
    inventory = lab_inventory(spec, ssh)
    path = write_inventory(inventory, inventory_path(spec))
    assert path == tmp_path / ".mesoslab" / "inventory.toml"
    loaded = load_inventory(path)
    assert [n.name for n in loaded.nodes] == [
        "master1",
        "master2",
        "master3",
        "agent1",
        "agent2",
        "agent3",
    ]
    assert loaded.node("master1").ssh == SshTarget("10.0.3.11", "vagrant", 22, "/k/id")
    assert loaded.node("agent3").ssh is None
    assert loaded.node("agent3").address == "10.0.3.23"
    assert [n.name for n in loaded.resolve("zookeeper")] == ["master1", "master2", "master3"]
    assert list(tmp_path.joinpath(".mesoslab").iterdir()) == [path]  # no temp file left
