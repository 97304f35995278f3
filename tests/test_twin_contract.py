"""Every emulated endpoint answers with the shape of the real one (DESIGN §5).

A twin lab runs on loopback (a standalone master, an agent with the docker containerizer,
Marathon and Chronos), gets some work (a command app, a Docker app, a finished
mesos-execute task, a Chronos job), and each endpoint's JSON is held against the recorded
fixtures in ``../shared/fixtures``: every key the fixture has at a level must be there with
the same JSON type. A key that only some fixture items have is optional; a fixture ``null``
says nothing about the type. The keys the twin deliberately leaves out are listed below with
the reason. Endpoints with no recording are held to the documented shapes in
``tests/shapes`` (each with its source in ``tests/shapes/SOURCES.md``).

Every route the twin's daemons serve is listed in ``COVERAGE`` with the test that holds it;
``test_every_route_the_twin_serves_has_a_test`` fails on a route that has none (serve it
with a test, or stop serving it).
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mesoslab_twin.chronos.api import ChronosApi
from mesoslab_twin.common.config import ConfigError, Root, load_mesos_flags
from mesoslab_twin.common.httpd import Router
from mesoslab_twin.common.values import (
    Amounts,
    agent_resources,
    normalize_duration,
    parse_resources,
)
from mesoslab_twin.exporter.daemon import Exporter
from mesoslab_twin.marathon.api import MarathonApi
from mesoslab_twin.marathonlb.haproxy_config import STATS_ROUTES
from mesoslab_twin.mesos.agent import Agent
from mesoslab_twin.mesos.master import Master
from mesoslab_twin.mesosdns.config import Config
from mesoslab_twin.mesosdns.http import MesosDnsHttp
from mesoslab_twin.mesosdns.records import Records
from tests.support import docker_double
from tests.support.paths import FIXTURES
from tests.support.twin_install import TWIN_DIR, install_env, install_twin
from tests.support.twin_lab import Daemon, TwinLab, http, wait_until, write

pytestmark = pytest.mark.slow

ADDRESS_MASTER = "127.0.0.1"
ADDRESS_AGENT = "127.0.0.2"

MARATHON_API = "tests.test_twin_marathon_api:"  # the behaviour tests of Marathon's /v2
MESOS_DNS = "tests.test_twin_mesosdns:"  # Mesos-DNS's :8123 API, beside its DNS tests

# Keys of the fixtures the twin does not produce, and why (path -> reason).
OMITTED = {
    "$.git_sha": "not a git build of Mesos: the twin reports git_tag (optional per facts §1)",
    "$.external_log_file": "only with --external_log_file (DC/OS sets it)",
    "$.frameworks[].executors[].command": "command tasks have no ExecutorInfo in 1.x",
    "$.frameworks[].executors[].tasks[].statuses[].container_status.network_infos[].ip_address": (
        "NetworkInfo.ip_address was deprecated before 1.0; ip_addresses is kept"
    ),
    "$.tasks[].region": "Marathon 1.6+ only (SOURCES.md #10)",
    "$.tasks[].zone": "Marathon 1.6+ only (SOURCES.md #10)",
    "$.tasks[].role": "Marathon 1.6+ only (SOURCES.md #10)",
    "$.staged_tasks": "top-level task counters were removed in 1.x (facts §1)",
    "$.started_tasks": "top-level task counters were removed in 1.x (facts §1)",
    "$.finished_tasks": "top-level task counters were removed in 1.x (facts §1)",
    "$.killed_tasks": "top-level task counters were removed in 1.x (facts §1)",
    "$.failed_tasks": "top-level task counters were removed in 1.x (facts §1)",
    "$.lost_tasks": "top-level task counters were removed in 1.x (facts §1)",
}
# Keys present in every fixture item that real Mesos/Marathon also leave out in some cases.
OPTIONAL = {
    "$.frameworks[].tasks[].discovery": "only when the framework sets DiscoveryInfo (Marathon)",
    "$.frameworks[].completed_tasks[].discovery": "only when the framework sets DiscoveryInfo",
    "$.tasks[].discovery": "only when the framework sets DiscoveryInfo (Marathon)",
    "$.frameworks[].tasks[].statuses[].container_status": "the TASK_STAGING status has none",
    "$.frameworks[].completed_tasks[].statuses[].container_status": "TASK_STAGING has none",
    "$.tasks[].statuses[].container_status": "the TASK_STAGING status has none",
    "$.apps[].tasks[].healthCheckResults": "only for apps with health checks",
    "$.slaves[].reregistered_time": "only after a re-registration (facts §1: optional)",
    "$.frameworks[].reregistered_time": "only after a re-registration",
}
# Keys optional only in an item that ``when`` accepts, with the reason (path -> (when, why)).
# Marathon 1.x's TaskWrites (Formats.scala) adds ipAddresses from the launched task's Mesos
# status; a task still staging has none. A running task must carry it.
OPTIONAL_WHEN: dict[str, tuple[Callable[[dict[str, Any]], bool], str]] = {
    "$.apps[].tasks[].ipAddresses": (
        lambda task: task.get("state") == "TASK_STAGING",
        "Marathon fills it from the task's container status; a staging task has none",
    ),
}
# Values that are null when an option is unset, where the fixture happens to show one.
NULLABLE = {
    "$.marathon_config.access_control_allow_origin",
    "$.marathon_config.default_network_name",
    "$.marathon_config.env_vars_prefix",
    "$.marathon_config.mesos_role",
    "$.marathon_config.webui_url",
    "$.apps[].acceptedResourceRoles",
    "$.apps[].tasks[].startedAt",
}
# Objects whose keys are data (flag names, roles, attribute names), not schema.
MAPS = {"flags", "attributes", "reserved_resources", "labels", "env"}


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_problems(ours: Any, samples: list[Any], path: str = "$") -> list[str]:
    """Where ``ours`` does not have the shape of the fixture ``samples`` for this path."""
    kinds = {json_type(s) for s in samples} - {"null"}
    if not kinds:
        return []
    kind = json_type(ours)
    if kind == "null":
        if path in NULLABLE or any(s is None for s in samples):
            return []
        return [f"{path}: null, fixture has {'/'.join(sorted(kinds))}"]
    if kind not in kinds:
        return [f"{path}: {kind}, fixture has {'/'.join(sorted(kinds))}"]
    problems: list[str] = []
    if kind == "object":
        objects = [s for s in samples if isinstance(s, dict)]
        last = path.rsplit(".", 1)[-1].removesuffix("[]")
        is_map = last in MAPS
        every = set.intersection(*(set(o) for o in objects))
        if last.endswith("resources"):  # facts §1: only cpus/gpus/mem/disk are always there
            every &= {"cpus", "gpus", "mem", "disk"}
        for key in sorted(set().union(*(set(o) for o in objects))):
            child = f"{path}.{key}"
            if child in OMITTED:
                continue
            if key not in ours:
                excused = child in OPTIONAL or (
                    child in OPTIONAL_WHEN and OPTIONAL_WHEN[child][0](ours)
                )
                if not is_map and key in every and not excused:
                    problems.append(f"{child}: missing")
                continue
            problems += shape_problems(ours[key], [o[key] for o in objects if key in o], child)
    elif kind == "array":
        items = [item for s in samples if isinstance(s, list) for item in s]
        if items:
            for item in ours:
                problems += shape_problems(item, items, path + "[]")
    return sorted(set(problems))


def fixture(relative: str) -> Any:
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


SHAPES = Path(__file__).resolve().parent / "shapes"


def documented(name: str) -> Any:
    """A documented shape of tests/shapes (its source: tests/shapes/SOURCES.md)."""
    return json.loads((SHAPES / name).read_text(encoding="utf-8"))


# ------------------------------------------------------------------ every route has a test

# (daemon, method, route pattern) -> (the test that holds it, a text that test sends).
# The text must appear in the test's source and the pattern must match it.
CONSOLES = "tests.test_twin_consoles:"
MARATHON_REDIRECTS = "test_every_console_answer_is_marked_and_marathon_redirects_to_its_ui"
_MLB_SHAPES = (
    "tests.test_marathon_lb_loopback:test_the_stats_endpoints_have_the_shapes_of_marathon_lb"
)
DCOS = "tests.test_dcos_twin:"
_OVERLAY = DCOS + "test_the_overlay_master_gives_each_agent_a_slice_and_a_vtep"
_ROUTER = DCOS + "test_admin_router_serves_the_version_and_proxies_mesos"
_ANY = "GET,POST,PUT,DELETE,PATCH"
COVERAGE: dict[tuple[str, str, str], tuple[str, str]] = {
    ("overlay-master", "GET", r"/overlay-master/state"): (_OVERLAY, "/overlay-master/state"),
    ("overlay-master", "POST", r"/overlay-master/twin/register"): (
        _OVERLAY,
        "/overlay-master/twin/register",
    ),
    ("overlay-agent", "GET", r"/overlay-agent/overlay"): (_OVERLAY, "/overlay-agent/overlay"),
    ("adminrouter", "GET", r"/dcos-metadata/dcos-version\.json"): (
        _ROUTER,
        "/dcos-metadata/dcos-version.json",
    ),
    ("adminrouter", "GET", r"/system/health/v1/?"): (_ROUTER, "/system/health/v1"),
    **{
        ("adminrouter", method, r"/(mesos|marathon|exhibitor)(/.*)?"): (_ROUTER, "/mesos/")
        for method in _ANY.split(",")
    },
    **{
        ("adminrouter", method, r"/service/(marathon)(/.*)?"): (
            DCOS + "test_admin_router_passes_marathon_on",
            "/service/marathon/",
        )
        for method in _ANY.split(",")
    },
    ("adminrouter", "GET", r"/"): (DCOS + "test_admin_router_passes_marathon_on", '"/"'),
    ("exhibitor", "GET", r"/exhibitor/v1/cluster/status"): (
        DCOS + "test_exhibitor_reports_zookeeper_modes",
        "/exhibitor/v1/cluster/status",
    ),
    ("exhibitor", "GET", r"/"): (DCOS + "test_exhibitor_reports_zookeeper_modes", '"/"'),
    **{("marathon-lb", "GET", re.escape(path)): (_MLB_SHAPES, path) for path in STATS_ROUTES},
    ("master", "GET", r"(?:/master)?/health"): ("test_master_small_endpoints", "/health"),
    ("master", "GET", r"(?:/master)?/version"): ("test_master_small_endpoints", "/version"),
    ("master", "GET", r"(?:/master)?/flags"): ("test_master_small_endpoints", "/flags"),
    ("master", "GET", r"/metrics/snapshot"): ("test_master_small_endpoints", "/metrics/snapshot"),
    ("master", "GET", r"(?:/master)?/redirect"): (
        "test_master_small_endpoints",
        "/master/redirect",
    ),
    ("master", "GET", r"(?:/master)?/redirect/.*"): (
        "test_master_small_endpoints",
        "/master/redirect/state",
    ),
    ("master", "GET", r"(?:/master)?/(state|state\.json)"): (
        "test_master_other_endpoints_have_their_shapes",
        "/master/state",
    ),
    ("master", "GET", r"(?:/master)?/(state-summary)"): (
        "test_master_other_endpoints_have_their_shapes",
        "/master/state-summary",
    ),
    ("master", "GET", r"(?:/master)?/(slaves)"): (
        "test_master_other_endpoints_have_their_shapes",
        "/master/slaves",
    ),
    ("master", "GET", r"(?:/master)?/(frameworks)"): (
        "test_master_other_endpoints_have_their_shapes",
        "/master/frameworks",
    ),
    ("master", "GET", r"(?:/master)?/(tasks|tasks\.json)"): (
        "test_master_other_endpoints_have_their_shapes",
        "/master/tasks",
    ),
    ("master", "GET", r"(?:/master)?/(roles|roles\.json)"): (
        "test_master_roles_have_the_shape_of_mesos_1_4",
        "/master/roles.json",
    ),
    ("master", "POST", r"(?:/master)?/teardown"): (
        "test_master_teardown_refuses_like_mesos",
        "/master/teardown",
    ),
    ("master", "GET", r"/"): (f"{CONSOLES}test_the_mesos_console_in_a_browser", "/"),
    ("master", "POST", r"(?:/master)?/api/v1/scheduler"): (
        "tests.test_twin_v1_api:test_bad_calls_get_the_answers_of_mesos",
        "/api/v1/scheduler",
    ),
    ("master", "GET", r"(?:/master)?/api/v1/scheduler"): (
        "tests.test_twin_v1_api:test_get_is_not_allowed_and_the_private_protocol_is_gone",
        "/api/v1/scheduler",
    ),
    ("master", "POST", r"(?:/master)?/api/v1"): (
        "tests.test_twin_v1_api:test_operator_bad_calls_get_the_answers_of_mesos",
        "/api/v1",
    ),
    ("master", "GET", r"(?:/master)?/api/v1"): (
        "tests.test_twin_v1_api:test_operator_bad_calls_get_the_answers_of_mesos",
        "/api/v1",
    ),
    ("agent", "POST", r"(?:/slave\(1\))?/api/v1"): (
        "tests.test_twin_v1_api:test_master_operator_calls_have_the_v1_shapes",
        "/slave(1)/api/v1",
    ),
    ("agent", "GET", r"(?:/slave\(1\))?/api/v1"): (
        "tests.test_twin_v1_api:test_operator_bad_calls_get_the_answers_of_mesos",
        "/api/v1",
    ),
    ("agent", "GET", r"(?:/slave\(1\))?/health"): ("test_agent_small_endpoints", "/health"),
    ("agent", "GET", r"(?:/slave\(1\))?/version"): ("test_agent_small_endpoints", "/version"),
    ("agent", "GET", r"(?:/slave\(1\))?/flags"): (
        "test_agent_state_has_the_shape_of_the_agent_state",
        "/flags",
    ),
    ("agent", "GET", r"(?:/slave\(1\))?/(?:state|state\.json)"): (
        "test_agent_state_has_the_shape_of_the_agent_state",
        "/slave(1)/state",
    ),
    ("agent", "GET", r"/metrics/snapshot"): (
        "test_agent_state_has_the_shape_of_the_agent_state",
        "/metrics/snapshot",
    ),
    ("agent", "GET", r"/"): ("test_every_answer_says_it_is_an_emulation", "/"),
    **{
        ("agent", "GET", rf"/files/{name}(?:\.json)?"): (
            "tests.test_twin_behaviour:"
            "test_a_tasks_output_is_in_its_sandbox_behind_the_agents_files_endpoints",
            f"/files/{name}",
        )
        for name in ("browse", "read", "download", "debug")
    },
    ("marathon", "GET", r"/ping"): ("test_marathon_info_and_leader", "/ping"),
    ("marathon", "GET", r"/"): (f"{CONSOLES}{MARATHON_REDIRECTS}", '(lab.marathon, "/")'),
    ("marathon", "GET", r"/ui"): (f"{CONSOLES}{MARATHON_REDIRECTS}", "/ui"),
    ("marathon", "GET", r"/ui/(?:index\.html)?"): (
        f"{CONSOLES}{MARATHON_REDIRECTS}",
        "/ui/index.html",
    ),
    ("marathon", "GET", r"/v2/info"): ("test_marathon_info_and_leader", "/v2/info"),
    ("marathon", "GET", r"/v2/leader"): ("test_marathon_info_and_leader", "/v2/leader"),
    ("marathon", "GET", r"/v2/apps"): ("test_marathon_apps_have_the_1_4_shape", "/v2/apps"),
    ("marathon", "POST", r"/v2/apps"): (
        "test_marathon_deployments_queue_and_a_created_app_have_their_shapes",
        "/v2/apps",
    ),
    ("marathon", "POST", r"/v2/apps/(.+)/restart"): (
        "test_marathon_kills_a_task_scales_and_restarts_an_app",
        "/v2/apps/killer/restart",
    ),
    ("marathon", "GET", r"/v2/apps/(.+)/tasks"): (
        "test_marathon_groups_and_app_tasks_have_their_shapes",
        "/v2/apps/sleeper/tasks",
    ),
    ("marathon", "DELETE", r"/v2/apps/(.+)/tasks/([^/]+)"): (
        "test_marathon_kills_a_task_scales_and_restarts_an_app",
        "/v2/apps/killer/tasks/",
    ),
    ("marathon", "GET", r"/v2/apps/(.+)"): (
        "test_marathon_apps_have_the_1_4_shape",
        "/v2/apps/sleeper",
    ),
    ("marathon", "PUT", r"/v2/apps/(.+)"): (
        "test_marathon_scales_updates_and_deletes_apps",
        'http("PUT", url + "/scaler"',
    ),
    ("marathon", "PATCH", r"/v2/apps/(.+)"): (
        "test_marathon_kills_a_task_scales_and_restarts_an_app",
        'http("PATCH", url + "/killer"',
    ),
    ("marathon", "DELETE", r"/v2/apps/(.+)"): (
        "test_marathon_scales_updates_and_deletes_apps",
        'http("DELETE", url + "/scaler"',
    ),
    ("marathon", "GET", r"/v2/tasks"): ("test_marathon_tasks_have_their_shape", "/v2/tasks"),
    ("marathon", "GET", r"/v2/deployments"): (
        "test_marathon_deployments_queue_and_a_created_app_have_their_shapes",
        "/v2/deployments",
    ),
    ("marathon", "GET", r"/v2/groups(/.+)?"): (
        "test_marathon_groups_and_app_tasks_have_their_shapes",
        "/v2/groups",
    ),
    ("marathon", "POST", r"/v2/groups(/.+)?"): (
        f"{MARATHON_API}test_groups_hold_nested_apps",
        'call(mlab, "POST", "/v2/groups"',
    ),
    ("marathon", "PUT", r"/v2/groups(/.+)?"): (
        f"{MARATHON_API}test_groups_hold_nested_apps",
        'call(mlab, "PUT", "/v2/groups/shop"',
    ),
    ("marathon", "DELETE", r"/v2/groups(/.+)?"): (
        f"{MARATHON_API}test_groups_hold_nested_apps",
        'call(mlab, "DELETE", "/v2/groups/shop")',
    ),
    ("marathon", "PUT", r"/v2/apps"): (
        f"{MARATHON_API}test_several_apps_change_in_one_deployment",
        'call(mlab, "PUT", "/v2/apps", both)',
    ),
    ("marathon", "PATCH", r"/v2/apps"): (
        f"{MARATHON_API}test_several_apps_change_in_one_deployment",
        'call(mlab, "PATCH", "/v2/apps", [',
    ),
    ("marathon", "GET", r"/v2/apps/(.+)/versions"): (
        f"{MARATHON_API}test_every_change_is_a_version_that_can_be_read_back",
        "/v2/apps/versioned/versions",
    ),
    ("marathon", "GET", r"/v2/apps/(.+)/versions/([^/]+)"): (
        f"{MARATHON_API}test_every_change_is_a_version_that_can_be_read_back",
        "/v2/apps/versioned/versions/2001-01-01T00:00:00.000Z",
    ),
    ("marathon", "DELETE", r"/v2/apps/(.+)/tasks"): (
        f"{MARATHON_API}test_tasks_are_killed_replaced_or_scaled_away",
        "/v2/apps/killed/tasks",
    ),
    ("marathon", "POST", r"/v2/tasks/delete"): (
        f"{MARATHON_API}test_tasks_are_killed_replaced_or_scaled_away",
        "/v2/tasks/delete",
    ),
    ("marathon", "DELETE", r"/v2/deployments/([^/]+)"): (
        f"{MARATHON_API}test_deleting_a_deployment_rolls_it_back",
        "/v2/deployments/",
    ),
    ("marathon", "DELETE", r"/v2/queue/(.+)/delay"): (
        f"{MARATHON_API}test_a_deploying_app_is_locked_and_force_overrides",
        "/v2/queue/stuck/delay",
    ),
    ("marathon", "GET", r"/v2/events"): (
        f"{MARATHON_API}test_the_event_stream_tells_what_happens",
        "read_events(mlab.url)",
    ),
    ("marathon", "GET", r"/v2/eventSubscriptions"): (
        f"{MARATHON_API}test_event_subscribers_get_every_event_posted",
        'call(mlab, "GET", "/v2/eventSubscriptions")',
    ),
    ("marathon", "POST", r"/v2/eventSubscriptions"): (
        f"{MARATHON_API}test_event_subscribers_get_every_event_posted",
        'call(mlab, "POST", f"/v2/eventSubscriptions',
    ),
    ("marathon", "DELETE", r"/v2/eventSubscriptions"): (
        f"{MARATHON_API}test_event_subscribers_get_every_event_posted",
        'call(mlab, "DELETE", f"/v2/eventSubscriptions',
    ),
    ("marathon", "GET", r"/v2/queue"): (
        "test_marathon_deployments_queue_and_a_created_app_have_their_shapes",
        "/v2/queue",
    ),
    ("chronos", "GET", r"/ping"): ("test_chronos_jobs_have_the_2x_shape", "/ping"),
    ("chronos", "GET", r"/leader"): ("test_chronos_jobs_have_the_2x_shape", "/leader"),
    ("chronos", "GET", r"/"): ("test_every_answer_says_it_is_an_emulation", "/"),
    ("chronos", "GET", r"/scheduler/jobs"): (
        "test_chronos_jobs_have_the_2x_shape",
        "/scheduler/jobs",
    ),
    ("chronos", "GET", r"/scheduler/jobs/search"): (
        "test_chronos_search_kill_and_delete",
        "/scheduler/jobs/search",
    ),
    ("chronos", "POST", r"/scheduler/iso8601"): ("_give_work", "/scheduler/iso8601"),
    ("chronos", "PUT", r"/scheduler/iso8601"): (
        "test_chronos_search_kill_and_delete",
        "/scheduler/iso8601",
    ),
    ("chronos", "POST", r"/scheduler/dependency"): (
        "test_chronos_search_kill_and_delete",
        "/scheduler/dependency",
    ),
    ("chronos", "PUT", r"/scheduler/dependency"): (
        "test_chronos_search_kill_and_delete",
        "/scheduler/dependency",
    ),
    ("chronos", "GET", r"/scheduler/job/stat/([^/]+)"): (
        "tests.test_twin_chronos:test_stats_search_and_manual_arguments",
        "/scheduler/job/stat/Nightly-Report",
    ),
    ("chronos", "GET", r"/scheduler/graph/dot"): (
        "tests.test_twin_chronos:test_dependent_jobs_run_after_all_their_parents",
        "/scheduler/graph/dot",
    ),
    ("chronos", "PUT", r"/scheduler/job/([^/]+)"): (
        "test_chronos_search_kill_and_delete",
        "/scheduler/job/",
    ),
    ("chronos", "DELETE", r"/scheduler/job/([^/]+)"): (
        "test_chronos_search_kill_and_delete",
        "/scheduler/job/",
    ),
    ("chronos", "DELETE", r"/scheduler/task/kill/([^/]+)"): (
        "test_chronos_search_kill_and_delete",
        "/scheduler/task/kill/",
    ),
    ("chronos", "GET", r"/scheduler/graph/csv"): (
        "test_chronos_search_kill_and_delete",
        "/scheduler/graph/csv",
    ),
    ("mesos-dns", "GET", r"/v1/version"): (
        f"{MESOS_DNS}test_http_version_and_config",
        "/v1/version",
    ),
    ("mesos-dns", "GET", r"/v1/config"): (f"{MESOS_DNS}test_http_version_and_config", "/v1/config"),
    ("mesos-dns", "GET", r"/v1/hosts/([^/]+)"): (
        f"{MESOS_DNS}test_http_hosts_and_services",
        "/v1/hosts/nope.mesos",
    ),
    ("mesos-dns", "GET", r"/v1/hosts/([^/]+)/ports"): (
        f"{MESOS_DNS}test_http_hosts_and_services",
        "/v1/hosts/web.marathon.mesos/ports",
    ),
    ("mesos-dns", "GET", r"/v1/services/([^/]+)"): (
        f"{MESOS_DNS}test_http_hosts_and_services",
        "/v1/services/_web._tcp.marathon.mesos",
    ),
    ("mesos-dns", "GET", r"/v1/enumerate"): (
        f"{MESOS_DNS}test_http_enumerate_and_axfr",
        "/v1/enumerate",
    ),
    ("mesos-dns", "GET", r"/v1/axfr"): (f"{MESOS_DNS}test_http_enumerate_and_axfr", "/v1/axfr"),
    ("mesos_exporter", "GET", r"/metrics"): (
        "tests.test_twin_exporter:test_master_exporter_matches_the_master",
        "/metrics",
    ),
    ("mesos_exporter", "GET", r"/.*"): (
        "tests.test_twin_exporter:test_exporter_answers_with_zeros_when_its_mesos_is_down",
        "/anything",
    ),
}
# The twin's own protocol between its daemons (no real endpoint to hold them to): every test
# that starts an agent or a framework goes through them, and every test that elects a master
# asks the other masters' log replicas (test_twin_truth's replicated-log tests most of all).
INTERNAL = {
    ("master", "POST", r"/twin/agent/(register|heartbeat)"),
    ("master", "GET", r"/twin/log/replica"),
    ("agent", "POST", r"/twin/agent/wake"),
}


def _routes(router: Router) -> set[tuple[str, str]]:
    return {(method, pattern.pattern) for method, pattern, _ in router._routes}


def _dcos_tables() -> dict[str, Router]:
    """The DC/OS parts (lesson 10): the overlay modules' routes, which the master and agent
    add when their --modules_dir names them, Admin Router and Exhibitor."""
    from mesoslab_twin.dcos import adminrouter, exhibitor
    from mesoslab_twin.dcos.overlay_agent import OverlayAgent
    from mesoslab_twin.dcos.overlay_master import OverlayMaster

    master, agent = Router(libprocess=True), Router(libprocess=True)
    OverlayMaster.add_routes(object.__new__(OverlayMaster), master, lambda r: None)
    OverlayAgent.add_routes(object.__new__(OverlayAgent), agent)
    return {
        "overlay-master": master,
        "overlay-agent": agent,
        "adminrouter": adminrouter.AdminRouter.routes(object.__new__(adminrouter.AdminRouter)),
        "exhibitor": exhibitor.routes([]),
    }


def served_routes() -> set[tuple[str, str, str]]:
    """Every (daemon, method, route pattern) the twin's daemons answer, read from their
    route tables (the catch-all ``/v2/.*`` of Marathon is its ``v2_routes``)."""
    tables = {
        "master": Master.routes(object.__new__(Master)),
        "agent": Agent.routes(object.__new__(Agent)),
        "chronos": ChronosApi(None).routes(),  # type: ignore[arg-type]
        "marathon": MarathonApi(None).routes(),  # type: ignore[arg-type]
        "mesos-dns": MesosDnsHttp("v", Config(), Records).routes(),
        "mesos_exporter": Exporter.routes(object.__new__(Exporter)),
        **_dcos_tables(),
    }
    served = {(daemon, m, p) for daemon, table in tables.items() for m, p in _routes(table)}
    catch_all = {r for r in served if r[0] == "marathon" and r[2] == r"/v2/.*"}
    assert catch_all, "Marathon's /v2 calls go through one route to its v2_routes"
    served -= catch_all
    v2 = MarathonApi(None).v2_routes()  # type: ignore[arg-type]
    served |= {("marathon", m, p) for m, p in _routes(v2)}
    # marathon-lb's :9090 is served by the real HAProxy from the twin's generated
    # `listen stats` section (its Lua services are the twin's)
    served |= {("marathon-lb", "GET", re.escape(path)) for path in STATS_ROUTES}
    return served


def _test_source(reference: str) -> str:
    module_name, _, name = reference.rpartition(":")
    module = sys.modules[__name__] if not module_name else __import__(module_name, fromlist=["x"])
    function = getattr(module, name, None)
    assert function is not None, f"{reference} does not exist"
    return inspect.getsource(function)


def test_every_route_the_twin_serves_has_a_test() -> None:
    served = served_routes()
    untested = sorted(served - set(COVERAGE) - INTERNAL)
    assert not untested, (
        f"the twin serves {untested} and no test holds them: add a contract or behaviour "
        "test to COVERAGE, or stop serving them"
    )
    gone = sorted(set(COVERAGE) - served)
    assert not gone, f"COVERAGE lists routes the twin no longer serves: {gone}"
    assert all(pattern.startswith("/twin/") for _, _, pattern in INTERNAL)
    for (daemon, _, pattern), (reference, sent) in COVERAGE.items():
        source = _test_source(reference)
        assert sent in source, f"{reference} does not send {sent!r} ({daemon} {pattern})"
        if sent.startswith("/"):  # a path (a prefix ending in / stands for any last part)
            path = sent + "x" if sent.endswith("/") and sent != "/" else sent
            assert re.fullmatch(pattern, path), f"{sent!r} is no {daemon} {pattern!r} path"


def test_the_route_check_reads_every_daemon() -> None:
    served = served_routes()
    assert ("marathon", "GET", r"/v2/queue") in served
    assert ("master", "GET", r"(?:/master)?/(roles|roles\.json)") in served
    assert not any(pattern == r"/v2/.*" for _, _, pattern in served)


# ------------------------------------------------------------------ the lab


@dataclass
class Lab:
    lab: TwinLab
    master: Daemon
    agent: Daemon
    marathon: Daemon
    chronos: Daemon


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("twin-contract")
    twins = TwinLab(base, [ADDRESS_MASTER, ADDRESS_AGENT])
    master_url = f"{ADDRESS_MASTER}:{twins.ports['mesos_master']}"
    try:
        master = twins.master("master1", ADDRESS_MASTER, extra={"cluster": "twin-contract"})
        # no Docker Engine on this host: the agent's --docker is a test double of the CLI
        # (real Docker runs the Docker tasks in tests/test_rehearsal_e2e.py)
        docker = docker_double.install(base / "docker-bin")
        agent = twins.agent(
            "agent1",
            ADDRESS_AGENT,
            master=master_url,
            extra={
                "containerizers": "docker,mesos",
                "docker": str(docker),
                "attributes": "rack:abc;level:2;r:[1-5]",
            },
        )
        marathon = twins.marathon("master1", ADDRESS_MASTER, master=master_url)
        chronos = twins.chronos("master1", ADDRESS_MASTER, master=master_url)
        for daemon in (master, agent, marathon, chronos):
            daemon.start()
        for daemon in (master, agent):
            daemon.wait_http()
        marathon.wait_http("/ping")
        chronos.wait_http("/ping")
        found = Lab(twins, master, agent, marathon, chronos)
        _give_work(found, master_url)
        yield found
    finally:
        twins.stop_all()


def _give_work(lab: Lab, master_url: str) -> None:
    wait_until(
        "marathon and chronos registered",
        lambda: (
            len(lab.master.get("/master/frameworks").json()["frameworks"]) == 2
            and lab.master.get("/master/slaves").json()["slaves"]
        ),
    )
    sleeper = {"id": "/sleeper", "cmd": "sleep 600", "cpus": 0.1, "mem": 16, "instances": 2}
    web = {
        "id": "/web",
        "cpus": 0.1,
        "mem": 32,
        "container": {
            "type": "DOCKER",
            "docker": {
                "image": "nginx",
                "network": "BRIDGE",
                "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}],
            },
        },
        "healthChecks": [{"path": "/", "intervalSeconds": 1, "gracePeriodSeconds": 30}],
    }
    for app in (sleeper, web):
        assert http("POST", lab.marathon.url + "/v2/apps", app).status == 201
    job = {"name": "nightly", "command": "true", "schedule": "R1//PT1H", "owner": "ops@lab"}
    assert http("POST", lab.chronos.url + "/scheduler/iso8601", job).status == 204
    run = lab.lab.tool("mesos-execute", f"--master={master_url}", "--name=probe", "--command=true")
    assert run.returncode == 0, run.stdout + run.stderr

    def settled() -> bool:
        apps = lab.marathon.get("/v2/apps").json()["apps"]
        healthy = all(a["tasksRunning"] == a["instances"] and not a["deployments"] for a in apps)
        jobs = lab.chronos.get("/scheduler/jobs").json()
        return healthy and jobs[0]["successCount"] == 1

    wait_until("apps deployed and the job run", settled, 20)


# ------------------------------------------------------------------ the package itself


def test_twin_imports_only_stdlib_kazoo_and_itself() -> None:
    allowed = set(sys.stdlib_module_names) | {"kazoo", "mesoslab_twin"}
    for path in sorted(TWIN_DIR.rglob("*.py")):
        where = path.relative_to(TWIN_DIR)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top != "mesoslab", (
                    f"{where} imports {name}: the twin must stand alone on the nodes"
                )
                assert top in allowed, f"{where} imports {name}: not stdlib or kazoo"


def test_install_script_lays_the_twin_out_like_the_packages(tmp_path: Path) -> None:
    prefix = tmp_path / "opt"
    dest = tmp_path / "node"
    env = install_env(dest)
    for _ in range(2):  # idempotent
        install_twin(prefix, dest)
    assert (dest / "etc/mesos/zk").read_text() == "zk://localhost:2181/mesos\n"
    assert (dest / "etc/mesos-master/quorum").read_text() == "1\n"
    assert (dest / "etc/chronos/conf/http_port").read_text() == "4400\n"
    assert "ZK=`cat /etc/mesos/zk`" in (dest / "etc/default/mesos-master").read_text()
    units = dest / "usr/lib/systemd/system"
    slave = (units / "mesos-slave.service").read_text()
    assert "ExecStart=/usr/bin/mesos-init-wrapper slave" in slave
    assert "KillMode=process" in slave and "RestartSec=20" in slave
    assert f"PYTHONPATH={prefix}" in (units / "mesos-master.service").read_text()
    for unit in ("marathon", "chronos"):
        assert (units / f"{unit}.service").is_file()
    resolved = subprocess.run(
        [str(dest / "usr/bin/mesos-resolve"), "10.0.0.1:5050"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert resolved.stdout.strip() == "10.0.0.1:5050", resolved.stderr
    (dest / "etc/mesos/zk").write_text("zk://master1:2181/mesos\n")  # the learner's change
    install_twin(prefix, dest)
    assert (dest / "etc/mesos/zk").read_text() == "zk://master1:2181/mesos\n"
    if shutil.which("shellcheck"):
        installers = sorted(str(p) for p in TWIN_DIR.glob("install*.sh"))
        checked = subprocess.run(["shellcheck", "-x", *installers], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout


def test_configuration_is_read_like_mesos_init_wrapper(tmp_path: Path) -> None:
    root = Root(tmp_path)
    write(tmp_path, "/etc/mesos/zk", "zk://m1:2181,m2:2181/mesos\n")
    write(tmp_path, "/etc/default/mesos", 'LOGS=/var/log/mesos\nULIMIT="-n 8192"\n')
    write(tmp_path, "/etc/default/mesos-slave", "MASTER=`cat /etc/mesos/zk`\n")
    write(tmp_path, "/etc/mesos-slave/containerizers", "docker,mesos\n")
    write(tmp_path, "/etc/mesos-slave/executor_registration_timeout", "300secs\n")
    write(tmp_path, "/etc/mesos-slave/?no-switch_user", "")
    write(tmp_path, "/etc/mesos-slave/?strict", "")
    write(tmp_path, "/etc/mesos-slave/attributes/rack", "r1\n")
    write(tmp_path, "/etc/mesos-slave/attributes/zone", "west\n")
    write(tmp_path, "/etc/mesos-slave/resources/ports", "[21000-24000,30000-64000]\n")
    write(tmp_path, "/etc/mesos-slave/resources/cpus", "2\n")
    config = load_mesos_flags("slave", root, {"MESOS_HOSTNAME": "agent7"}, [])
    flags = config.flags
    assert flags["master"] == "zk://m1:2181,m2:2181/mesos"
    assert flags["log_dir"] == "/var/log/mesos"
    assert flags["containerizers"] == "docker,mesos"
    assert flags["executor_registration_timeout"] == "5mins"
    assert flags["switch_user"] == "false" and flags["strict"] == "true"
    assert flags["attributes"] == "rack:r1;zone:west"
    assert flags["resources"] == "cpus:2;ports:[21000-24000,30000-64000]"
    assert flags["hostname"] == "agent7"  # MESOS_* environment variables count too
    assert "ULIMIT" not in flags and "ulimit" not in flags
    write(tmp_path, "/etc/default/mesos-master", "PORT=5050\nZK=$(cat /etc/mesos/zk)\n")
    write(tmp_path, "/etc/mesos-master/port", "5050\n")
    with pytest.raises(ConfigError, match="Duplicate flag 'port' on command line"):
        load_mesos_flags("master", root, {}, [])
    (tmp_path / "etc/mesos-master/port").unlink()
    write(tmp_path, "/data/resources.json", "[]\n")
    master = load_mesos_flags("master", root, {}, ["--weights=file:///data/resources.json"])
    assert master.flags["zk"] == "zk://m1:2181,m2:2181/mesos" and master.flags["port"] == "5050"
    assert master.flags["weights"] == "[]\n"  # file:// values are the file's content
    resources = agent_resources(flags["resources"], str(tmp_path))
    assert Amounts.of(resources).to_json()["ports"] == "[21000-24000, 30000-64000]"
    assert Amounts.of(agent_resources(None, str(tmp_path))).to_json()["ports"] == "[31000-32000]"
    assert [(r.name, r.role) for r in parse_resources("cpus(web):2;bugs:{a,b}")] == [
        ("cpus", "web"),
        ("bugs", "*"),
    ]


def test_durations_are_normalised_like_mesos() -> None:
    assert normalize_duration("300secs") == "5mins"
    assert normalize_duration("90secs") == "90secs"
    assert normalize_duration("10mins") == "10mins"
    assert normalize_duration("60secs") == "1mins"
    assert normalize_duration("1.5mins") == "90secs"
    assert normalize_duration("0secs") == "0ns"
    with pytest.raises(ValueError, match="Unknown duration unit 'min'"):
        normalize_duration("5min")


def test_shape_helper_finds_missing_keys_and_wrong_types() -> None:
    reference = [{"a": 1, "b": "x", "c": [{"d": True}], "opt": 1}, {"a": 2, "b": "y", "c": []}]
    assert shape_problems({"a": 3, "b": "z", "c": [{"d": False}]}, reference) == []
    assert shape_problems({"a": "3", "c": [{"d": 1}]}, reference) == [
        "$.a: string, fixture has number",
        "$.b: missing",
        "$.c[].d: number, fixture has bool",
    ]


def test_ip_addresses_may_be_missing_only_from_a_staging_task() -> None:
    reference = [{"apps": [{"tasks": [{"state": "TASK_RUNNING", "ipAddresses": []}]}]}]
    running = {"apps": [{"tasks": [{"state": "TASK_RUNNING"}]}]}
    staging = {"apps": [{"tasks": [{"state": "TASK_STAGING"}]}]}
    assert shape_problems(running, reference) == ["$.apps[].tasks[].ipAddresses: missing"]
    assert shape_problems(staging, reference) == []


# ------------------------------------------------------------------ Mesos master


def test_every_answer_says_it_is_an_emulation(lab: Lab) -> None:
    for daemon, path in (
        (lab.master, "/master/state"),
        (lab.master, "/health"),
        (lab.master, "/master/redirect"),
        (lab.agent, "/state"),
        (lab.marathon, "/v2/apps"),
        (lab.marathon, "/ping"),
        (lab.chronos, "/scheduler/jobs"),
        (lab.master, "/no/such/endpoint"),
    ):
        answer = daemon.get(path)
        assert answer.headers.get("X-Mesoslab-Twin") == "emulation", path
        assert answer.headers.get("Server") == "mesoslab-twin", path
    # each daemon's page says in words that it is the twin, not the real thing: the
    # consoles under their banner (tests/test_twin_consoles.py), the others in a sentence
    consoles = "mesoslab rehearsal lab \u2014 an emulation of".encode()
    for daemon, path, words in (
        (lab.master, "/", consoles),
        (lab.agent, "/", b"This is the mesoslab twin"),
        (lab.marathon, "/ui/", consoles),
        (lab.chronos, "/", b"This is the mesoslab twin"),
    ):
        page = daemon.get(path, accept="text/html")
        assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
        assert words in page.body, daemon.name


def test_master_state_has_the_shape_of_mesos_1x(lab: Lab) -> None:
    state = lab.master.get("/master/state").json()
    assert shape_problems(state, [fixture("mesos/master_state_dcos_mesos-1.2.0.json")]) == []
    assert shape_problems(state, [fixture("mesos/master_state_pkg-install_datadog.json")]) == []
    reference = fixture("mesos/master_state_dcos_mesos-1.2.0.json")
    # completed frameworks are written by the same writer as live ones
    assert state["completed_frameworks"], "mesos-execute's framework should be completed"
    for completed in state["completed_frameworks"]:
        assert shape_problems(completed, reference["frameworks"], "$.frameworks[]") == []
    assert state["leader"] == state["pid"] == f"master@{ADDRESS_MASTER}:{lab.master.port}"
    assert state["leader_info"]["hostname"] == "master1"
    assert "tasks" not in state  # facts §1: no top-level tasks array
    assert all(isinstance(v, str) for v in state["flags"].values())
    assert state["flags"]["work_dir"] == "/var/lib/mesos"
    assert state["flags"]["log_dir"] == "/var/log/mesos"  # LOGS= in /etc/default/mesos
    assert "zk" not in state["flags"] and "quorum" not in state["flags"]  # unset: absent
    slave = state["slaves"][0]
    assert slave["pid"] == f"slave(1)@{ADDRESS_AGENT}:{lab.agent.port}"
    assert slave["attributes"] == {"rack": "abc", "level": 2, "r": "[1-5]"}
    assert slave["resources"]["ports"] == "[31000-32000]"
    assert slave["active"] is True


def test_master_other_endpoints_have_their_shapes(lab: Lab) -> None:
    state = fixture("mesos/master_state_dcos_mesos-1.2.0.json")
    tasks = [t for f in state["frameworks"] for t in f["tasks"]]
    cases = {
        "/master/state-summary": [
            fixture("mesos/master_state-summary_dcos_mesos-1.7.0.json"),
            fixture("mesos/master_state-summary_mesos-1.7.1_datadog.json"),
        ],
        "/master/slaves": [{"slaves": state["slaves"], "recovered_slaves": []}],
        "/master/frameworks": [
            {
                "frameworks": state["frameworks"],
                "completed_frameworks": state["frameworks"],
                "unregistered_frameworks": [],
            }
        ],
        "/master/tasks": [{"tasks": tasks}],
    }
    for path, references in cases.items():
        answer = lab.master.get(path)
        assert answer.status == 200, path
        data = answer.json()
        for reference in references:
            assert shape_problems(data, [reference]) == [], path
        for key in ("slaves", "frameworks", "tasks"):
            if key in references[0]:
                assert data[key], f"{path}: {key} is empty, the comparison proves nothing"
    summary = lab.master.get("/master/state-summary").json()
    assert "leader" not in summary  # facts §1
    # the same document under the top-level alias
    assert lab.master.get("/state").json()["id"] == lab.master.get("/master/state").json()["id"]


def test_master_small_endpoints(lab: Lab) -> None:
    assert lab.master.get("/health").status == 200
    assert lab.master.get("/health").body == b""
    version = lab.master.get("/version").json()
    assert {"version", "build_date", "build_time", "build_user"} <= set(version)
    assert version["build_user"] == "mesoslab-twin"
    flags = lab.master.get("/flags").json()["flags"]
    assert all(isinstance(v, str) for v in flags.values())
    metrics = lab.master.get("/metrics/snapshot").json()
    assert metrics["master/elected"] == 1.0
    assert metrics["master/slaves_active"] == 1.0
    assert metrics["master/frameworks_active"] == 2.0
    assert all(isinstance(v, int | float) for v in metrics.values())
    redirect = lab.master.get("/master/redirect")
    assert redirect.status == 307
    assert redirect.headers["Location"] == f"//master1:{lab.master.port}"
    assert lab.master.get("/master/redirect/state").status == 404


def test_master_roles_have_the_shape_of_mesos_1_4(lab: Lab) -> None:
    roles = lab.master.get("/master/roles").json()
    assert shape_problems(roles, [documented("mesos_master_roles_1.4.3.json")]) == []
    # no weights, quota or whitelist: the roles of the registered frameworks (all "*")
    frameworks = lab.master.get("/master/frameworks").json()["frameworks"]
    assert [r["name"] for r in roles["roles"]] == ["*"]
    star = roles["roles"][0]
    assert star["weight"] == 1.0 and "quota" not in star
    assert sorted(star["frameworks"]) == sorted(f["id"] for f in frameworks)
    used = sum(f["used_resources"]["cpus"] for f in frameworks)
    assert star["resources"]["cpus"] == pytest.approx(used) and used > 0
    for alias in ("/roles", "/roles.json", "/master/roles.json"):
        assert lab.master.get(alias).json() == roles, alias


def test_master_teardown_refuses_like_mesos(lab: Lab) -> None:
    missing = http("POST", lab.master.url + "/master/teardown")
    assert missing.status == 400
    assert missing.body == b"Missing 'frameworkId' query parameter in the request body"
    unknown = http("POST", lab.master.url + "/master/teardown?frameworkId=no-such-framework")
    assert unknown.status == 400 and unknown.body == b"No framework found with specified ID"
    assert len(lab.master.get("/master/frameworks").json()["frameworks"]) == 2


# ------------------------------------------------------------------ Mesos agent


def test_agent_state_has_the_shape_of_the_agent_state(lab: Lab) -> None:
    state = lab.agent.get("/state").json()
    assert shape_problems(state, [fixture("mesos/agent_state_dcos_mesos-0.27.0.json")]) == []
    assert state["frameworks"], "the agent runs Marathon's tasks"
    assert state == state | {"pid": f"slave(1)@{ADDRESS_AGENT}:{lab.agent.port}"}
    assert state["flags"]["containerizers"] == "docker,mesos"
    assert state["attributes"] == {"rack": "abc", "level": 2, "r": "[1-5]"}
    assert lab.agent.get("/slave(1)/state").json()["id"] == state["id"]
    flags = lab.agent.get("/flags").json()["flags"]
    assert all(isinstance(v, str) for v in flags.values())
    assert flags["executor_registration_timeout"] == "1mins"  # the default, normalised
    assert "resources" not in flags  # unset: absent
    assert lab.agent.get("/metrics/snapshot").json()["slave/registered"] == 1.0


def test_agent_small_endpoints(lab: Lab) -> None:
    for prefix in ("", "/slave(1)"):
        health = lab.agent.get(prefix + "/health")
        assert health.status == 200 and health.body == b""
        version = lab.agent.get(prefix + "/version").json()
        assert {"version", "build_date", "build_time", "build_user"} <= set(version)
        assert version == lab.master.get("/version").json() | {
            k: version[k] for k in ("build_date", "build_time")
        }


def test_docker_tasks_are_run_by_docker_as_mesos_runs_them(lab: Lab) -> None:
    """A Docker task is one `docker run` in the shape of Mesos 1.4's docker containerizer
    (here against the CLI's test double: no Docker Engine on this host)."""
    app = lab.marathon.get("/v2/apps/web").json()["app"]
    task = app["tasks"][0]
    port = task["ports"][0]
    assert 31000 <= port <= 32000
    page = http("GET", f"http://{ADDRESS_AGENT}:{port}/")
    assert page.status == 200  # the container's published port
    state = lab.master.get("/master/state").json()
    mesos_task = next(t for f in state["frameworks"] for t in f["tasks"] if t["id"] == task["id"])
    container = mesos_task["container"]
    assert container["type"] == "DOCKER"
    assert container["docker"]["image"] == "nginx"
    assert container["docker"]["network"] == "BRIDGE"
    assert container["docker"]["port_mappings"] == [
        {"host_port": port, "container_port": 80, "protocol": "tcp"}
    ]
    status = mesos_task["statuses"][-1]
    assert not any(label["key"] == "MESOSLAB_TWIN" for label in status.get("labels", []))
    container_id = status["container_status"]["container_id"]["value"]
    calls = (lab.agent.root / "var/run/docker-double/calls.log").read_text().splitlines()
    run = next(c.split() for c in calls if f"--name mesos-{container_id}" in c)
    # mem 32 MB, cpus 0.1: --cpu-shares 1024 x cpus, --memory in bytes (docker.cpp)
    assert run[:5] == ["run", "--cpu-shares", "102", "--memory", str(32 * 1024 * 1024)]
    assert "MESOS_SANDBOX=/mnt/mesos/sandbox" in run
    assert f"MESOS_CONTAINER_NAME=mesos-{container_id}" in run
    assert any(v.endswith(f"/runs/{container_id}:/mnt/mesos/sandbox") for v in run)
    assert run[run.index("--net") + 1] == "bridge"
    assert run[run.index("-p") + 1] == f"{port}:80/tcp"
    assert run[-1] == "nginx" and "--entrypoint" not in run  # no cmd: the image's own
    wait_until(
        "a passing health check",
        lambda: lab.marathon.get("/v2/apps/web").json()["app"]["tasksHealthy"] == 1,
    )


# ------------------------------------------------------------------ Marathon


def test_marathon_info_and_leader(lab: Lab) -> None:
    info = lab.marathon.get("/v2/info").json()
    assert shape_problems(info, [fixture("marathon/v2_info_docs-example_1.5.json")]) == []
    assert info["elected"] is True
    assert info["leader"] == f"master1:{lab.marathon.port}"
    assert info["frameworkId"].endswith("-0000") or info["frameworkId"].endswith("-0001")
    assert lab.marathon.get("/v2/leader").json() == {"leader": info["leader"]}
    ping = lab.marathon.get("/ping", accept="text/plain")
    assert ping.status == 200 and ping.body.strip() == b"pong"


def test_marathon_apps_have_the_1_4_shape(lab: Lab) -> None:
    embedded = lab.marathon.get("/v2/apps?embed=apps.tasks").json()
    legacy = fixture("marathon/v2_apps_embed-tasks_marathon-1.1-1.4.json")
    web = [a for a in embedded["apps"] if a["id"] == "/web"]
    assert shape_problems({"apps": web}, [legacy]) == []
    plain = lab.marathon.get("/v2/apps").json()
    documented = fixture("marathon/v2_apps_docs-example_with-deployment.json")
    sleeper = [a for a in plain["apps"] if a["id"] == "/sleeper"]
    assert shape_problems({"apps": sleeper}, [documented]) == []
    assert "tasks" not in plain["apps"][0]  # tasks are embedded only when asked
    one = lab.marathon.get("/v2/apps/sleeper").json()
    assert shape_problems(one, [{"app": documented["apps"][0]}]) == []
    assert one["app"]["tasksRunning"] == 2 and len(one["app"]["tasks"]) == 2
    assert one["app"]["tasksHealthy"] == 0  # no health checks: never counted healthy
    missing = lab.marathon.get("/v2/apps/nothing")
    assert missing.status == 404
    assert missing.json() == {"message": "App '/nothing' does not exist"}


def test_marathon_tasks_have_their_shape(lab: Lab) -> None:
    tasks = lab.marathon.get("/v2/tasks").json()
    assert len(tasks["tasks"]) == 3
    assert shape_problems(tasks, [fixture("marathon/v2_tasks_docs-example.json")]) == []
    for task in tasks["tasks"]:
        assert all(isinstance(p, int) for p in task["ports"])
    text = lab.marathon.get("/v2/tasks", accept="text/plain").body.decode()
    # EndpointsHelper: the app id without its leading "/", each host:port followed by a tab
    web = next(line for line in text.splitlines() if line.startswith("web\t"))
    service, *ends = web.split("\t")[1:]
    assert int(service) > 0 and ends[-1] == "" and ends[0].startswith("agent1:")


def test_marathon_groups_and_app_tasks_have_their_shapes(lab: Lab) -> None:
    group = lab.marathon.get("/v2/groups").json()
    assert shape_problems(group, [documented("marathon_group_1.4.12.json")]) == []
    apps = lab.marathon.get("/v2/apps").json()["apps"]
    assert sorted(a["id"] for a in group["apps"]) == sorted(a["id"] for a in apps)
    assert group["id"] == "/" and group["groups"] == []
    tasks = lab.marathon.get("/v2/apps/sleeper/tasks").json()
    assert shape_problems(tasks, [documented("marathon_app_tasks_1.4.12.json")]) == []
    app = lab.marathon.get("/v2/apps/sleeper").json()["app"]
    assert sorted(t["id"] for t in tasks["tasks"]) == sorted(t["id"] for t in app["tasks"])
    assert {t["appId"] for t in tasks["tasks"]} == {"/sleeper"} and len(tasks["tasks"]) == 2
    missing = lab.marathon.get("/v2/apps/nothing/tasks")
    assert missing.status == 404 and missing.json() == {"message": "App '/nothing' does not exist"}


def test_marathon_refuses_an_app_without_cmd_or_container(lab: Lab) -> None:
    answer = http("POST", lab.marathon.url + "/v2/apps", {"id": "/empty"})
    assert answer.status == 422
    assert "must either contain one of 'cmd' or 'args'" in answer.body.decode()


# ------------------------------------------------------------------ Chronos


def test_chronos_jobs_have_the_2x_shape(lab: Lab) -> None:
    jobs = lab.chronos.get("/scheduler/jobs").json()
    assert isinstance(jobs, list) and jobs
    assert shape_problems(jobs, [fixture("chronos/scheduler_jobs_airbnb-2013.json")]) == []
    fields_2x = [
        "name", "command", "shell", "epsilon", "executor", "executorFlags", "taskInfoData",
        "retries", "owner", "ownerName", "description", "async", "successCount", "errorCount",
        "lastSuccess", "lastError", "cpus", "disk", "mem", "disabled", "softError",
        "dataProcessingJobType", "errorsSinceLastSuccess", "fetch", "uris",
        "environmentVariables", "arguments", "highPriority", "runAsUser", "constraints",
        "schedule", "scheduleTimeZone",
    ]  # fmt: skip
    assert list(jobs[0]) == fields_2x  # facts §5: the serializer's order
    assert jobs[0]["successCount"] == 1 and jobs[0]["lastError"] == ""
    assert lab.chronos.get("/leader").json() == {"leader": f"master1:{lab.chronos.port}"}
    assert lab.chronos.get("/ping", accept="text/plain").body == b"pong\n"


# ------------------------------------------------------------------ changes (last: they add work)


def test_marathon_scales_updates_and_deletes_apps(lab: Lab) -> None:
    url = lab.marathon.url + "/v2/apps"
    app = {"id": "/scaler", "cmd": "sleep 600", "cpus": 0.1, "mem": 16, "instances": 2}
    assert http("POST", url, app).status == 201

    def app_now() -> dict:
        return lab.marathon.get("/v2/apps/scaler").json()["app"]

    def settled(count: int) -> bool:
        current = app_now()
        return current["tasksRunning"] == count and not current["deployments"] and current

    first = wait_until("two tasks", lambda: settled(2))
    scaled = http("PUT", url + "/scaler", {"instances": 1})
    assert scaled.status == 200 and scaled.json()["deploymentId"]
    wait_until("one task", lambda: settled(1) and len(app_now()["tasks"]) == 1)
    after = app_now()
    assert (
        after["versionInfo"]["lastConfigChangeAt"] == first["versionInfo"]["lastConfigChangeAt"]
    )  # scaling is not a configuration change
    old_task = after["tasks"][0]["id"]
    assert http("PUT", url + "/scaler", {"cmd": "sleep 601"}).status == 200
    replaced = wait_until(
        "a task of the new version",
        lambda: settled(1) and [t["id"] for t in app_now()["tasks"]] != [old_task] and app_now(),
    )
    assert replaced["tasks"][0]["version"] == replaced["versionInfo"]["lastConfigChangeAt"]
    assert http("DELETE", url + "/scaler").status == 200
    assert lab.marathon.get("/v2/apps/scaler").status == 404

    def scaler_tasks() -> list[str]:
        frameworks = lab.master.get("/master/frameworks").json()["frameworks"]
        return [t["state"] for f in frameworks for t in f["tasks"] if t["name"] == "scaler"]

    wait_until("the app's tasks killed", lambda: scaler_tasks() == [] or None)
    frameworks = lab.master.get("/master/frameworks").json()["frameworks"]
    killed = [t for f in frameworks for t in f["completed_tasks"] if t["name"] == "scaler"]
    # one scaled down, one replaced by the new version, the last one deleted with the app
    assert {t["state"] for t in killed} == {"TASK_KILLED"} and len(killed) == 3


def test_marathon_deployments_queue_and_a_created_app_have_their_shapes(lab: Lab) -> None:
    """An app no agent can hold stays deployed-to and queued, so both can be compared."""
    url = lab.marathon.url + "/v2/apps"
    too_big = {"id": "/toobig", "cmd": "sleep 600", "cpus": 64, "mem": 16, "instances": 2}
    created = http("POST", url, too_big)
    assert created.status == 201 and created.headers["Location"].endswith("/v2/apps/toobig")
    documented_app = fixture("marathon/v2_apps_docs-example_with-deployment.json")["apps"][0]
    body = created.json()
    assert shape_problems(body, [documented_app]) == []
    assert body["id"] == "/toobig" and body["tasks"] == [] and body["deployments"]
    try:
        deployments = lab.marathon.get("/v2/deployments").json()
        assert shape_problems(deployments, [documented("marathon_deployments_1.4.12.json")]) == []
        mine = [d for d in deployments if d["affectedApps"] == ["/toobig"]]
        assert [d["id"] for d in mine] == [body["deployments"][0]["id"]]
        queue = lab.marathon.get("/v2/queue").json()
        assert shape_problems(queue, [documented("marathon_queue_1.4.12.json")]) == []
        waiting = [q for q in queue["queue"] if q["app"]["id"] == "/toobig"]
        assert len(waiting) == 1 and waiting[0]["count"] == 2
    finally:
        deleted = http("DELETE", url + "/toobig")
    assert deleted.status == 200
    result = documented("marathon_deployment_result_1.4.12.json")
    assert shape_problems(deleted.json(), [result]) == []
    wait_until("the app gone", lambda: lab.marathon.get("/v2/apps/toobig").status == 404)


def test_marathon_kills_a_task_scales_and_restarts_an_app(lab: Lab) -> None:
    url = lab.marathon.url + "/v2/apps"
    result = documented("marathon_deployment_result_1.4.12.json")
    app = {"id": "/killer", "cmd": "sleep 600", "cpus": 0.1, "mem": 16, "instances": 2}
    assert http("POST", url, app).status == 201

    def task_ids(count: int) -> list[str] | None:
        current = lab.marathon.get("/v2/apps/killer").json()["app"]
        running = current["tasksRunning"] == count == current["instances"]
        ids = [t["id"] for t in current["tasks"]]
        return ids if running and not current["deployments"] and len(ids) == count else None

    first = wait_until("two tasks", lambda: task_ids(2))
    # a killed task is replaced (the app keeps its instances)
    tasks_url = lab.marathon.url + "/v2/apps/killer/tasks/"
    killed = http("DELETE", tasks_url + first[0])
    assert killed.status == 200
    assert shape_problems(killed.json(), [documented("marathon_killed_task_1.4.12.json")]) == []
    assert killed.json()["task"]["id"] == first[0]
    second = wait_until(
        "a replacement", lambda: (ids := task_ids(2)) and first[0] not in ids and ids
    )
    # ?scale=true: the task is killed and the app scaled down by a deployment
    scaled = http("DELETE", tasks_url + second[0] + "?scale=true")
    assert scaled.status == 200 and shape_problems(scaled.json(), [result]) == []
    left = wait_until("one task", lambda: task_ids(1))
    assert second[0] not in left
    patched = http("PATCH", url + "/killer", {"instances": 2})
    assert patched.status == 200 and shape_problems(patched.json(), [result]) == []
    before = wait_until("two tasks again", lambda: task_ids(2))
    restarted = http("POST", lab.marathon.url + "/v2/apps/killer/restart")
    assert restarted.status == 200 and shape_problems(restarted.json(), [result]) == []
    wait_until("new tasks", lambda: (ids := task_ids(2)) and not set(ids) & set(before))
    assert http("POST", url + "/nothing/restart").status == 404
    assert http("DELETE", url + "/killer").status == 200


def test_chronos_search_kill_and_delete(lab: Lab) -> None:
    """Last: it deletes every job."""

    def call(method: str, path: str, body: Any = None) -> Any:
        return http(method, lab.chronos.url + path, body)

    two = {"name": "Nightly-Two", "command": "true", "schedule": "R//PT1H", "owner": "ops@lab"}
    assert call("PUT", "/scheduler/iso8601", two).status == 204
    after = {"name": "after", "command": "true", "parents": ["nightly"], "owner": "ops@lab"}
    assert call("POST", "/scheduler/dependency", after).status == 204
    assert call("PUT", "/scheduler/dependency", after | {"command": "false"}).status == 204
    found = lab.chronos.get("/scheduler/jobs/search?name=NIGHT").json()
    assert shape_problems(found, [fixture("chronos/scheduler_jobs_airbnb-2013.json")]) == []
    assert sorted(j["name"] for j in found) == ["Nightly-Two", "nightly"]  # any case, a part
    assert len(lab.chronos.get("/scheduler/jobs/search?name=night&limit=1").json()) == 1
    assert "link,nightly,after" in lab.chronos.get("/scheduler/graph/csv").body.decode()
    assert call("PUT", "/scheduler/job/nightly").status == 204  # run now
    killed = call("DELETE", "/scheduler/task/kill/nightly")
    assert killed.status == 204 and killed.body == b""
    deleted = call("DELETE", "/scheduler/job/after")
    assert deleted.status == 204 and deleted.body == b""
    assert lab.chronos.get("/scheduler/jobs/search?name=after").json() == []
    for job in lab.chronos.get("/scheduler/jobs").json():  # 2.x deletes one job at a time
        assert call("DELETE", "/scheduler/job/" + job["name"]).status == 204
    assert lab.chronos.get("/scheduler/jobs").json() == []


def test_libprocess_paths_and_the_tasks_list_options(lab: Lab) -> None:
    """Mesos's HTTP drops empty path parts (a trailing or doubled slash); /master/tasks
    ignores a limit or offset that is no number and sorts ascending only for order=asc
    (MESOS@1.4.3 src/master/http.cpp, tasks)."""
    state = lab.master.get("/master/state").json()
    assert set(lab.master.get("/master/state/").json()) == set(state)
    assert lab.master.get("//master//slaves").json()["slaves"][0]["id"] == state["slaves"][0]["id"]
    assert lab.agent.get("/state/").json()["id"] == lab.agent.get("/state").json()["id"]
    default = [t["id"] for t in lab.master.get("/master/tasks").json()["tasks"]]
    assert len(default) >= 2
    assert [t["id"] for t in lab.master.get("/master/tasks?order=asc").json()["tasks"]] == (
        default[::-1]
    )
    assert [t["id"] for t in lab.master.get("/master/tasks?order=up").json()["tasks"]] == default
    odd = lab.master.get("/master/tasks?limit=lots&offset=x")
    assert odd.status == 200 and [t["id"] for t in odd.json()["tasks"]] == default
    assert [t["id"] for t in lab.master.get("/master/tasks?limit=1&offset=1").json()["tasks"]] == (
        default[1:2]
    )


# ------------------------------------------------------------------ Docker containerizer


def _docker_calls(lab: Lab) -> list[str]:
    return (lab.agent.root / "var/run/docker-double/calls.log").read_text().splitlines()


def test_a_docker_task_is_running_once_docker_inspect_says_it_started(lab: Lab) -> None:
    """TASK_RUNNING waits for `docker inspect` to show the container started, and carries
    its address on its own network (MESOS@1.4.3 src/docker/executor.cpp L209-281): the BRIDGE
    nginx task reports the bridge address the double's inspect gives."""
    task = lab.marathon.get("/v2/apps/web").json()["app"]["tasks"][0]
    state = lab.master.get("/master/state").json()
    mesos_task = next(t for f in state["frameworks"] for t in f["tasks"] if t["id"] == task["id"])
    running = [s for s in mesos_task["statuses"] if s["state"] == "TASK_RUNNING"]
    assert len(running) == 1
    addresses = running[0]["container_status"]["network_infos"][0]["ip_addresses"]
    assert addresses == [{"ip_address": "172.17.0.2"}]
    name = "mesos-" + running[0]["container_status"]["container_id"]["value"]
    calls = _docker_calls(lab)
    first_run = next(i for i, c in enumerate(calls) if c.startswith("run ") and name in c)
    assert f"inspect {name}" in calls[first_run:]
    # the image was looked at (by its tagged name) before the run, and not pulled: present
    assert "inspect nginx:latest" in calls[:first_run]
    assert "pull nginx" not in calls and "pull nginx:latest" not in calls


def test_a_docker_task_whose_image_cannot_be_pulled_fails_with_mesos_message(lab: Lab) -> None:
    """The Docker containerizer pulls before it runs: a failed pull fails the launch with
    Docker::__pull's words (MESOS@1.4.3 src/docker/docker.cpp L71-79, L1796-1817) and
    REASON_CONTAINER_LAUNCH_FAILED, and the task never was TASK_RUNNING."""
    master_url = f"{ADDRESS_MASTER}:{lab.lab.ports['mesos_master']}"
    run = lab.lab.tool(
        "mesos-execute",
        f"--master={master_url}",
        "--name=unpullable",
        "--containerizer=docker",
        "--docker_image=missing/nothing",
        "--command=true",
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "TASK_RUNNING" not in run.stdout
    assert run.stderr == ""  # its ACKNOWLEDGE went before its teardown, as mesos-execute's
    docker = lab.lab.base / "docker-bin" / "docker"
    socket = lab.agent.root / "var/run/docker.sock"
    expected = (
        f"Failed to launch container: Failed to run '{docker} -H unix://{socket} pull"
        " missing/nothing:latest': exited with status 1; stderr='Error response from daemon:"
        " pull access denied for missing/nothing, repository does not exist or may require"
        " 'docker login'\n'"
    )
    assert "Received status update TASK_FAILED for task 'unpullable'" in run.stdout
    assert f"  message: '{expected}'" in run.stdout
    assert "  reason: REASON_CONTAINER_LAUNCH_FAILED" in run.stdout
    assert "  source: SOURCE_AGENT" in run.stdout  # the v1 API's name for SOURCE_SLAVE
    assert not any(c.startswith("run ") and "unpullable" in c for c in _docker_calls(lab))


def test_a_marathon_docker_app_with_args_runs_them_once_after_the_image(lab: Lab) -> None:
    """Marathon sets only `arguments` for a containerized app's args (the value is the
    command executor's, for apps without a container: TaskBuilder.scala L241-249 in
    v1.4.12), and Mesos's docker run puts them after the image (docker.cpp L908-916)."""
    app = {
        "id": "/argv",
        "cpus": 0.1,
        "mem": 32,
        "args": ["sleep", "600"],
        "container": {"type": "DOCKER", "docker": {"image": "busybox", "network": "HOST"}},
    }
    assert http("POST", lab.marathon.url + "/v2/apps", app).status == 201
    try:
        wait_until(
            "the argv app running",
            lambda: lab.marathon.get("/v2/apps/argv").json()["app"]["tasksRunning"] == 1,
        )
        task = lab.marathon.get("/v2/apps/argv").json()["app"]["tasks"][0]
        state = lab.master.get("/master/state").json()
        mesos_task = next(
            t for f in state["frameworks"] for t in f["tasks"] if t["id"] == task["id"]
        )
        container_id = mesos_task["statuses"][-1]["container_status"]["container_id"]["value"]
        run = next(c.split() for c in _docker_calls(lab) if f"--name mesos-{container_id}" in c)
        assert run[-3:] == ["busybox", "sleep", "600"] and "--entrypoint" not in run
        # on the host's network the container has no address of its own: the agent's
        addresses = mesos_task["statuses"][-1]["container_status"]["network_infos"][0]
        assert addresses["ip_addresses"] == [{"ip_address": ADDRESS_AGENT}]
    finally:
        assert http("DELETE", lab.marathon.url + "/v2/apps/argv").status == 200
