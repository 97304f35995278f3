"""What mesos_exporter 1.1.2 makes of a Mesos daemon's JSON: the real names, help texts,
types and labels (mesosphere/mesos_exporter @ ba95fe9b, ``master.go``, ``master_state.go``,
``slave.go``, ``slave_state.go``; file:line in ``docs/sources/lesson-8.md``).

The exporter reads ``/metrics/snapshot`` into a map of numbers and sets every gauge from
it; a key that is missing (or a snapshot that could not be fetched at all) counts as 0,
because Go's map lookup gives 0 and the exporter only logs a warning. So an exporter whose
Mesos is down still answers, with zeros and a growing ``mesos_collector_errors_total``.

Emulated here: the snapshot metrics a lesson or a Prometheus learner reads (resources,
election, uptime, agents, frameworks, offers, task states, registration events), the
master's per-agent metrics from ``/state`` and the agent's task-label series. Left out:
message, allocator, registrar-timing, containerizer, fetcher and gc families, the
per-container ``/monitor/statistics`` metrics, slave attributes, and the Go runtime's
``go_*``/``process_*`` families (the twin is no Go program).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mesoslab_twin.exporter import EXPORTER_VERSION
from mesoslab_twin.exporter.exposition import Family

Snapshot = Mapping[str, float]

# (metric name part, snapshot key part, help) of the four-type resource gauges:
# mesos_<master|slave>_<part>{type="percent|total|free|used"}
_RESOURCES = (
    ("cpus", "Current CPU resources in cluster."),
    ("cpus_revocable", "Current revocable CPU resources in cluster."),
    ("gpus", "Current GPU resources in cluster."),
    ("gpus_revocable", "Current revocable GPU resources in cluster."),
    ("mem", "Current memory resources in cluster."),
    ("mem_revocable", "Current revocable memory resources in cluster."),
    ("disk", "Current disk resources in cluster."),
    ("disk_revocable", "Current disk resources in cluster."),  # sic, master.go L147
)
# slave.go L109 spells this one differently
_SLAVE_HELP = {"gpus_revocable": "Current revocable GPUS resources in cluster."}


def _resources(subsystem: str, m: Snapshot) -> list[Family]:
    out = []
    for part, help_text in _RESOURCES:
        if subsystem == "slave":
            help_text = _SLAVE_HELP.get(part, help_text)
        total = m.get(f"{subsystem}/{part}_total", 0.0)
        used = m.get(f"{subsystem}/{part}_used", 0.0)
        family = Family(f"mesos_{subsystem}_{part}", help_text, "gauge")
        family.add(m.get(f"{subsystem}/{part}_percent", 0.0), type="percent")
        family.add(total, type="total")
        family.add(total - used, type="free")
        family.add(used, type="used")
        out.append(family)
    return out


def _one(name: str, help_text: str, kind: str, value: float) -> Family:
    return Family(name, help_text, kind).add(value)


def _by(name: str, help_text: str, kind: str, label: str, values: dict[str, float]) -> Family:
    family = Family(name, help_text, kind)
    for label_value, value in values.items():
        family.add(value, **{label: label_value})
    return family


def master_snapshot(m: Snapshot) -> list[Family]:
    """``newMasterCollector`` (master.go)."""

    def g(key: str) -> float:
        return m.get(key, 0.0)

    return [
        *_resources("master", m),
        _one(
            "mesos_master_elected",
            "1 if master is elected leader, 0 if not",
            "gauge",
            g("master/elected"),
        ),
        _one(
            "mesos_master_uptime_seconds",
            "Number of seconds the master process is running.",
            "gauge",
            g("master/uptime_secs"),
        ),
        _by(
            "mesos_master_slave_registration_events_total",
            "Total number of registration events on this master since it booted.",
            "counter",
            "event",
            {
                "register": g("master/slave_registrations"),
                "reregister": g("master/slave_reregistrations"),
            },
        ),
        _by(
            "mesos_master_recovery_slave_removal_events_total",
            "Total number of recovery removal events on this master since it booted.",
            "counter",
            "event",
            {"removal": g("master/recovery_slave_removals")},
        ),
        _by(
            "mesos_master_slave_removal_events_total",
            "Total number of removal events on this master since it booted.",
            "counter",
            "event",
            {
                "scheduled": g("master/slave_shutdowns_scheduled"),
                "canceled": g("master/slave_shutdowns_canceled"),
                "completed": g("master/slave_shutdowns_completed"),
                "died": g("master/slave_removals") - g("master/slave_shutdowns_completed"),
            },
        ),
        _by(
            "mesos_master_slave_unreachable_events_total",
            "Total number of slave unreachable events on this master since it booted.",
            "counter",
            "event",
            {
                "canceled": g("master/slave_unreachable_canceled"),
                "completed": g("master/slave_unreachable_completed"),
                "scheduled": g("master/slave_unreachable_scheduled"),
            },
        ),
        _by(
            "mesos_master_slaves_state",
            "Current number of slaves known to the master per connection and registration state.",
            "gauge",
            "state",
            {
                "connected_active": g("master/slaves_active"),
                "connected_inactive": g("master/slaves_inactive"),
                "disconnected_inactive": g("master/slaves_disconnected"),
                "unreachable": g("master/slaves_unreachable"),
            },
        ),
        _by(
            "mesos_master_frameworks_state",
            "Current number of frames known to the master per connection and registration state.",
            "gauge",
            "state",
            {
                "connected_active": g("master/frameworks_active"),
                "connected_inactive": g("master/frameworks_inactive"),
                "disconnected_inactive": g("master/frameworks_disconnected"),
            },
        ),
        _one(
            "mesos_master_offers_pending",
            "Current number of offers made by the master which aren't yet accepted or "
            "declined by frameworks.",
            "gauge",
            g("master/outstanding_offers"),
        ),
        _by(
            "mesos_master_task_states_exit_total",
            "Total number of tasks processed by exit state.",
            "counter",
            "state",
            {
                "dropped": g("master/tasks_dropped"),
                "errored": g("master/tasks_error"),
                "failed": g("master/tasks_failed"),
                "finished": g("master/tasks_finished"),
                "gone_by_operator": g("master/tasks_gone_by_operator"),
                "gone": g("master/tasks_gone"),
                "killed": g("master/tasks_killed"),
                "lost": g("master/tasks_lost"),
            },
        ),
        _by(
            "mesos_master_task_states_current",
            "Current number of tasks by state.",
            "gauge",
            "state",
            {
                "killing": g("master/tasks_killing"),
                "running": g("master/tasks_running"),
                "staging": g("master/tasks_staging"),
                "starting": g("master/tasks_starting"),
                "unreachable": g("master/tasks_unreachable"),
            },
        ),
        _one(
            "mesos_registrar_log_recovered",
            "Recovered status of the registrar log",
            "gauge",
            g("registrar/log/recovered"),
        ),
    ]


# master_state.go: (name, help, resource field, json key of the agent, scale)
_AGENT_GAUGES = (
    ("mesos_slave_cpus", "Total slave CPUs (fractional)", "cpus", "resources", 1.0),
    ("mesos_slave_cpus_used", "Used slave CPUs (fractional)", "cpus", "used_resources", 1.0),
    (
        "mesos_slave_cpus_unreserved",
        "Unreserved slave CPUs (fractional)",
        "cpus",
        "unreserved_resources",
        1.0,
    ),
    # Mesos reports MB; the exporter multiplies by 1024 only (so "bytes" are KiB), L79
    ("mesos_slave_mem_bytes", "Total slave memory in bytes", "mem", "resources", 1024.0),
    ("mesos_slave_mem_used_bytes", "Used slave memory in bytes", "mem", "used_resources", 1024.0),
    (
        "mesos_slave_mem_unreserved_bytes",
        "Unreserved slave memory in bytes",
        "mem",
        "unreserved_resources",
        1024.0,
    ),
    ("mesos_slave_disk_bytes", "Total slave disk space in bytes", "disk", "resources", 1024.0),
    (
        "mesos_slave_disk_used_bytes",
        "Used slave disk space in bytes",
        "disk",
        "used_resources",
        1024.0,
    ),
    (
        "mesos_slave_disk_unreserved_bytes",
        "Unreserved slave disk in bytes",
        "disk",
        "unreserved_resources",
        1024.0,
    ),
    ("mesos_slave_ports", "Total slave ports", "ports", "resources", 1.0),
    ("mesos_slave_ports_used", "Used slave ports", "ports", "used_resources", 1.0),
    (
        "mesos_slave_ports_unreserved",
        "Unreserved slave ports",
        "ports",
        "unreserved_resources",
        1.0,
    ),
)


def ports_size(value: Any) -> float:
    """How many ports a Mesos range text like ``[21000-24000, 30000-64000]`` holds
    (master_state.go ``ranges.UnmarshalJSON`` and ``size``); 0 for anything else."""
    if not isinstance(value, str):
        return 0.0
    text = value.strip().strip('[]"')
    total = 0
    for part in filter(None, (p.strip() for p in text.split(","))):
        low, _, high = part.partition("-")
        try:
            total += 1 + int(high) - int(low)
        except ValueError:
            return 0.0
    return float(total)


class MasterState:
    """``newMasterStateCollector``: one series per agent pid. They are GaugeVecs, so a
    series once set stays (with its last value) while the exporter runs, even after the
    agent left or when ``/state`` could not be fetched."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, float]] = {name: {} for name, *_ in _AGENT_GAUGES}

    def families(self, state: Mapping[str, Any] | None) -> list[Family]:
        agents = state.get("slaves") if state else None
        for agent in agents if isinstance(agents, list) else []:
            if not isinstance(agent, dict):
                continue
            pid = str(agent.get("pid", ""))
            for name, _help, field_name, key, scale in _AGENT_GAUGES:
                resources = agent.get(key)
                value: Any = resources.get(field_name) if isinstance(resources, dict) else None
                if field_name == "ports":
                    number = ports_size(value)
                else:
                    number = float(value) if isinstance(value, int | float) else 0.0
                self.seen[name][pid] = number * scale
        return [
            _by(name, help_text, "gauge", "slave", dict(self.seen[name]))
            for name, help_text, *_ in _AGENT_GAUGES
        ]


def slave_snapshot(m: Snapshot) -> list[Family]:
    """``newSlaveCollector`` (slave.go), the families the lessons use."""

    def g(key: str) -> float:
        return m.get(key, 0.0)

    return [
        *_resources("slave", m),
        _one(
            "mesos_slave_registered",
            "1 if slave is registered with master, 0 if not.",
            "gauge",
            g("slave/registered"),
        ),
        _one(
            "mesos_slave_uptime_seconds",
            "Number of seconds the slave process is running.",
            "gauge",
            g("slave/uptime_secs"),
        ),
        _one(
            "mesos_slave_recovery_errors",
            "Total number of recovery errors",
            "counter",
            g("slave/recovery_errors"),
        ),
        _one(
            "mesos_slave_recovery_time_secs",
            "Agent recovery time in seconds",
            "gauge",
            g("slave/recovery_time_secs"),
        ),
        _by(
            "mesos_slave_executor_state",
            "Current number of executors by state.",
            "gauge",
            "state",
            {
                "registering": g("slave/executors_registering"),
                "running": g("slave/executors_running"),
                "terminating": g("slave/executors_terminating"),
            },
        ),
        _one(
            "mesos_slave_frameworks_active",
            "Current number of active frameworks",
            "gauge",
            g("slave/frameworks_active"),
        ),
        _one(
            "mesos_slave_executors_terminated",
            "Total number of executor terminations.",
            "counter",
            g("slave/executors_terminated"),
        ),
        _one(
            "mesos_slave_executors_preempted",
            "Total number of executor preemptions.",
            "counter",
            g("slave/executors_preempted"),
        ),
        _by(
            "mesos_slave_task_states_exit_total",
            "Total number of tasks processed by exit state.",
            "counter",
            "state",
            {
                "errored": g("slave/tasks_error"),
                "failed": g("slave/tasks_failed"),
                "finished": g("slave/tasks_finished"),
                "gone": g("slave/tasks_gone"),
                "killed": g("slave/tasks_killed"),
                "lost": g("slave/tasks_lost"),
            },
        ),
        # a counter, not a gauge, in the real exporter (slave.go L321)
        _by(
            "mesos_slave_task_states_current",
            "Current number of tasks by state.",
            "counter",
            "state",
            {
                "killing": g("slave/tasks_killing"),
                "running": g("slave/tasks_running"),
                "staging": g("slave/tasks_staging"),
                "starting": g("slave/tasks_starting"),
            },
        ),
    ]


TASK_LABELS = ("source", "framework_id", "executor_id", "task_id", "task_name")


def normalise_label(name: str) -> str:
    """common.go ``normaliseLabel``: a leading non-letter and every other character outside
    ``[a-zA-Z0-9_]`` become ``_``."""
    out = []
    for i, char in enumerate(name):
        ok = char.isascii() and (char.isalpha() or char == "_" or (i > 0 and char.isdigit()))
        out.append(char if ok else "_")
    return "".join(out)


def slave_state(state: Mapping[str, Any] | None, task_labels: list[str]) -> list[Family]:
    """slave_state.go: ``mesos_slave_task_labels``, 1 per task of ``/slave(1)/state``, with
    the labels named by ``-exportedTaskLabels`` (empty when a task lacks one)."""
    extra = [normalise_label(label) for label in task_labels]
    family = Family(
        "mesos_slave_task_labels", "Labels assigned to tasks running on slaves", "counter"
    )
    frameworks = state.get("frameworks") if state else None
    for framework in frameworks if isinstance(frameworks, list) else []:
        for executor in _dicts(framework.get("executors")):
            for task in _dicts(executor.get("tasks")):
                labels = {
                    "source": str(executor.get("source", "")),
                    "framework_id": str(framework.get("id", "")),
                    "executor_id": str(executor.get("id", "")),
                    "task_id": str(task.get("id", "")),
                    "task_name": str(task.get("name", "")),
                }
                labels.update({name: "" for name in extra})
                for label in _dicts(task.get("labels")):
                    key = normalise_label(str(label.get("key", "")))
                    if key in extra:
                        labels[key] = str(label.get("value", ""))
                family.add(1.0, **labels)
    return [family]


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def always(errors: float, python_version: str) -> list[Family]:
    """main.go's error counter and ``version.NewCollector("mesos_exporter")``."""
    build = Family(
        "mesos_exporter_build_info",
        "A metric with a constant '1' value labeled by version, revision, branch, and "
        "goversion from which mesos_exporter was built.",
        "gauge",
    ).add(
        1.0,
        version=EXPORTER_VERSION,
        revision="mesoslab-twin",
        branch="",
        goversion=f"none (mesoslab twin, python {python_version})",
    )
    return [
        _one(
            "mesos_collector_errors_total",
            "Total number of internal mesos-collector errors.",
            "counter",
            errors,
        ),
        build,
    ]
