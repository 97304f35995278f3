from __future__ import annotations

from pathlib import Path

import pytest

from mesoslab.errors import LabSpecError
from mesoslab.lab.spec import find_lab_dir, load_lab, parse_lab


def test_presets_place_masters_and_agents_in_the_subnet() -> None:
    spec = parse_lab({"preset": "3m-3a"})
    assert spec.provider == "virtualbox" and spec.platform == "centos7"
    assert spec.box == "centos/7" and spec.packages.channel == "mesosphere"
    assert [(n.name, n.address) for n in spec.nodes] == [
        ("master1", "192.168.56.11"),
        ("master2", "192.168.56.12"),
        ("master3", "192.168.56.13"),
        ("agent1", "192.168.56.21"),
        ("agent2", "192.168.56.22"),
        ("agent3", "192.168.56.23"),
    ]
    assert spec.gateway is None


def test_lxc_rehearsal_defaults() -> None:
    spec = parse_lab({"provider": "lxc", "platform": "rehearsal"})
    assert spec.preset == "1m-2a" and spec.subnet == "10.0.3.0/24" and spec.gateway == "10.0.3.1"
    assert spec.box == "mesoslab/rehearsal-debian12"
    assert [n.address for n in spec.nodes] == ["10.0.3.11", "10.0.3.21", "10.0.3.22"]


def test_packages_and_mirrors() -> None:
    spec = parse_lab(
        {
            "packages": "local:/srv/rpms",
            "mirrors": {"vault_url": "http://mirror.example/centos/7.9.2009/"},
        }
    )
    assert spec.packages.channel == "local" and spec.packages.local_path == "/srv/rpms"
    assert spec.packages.vault_url == "http://mirror.example/centos/7.9.2009"


def test_explicit_nodes() -> None:
    spec = parse_lab(
        {
            "node": [
                {"name": "m1", "roles": ["master", "zookeeper"], "memory": 2048},
                {"name": "a1", "roles": ["agent"], "address": "192.168.56.40"},
            ]
        }
    )
    assert spec.preset is None
    assert [(n.name, n.address, n.memory) for n in spec.nodes] == [
        ("m1", "192.168.56.11", 2048),
        ("a1", "192.168.56.40", 1024),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"provider": "vmware"},
            "provider = 'vmware' is not allowed; use one of virtualbox, libvirt",
        ),
        ({"platform": "centos8"}, "platform = 'centos8' is not allowed"),
        ({"preset": "2m"}, "preset = '2m' is not allowed; use one of 1m-2a, 3m-3a"),
        (
            {"packages": "yum"},
            "packages = 'yum' is not allowed; use mesosphere, aventer, local:PATH",
        ),
        ({"packages": "local"}, "needs a folder: local:PATH"),
        (
            {"network": {"subnet": "192.168.56/33"}},
            "network.subnet = '192.168.56/33' is not a network",
        ),
        ({"resources": {"memory": "1G"}}, "resources.memory must be a positive whole number"),
        ({"node": [{"name": "m", "roles": ["boss"]}]}, "roles must be a list of master"),
        (
            {"node": [{"name": "m", "address": "10.9.9.9"}]},
            "outside network.subnet 192.168.56.0/24",
        ),
        ({"mirrors": {"vault": "x"}}, "unknown key(s) in [mirrors]: vault"),
        ({"colour": "blue"}, "unknown key(s) colour"),
    ],
)
def test_errors_name_the_key_and_allowed_values(data: dict, message: str) -> None:
    with pytest.raises(LabSpecError) as info:
        parse_lab(data)
    assert message in str(info.value)


def test_load_and_find(tmp_path: Path) -> None:
    with pytest.raises(LabSpecError, match="mesoslab init"):
        load_lab(tmp_path)
    (tmp_path / "lab.toml").write_text('name = "class"\npreset = "1m-2a"\n')
    (tmp_path / "sub").mkdir()
    assert find_lab_dir(tmp_path / "sub") == tmp_path
    assert load_lab(tmp_path).name == "class"
    (tmp_path / "lab.toml").write_text("name = [")
    with pytest.raises(LabSpecError, match=r"lab\.toml"):
        load_lab(tmp_path)
