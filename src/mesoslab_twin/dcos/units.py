"""The ``dcos-*`` systemd units and ``/opt/mesosphere/etc`` files a role gets (DC/OS 1.10
names; the daemons are the twin's). Pure functions of the cluster arguments: no I/O."""

from __future__ import annotations

import json
from typing import Any

from mesoslab_twin.dcos import OPT

TWIN = "PYTHONPATH=/opt/mesoslab-twin"
MASTER_UNITS = (
    "dcos-exhibitor",
    "dcos-mesos-master",
    "dcos-marathon",
    "dcos-adminrouter",
    "dcos-navstar",
)
AGENT_UNITS = {
    "slave": ("dcos-mesos-slave", "dcos-navstar"),
    "slave_public": ("dcos-mesos-slave-public", "dcos-navstar"),
}
OVERLAY_LIBRARY = f"{OPT}/active/mesos-modules/lib/mesos/libmesos_network_overlay.so"
CNI_DIR = f"{OPT}/etc/dcos/network/cni"
ISOLATION = (
    "cgroups/cpu,cgroups/mem,disk/du,network/cni,filesystem/linux,docker/runtime,docker/volume"
)


def unit(
    description: str,
    exec_start: str,
    *,
    env_files: tuple[str, ...] = (),
    after: str = "",
    requires: str = "",
    extra: str = "",
) -> str:
    lines = ["[Unit]", f"Description={description} (mesoslab twin: an emulation of DC/OS)"]
    if after:
        lines.append(f"After={after}")
    if requires:
        lines.append(f"Requires={requires}")
    lines += ["", "[Service]", f"Environment={TWIN}"]
    lines += [f"EnvironmentFile={f}" for f in env_files]
    lines += [f"ExecStart={exec_start}", "Restart=always", "RestartSec=5"]
    if extra:
        lines.append(extra)
    lines += ["", "[Install]", "WantedBy=dcos.target", ""]
    return "\n".join(lines)


def zk_url(args: dict[str, Any], path: str) -> str:
    return "zk://" + ",".join(f"{m}:2181" for m in args["master_list"]) + path


def units_for(role: str, ip: str) -> dict[str, str]:
    py = "/usr/bin/python3 -m mesoslab_twin"
    found: dict[str, str] = {}
    if role == "master":
        found["dcos-exhibitor"] = unit(
            "Exhibitor: ZooKeeper supervisor",
            f"{py} dcos-exhibitor",
            after="zookeeper.service",
            requires="zookeeper.service",
        )
        found["dcos-mesos-master"] = unit(
            "Mesos Master: distributed systems kernel",
            f"{py} master",
            env_files=(f"{OPT}/etc/mesos-master",),
            after="dcos-exhibitor.service",
        )
        found["dcos-marathon"] = unit(
            "Marathon: DC/OS Init System",
            f"{py} marathon",
            env_files=(f"{OPT}/etc/marathon",),
            after="dcos-mesos-master.service",
        )
        found["dcos-adminrouter"] = unit(
            "Admin Router Master: the DC/OS gateway", f"{py} dcos-adminrouter"
        )
    else:
        name = AGENT_UNITS[role][0]
        files = (
            f"{OPT}/etc/mesos-slave-common",
            f"{OPT}/etc/mesos-slave" + ("-public" if role == "slave_public" else ""),
        )
        found[name] = unit(
            "Mesos Agent: distributed systems kernel agent",
            f"{py} slave",
            env_files=files,
            after="docker.service",
            extra="KillMode=process",
        )
    found["dcos-navstar"] = unit(
        "Navstar: the overlay network's programmer", f"{py} dcos-navstar --ip={ip}"
    )
    return found


def target(units: list[str]) -> str:
    wants = " ".join(f"{u}.service" for u in units)
    return (
        f"[Unit]\nDescription=DC/OS (mesoslab twin: an emulation)\nWants={wants}\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )


def env(values: dict[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in values.items())


def files_for(
    role: str, args: dict[str, Any], ip: str, *, docker_registry: str = ""
) -> dict[str, str]:
    """Paths under /opt/mesosphere (relative) -> content. ``docker_registry``: where the
    agents' Mesos containerizer pulls images (empty: Mesos's default, Docker Hub)."""
    network = args.get("dcos_overlay_network")
    mtu = int(args.get("dcos_overlay_mtu", 1420))
    attempts = int(args.get("dcos_overlay_config_attempts", 4))
    out: dict[str, str] = {}

    def agent_config(bridges: bool) -> str:
        return (
            json.dumps(
                {
                    "cni_dir": CNI_DIR,
                    "network_config": {
                        "allocate_subnet": True,
                        "mesos_bridge": bridges,
                        "docker_bridge": bridges,
                        "overlay_mtu": mtu,
                    },
                    "max_configuration_attempts": attempts,
                },
                indent=2,
            )
            + "\n"
        )

    def modules(names_params: list[tuple[str, list[tuple[str, str]]]]) -> str:
        return (
            json.dumps(
                {
                    "libraries": [
                        {
                            "file": OVERLAY_LIBRARY,
                            "modules": [
                                {"name": n, "parameters": [{"key": k, "value": v} for k, v in ps]}
                                for n, ps in names_params
                            ],
                        }
                    ]
                },
                indent=2,
            )
            + "\n"
        )

    if role == "master":
        out["etc/overlay/config/master.json"] = (
            json.dumps(
                {"replicated_log_dir": "/var/lib/dcos/mesos/master/", "network": network}, indent=2
            )
            + "\n"
        )
        out["etc/overlay/config/agent-master.json"] = agent_config(False)
        out["etc/mesos-master-modules/overlay_master_modules.json"] = modules(
            [
                (
                    "com_mesosphere_mesos_OverlayMasterManager",
                    [("master_config", f"{OPT}/etc/overlay/config/master.json")],
                ),
                (
                    "com_mesosphere_mesos_OverlayAgentManager",
                    [("agent_config", f"{OPT}/etc/overlay/config/agent-master.json")],
                ),
            ]
        )
        out["etc/mesos-master"] = env(
            {
                "MESOS_ZK": zk_url(args, "/mesos"),
                "MESOS_QUORUM": str(args["master_quorum"]),
                "MESOS_WORK_DIR": "/var/lib/dcos/mesos/master",
                "MESOS_IP": ip,
                "MESOS_HOSTNAME": ip,
                "MESOS_PORT": "5050",
                "MESOS_CLUSTER": str(args["cluster_name"]),
                "MESOS_MODULES_DIR": f"{OPT}/etc/mesos-master-modules",
            }
        )
        out["etc/marathon"] = env(
            {
                "MARATHON_MASTER": zk_url(args, "/mesos"),
                "MARATHON_ZK": zk_url(args, "/marathon"),
                "MARATHON_HOSTNAME": ip,
                "MARATHON_MESOS_ROLE": "slave_public",
                "MARATHON_DEFAULT_ACCEPTED_RESOURCE_ROLES": "*",
                "MARATHON_DEFAULT_NETWORK_NAME": "dcos",
            }
        )
    else:
        out["etc/overlay/config/agent.json"] = agent_config(True)
        out["etc/mesos-slave-modules/overlay_slave_modules.json"] = modules(
            [
                (
                    "com_mesosphere_mesos_OverlayAgentManager",
                    [("agent_config", f"{OPT}/etc/overlay/config/agent.json")],
                ),
            ]
        )
        out["etc/mesos-slave-common"] = env(
            {
                "MESOS_MASTER": zk_url(args, "/mesos"),
                "MESOS_CONTAINERIZERS": "docker,mesos",
                "MESOS_IMAGE_PROVIDERS": "docker",
                "MESOS_EXECUTOR_REGISTRATION_TIMEOUT": "10mins",
                "MESOS_WORK_DIR": "/var/lib/mesos/slave",
                "MESOS_ISOLATION": ISOLATION,
                "MESOS_NETWORK_CNI_CONFIG_DIR": CNI_DIR,
                "MESOS_NETWORK_CNI_PLUGINS_DIR": f"{OPT}/active/cni/",
                "MESOS_MODULES_DIR": f"{OPT}/etc/mesos-slave-modules",
                "MESOS_IP": ip,
                "MESOS_HOSTNAME": ip,
                "MESOS_HOSTNAME_LOOKUP": "false",
                "MESOS_DOCKER_REMOVE_DELAY": str(args.get("docker_remove_delay", "1hrs")),
                "MESOS_DOCKER_STOP_TIMEOUT": "20secs",
                "MESOS_GC_DELAY": str(args.get("gc_delay", "2days")),
            }
            | ({"MESOS_DOCKER_REGISTRY": docker_registry} if docker_registry else {})
        )
        if role == "slave_public":
            out["etc/mesos-slave-public"] = env(
                {"MESOS_ATTRIBUTES": "public_ip:true", "MESOS_DEFAULT_ROLE": "slave_public"}
            )
        else:
            out["etc/mesos-slave"] = env({})
    return out
