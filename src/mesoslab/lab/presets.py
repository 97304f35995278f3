"""Lab presets: the node layouts the lessons need (DESIGN §3)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PresetNode:
    name: str
    roles: tuple[str, ...]


PRESETS: dict[str, tuple[PresetNode, ...]] = {
    # one master running zookeeper+marathon+chronos, two agents; lesson 5 runs Mesos-DNS
    # on the master and marathon-lb on agent1 (its stats port 9090 is Prometheus's port,
    # and lesson 8 runs Prometheus on the master)
    "1m-2a": (
        PresetNode("master1", ("master", "zookeeper", "marathon", "chronos", "mesos-dns")),
        PresetNode("agent1", ("agent", "marathon-lb")),
        PresetNode("agent2", ("agent",)),
    ),
    # three masters each running zookeeper (marathon and chronos on the first), three agents
    "3m-3a": (
        PresetNode("master1", ("master", "zookeeper", "marathon", "chronos")),
        PresetNode("master2", ("master", "zookeeper")),
        PresetNode("master3", ("master", "zookeeper")),
        PresetNode("agent1", ("agent",)),
        PresetNode("agent2", ("agent",)),
        PresetNode("agent3", ("agent",)),
    ),
    # lesson 10 (DC/OS): the bootstrap node serves the installer's files; one master
    # (ZooKeeper under Exhibitor, Marathon, Admin Router), two private agents and one public
    # agent (DC/OS's slave_public role: the node that faces the outside)
    "dcos": (
        PresetNode("bootstrap", ("dcos-bootstrap",)),
        PresetNode("master1", ("master", "zookeeper", "marathon")),
        PresetNode("agent1", ("agent",)),
        PresetNode("agent2", ("agent",)),
        PresetNode("public1", ("agent",)),
    ),
}
