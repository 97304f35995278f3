"""The twin marathon-lb's HAProxy configuration, without a lab: which apps and tasks become
backends (group filtering, service ports, HAPROXY_{n}_* labels, task states, health checks)
and the text itself, held to marathon-lb's own expected output and to the real
``haproxy -c`` where the host has HAProxy."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from mesoslab_twin.marathonlb.haproxy_config import (
    Layout,
    backend_names,
    generate,
    server_ids,
)
from mesoslab_twin.marathonlb.services import Backend, Service, services_of
from tests.support.tls import self_signed
from tests.support.twin_install import install_env

HTTP_CHECK = {
    "path": "/",
    "protocol": "HTTP",
    "portIndex": 0,
    "gracePeriodSeconds": 10,
    "intervalSeconds": 2,
    "timeoutSeconds": 10,
    "maxConsecutiveFailures": 10,
}


def resolve(host: str) -> str:
    return {"agent1": "10.0.3.32", "agent2": "10.0.3.33"}.get(host, "")


def app(
    app_id: str = "/web",
    *,
    labels: dict[str, str] | None = None,
    ports: list[int] | None = None,
    tasks: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": app_id,
        "labels": labels if labels is not None else {"HAPROXY_GROUP": "external"},
        "portDefinitions": [{"port": p, "protocol": "tcp"} for p in (ports or [10000])],
        "tasks": tasks
        if tasks is not None
        else [
            {"id": "web.1", "host": "agent1", "ports": [31001], "state": "TASK_RUNNING"},
            {"id": "web.2", "host": "agent2", "ports": [31002], "state": "TASK_RUNNING"},
        ],
        **extra,
    }


def layout(tmp_path: Path, **changes: Any) -> Layout:
    return Layout(config_file=tmp_path / "haproxy.cfg", **changes)


def test_only_apps_of_the_group_get_a_backend(tmp_path: Path) -> None:
    apps = [
        app("/web"),
        app("/internal", labels={"HAPROXY_GROUP": "internal"}, ports=[10001]),
        app("/nolabel", labels={}, ports=[10002]),
        app("/both", labels={"HAPROXY_GROUP": "internal,external"}, ports=[10003]),
    ]
    services = services_of(apps, resolve=resolve)
    text = generate(services, ["external"], layout(tmp_path)).text
    assert backend_names(text) == ["both_10003", "web_10000"]
    everything = generate(services, ["*"], layout(tmp_path)).text
    assert backend_names(everything) == [
        "both_10003",
        "internal_10001",
        "nolabel_10002",
        "web_10000",
    ]


def test_a_per_port_group_wins_over_the_app_group(tmp_path: Path) -> None:
    labels = {"HAPROXY_GROUP": "internal", "HAPROXY_1_GROUP": "external"}
    tasks = [{"id": "t", "host": "agent1", "ports": [31001, 31002], "state": "TASK_RUNNING"}]
    services = services_of([app(labels=labels, ports=[10000, 10001], tasks=tasks)], resolve=resolve)
    assert backend_names(generate(services, ["external"], layout(tmp_path)).text) == ["web_10001"]
    assert backend_names(generate(services, ["internal"], layout(tmp_path)).text) == ["web_10000"]


def test_backends_are_named_after_the_app_and_its_service_port(tmp_path: Path) -> None:
    services = services_of([app("/shop/cart", ports=[10005])], resolve=resolve)
    text = generate(services, ["external"], layout(tmp_path)).text
    assert (
        "\nfrontend shop_cart_10005\n  bind *:10005\n  mode tcp\n  use_backend shop_cart_10005\n"
        in text
    )
    assert "  server agent1_10_0_3_32_31001 10.0.3.32:31001 id " in text
    assert "  server agent2_10_0_3_33_31002 10.0.3.33:31002 id " in text


def test_haproxy_0_port_overrides_the_service_port(tmp_path: Path) -> None:
    labels = {"HAPROXY_GROUP": "external", "HAPROXY_0_PORT": "10080"}
    services = services_of([app(labels=labels)], resolve=resolve)
    text = generate(services, ["external"], layout(tmp_path)).text
    assert backend_names(text) == ["web_10080"]
    assert "  bind *:10080\n" in text
    assert "10000" not in text.split("listen stats")[1]


def test_bridge_apps_take_their_service_ports_from_the_port_mappings() -> None:
    bridged = app(
        ports=[],
        container={
            "type": "DOCKER",
            "docker": {
                "network": "BRIDGE",
                "portMappings": [{"containerPort": 80, "hostPort": 0, "servicePort": 10010}],
            },
        },
    )
    bridged["portDefinitions"] = []
    [service] = services_of([bridged], resolve=resolve)
    assert service.backend_name == "web_10010"
    assert sorted(b.port for b in service.backends) == [31001, 31002]


def test_tasks_that_do_not_run_or_do_not_resolve_get_no_traffic() -> None:
    tasks = [
        {"id": "a", "host": "agent1", "ports": [31001], "state": "TASK_RUNNING"},
        {"id": "b", "host": "agent2", "ports": [31002], "state": "TASK_STAGING"},
        {"id": "c", "host": "agent2", "ports": [31003], "state": "TASK_KILLING"},
        {"id": "d", "host": "nowhere", "ports": [31004], "state": "TASK_RUNNING"},
        {"id": "e", "host": "", "ports": [31005], "state": "TASK_RUNNING"},
        {"id": "f", "host": "agent2", "ports": [31006], "state": "TASK_UNREACHABLE"},
    ]
    [service] = services_of([app(tasks=tasks)], resolve=resolve)
    assert sorted(b.port for b in service.backends) == [31001, 31006]


def test_an_app_without_a_task_gets_no_frontend(tmp_path: Path) -> None:
    services = services_of([app(tasks=[])], resolve=resolve)
    assert services == []
    text = generate(services, ["external"], layout(tmp_path)).text
    assert backend_names(text) == []
    assert ":10000" not in text


def test_health_check_flag_keeps_only_tasks_whose_check_passes() -> None:
    tasks = [
        {
            "id": "a",
            "host": "agent1",
            "ports": [31001],
            "state": "TASK_RUNNING",
            "healthCheckResults": [{"alive": True}],
        },
        {
            "id": "b",
            "host": "agent2",
            "ports": [31002],
            "state": "TASK_RUNNING",
            "healthCheckResults": [{"alive": False}],
        },
        {"id": "c", "host": "agent2", "ports": [31003], "state": "TASK_RUNNING"},
    ]
    checked = app(tasks=tasks, healthChecks=[HTTP_CHECK])
    [with_flag] = services_of([checked], health_check=True, resolve=resolve)
    assert [b.port for b in with_flag.backends] == [31001]
    [without] = services_of([checked], resolve=resolve)
    assert sorted(b.port for b in without.backends) == [31001, 31002, 31003]
    # an app without health checks is not filtered even with the flag
    [unchecked] = services_of([app(tasks=tasks)], health_check=True, resolve=resolve)
    assert len(unchecked.backends) == 3


def test_strict_mode_needs_haproxy_n_enabled(tmp_path: Path) -> None:
    apps = [
        app("/on", labels={"HAPROXY_GROUP": "external", "HAPROXY_0_ENABLED": "true"}),
        app("/off", ports=[10001]),
    ]
    services = services_of(apps, strict_mode=True, resolve=resolve)
    assert backend_names(generate(services, ["external"], layout(tmp_path)).text) == ["on_10000"]


def test_vhost_label_routes_port_80_and_443_by_host(tmp_path: Path) -> None:
    labels = {"HAPROXY_GROUP": "external", "HAPROXY_0_VHOST": "Shop.Example.com,shop"}
    services = services_of([app(labels=labels)], resolve=resolve)
    text = generate(services, ["external"], layout(tmp_path)).text
    http_in = text.split("frontend marathon_http_in\n")[1].split("\n\n")[0]
    assert http_in.splitlines() == [
        "  bind *:80",
        "  mode http",
        "  acl host_shop_example_com_web hdr(host) -i shop.example.com",
        "  acl host_shop_example_com_web hdr(host) -i shop",
        "  use_backend web_10000 if host_shop_example_com_web",
    ]
    assert "  use_backend web_10000 if { ssl_fc_sni shop.example.com }\n" in text
    assert "  acl app__web hdr(x-marathon-app-id) -i /web\n" in text
    assert "\nbackend web_10000\n  balance roundrobin\n  mode http\n  option forwardfor\n" in text


def test_dont_bind_http_https_leaves_out_ports_80_and_443(tmp_path: Path) -> None:
    services = services_of([app()], resolve=resolve)
    text = generate(services, ["external"], layout(tmp_path, bind_http_https=False)).text
    assert "marathon_http_in" not in text and "marathon_https_in" not in text
    assert "frontend marathon_http_appid_in\n  bind *:9091\n" in text


def test_haproxy_map_puts_the_vhosts_in_map_files(tmp_path: Path) -> None:
    labels = {"HAPROXY_GROUP": "external", "HAPROXY_0_VHOST": "shop.example.com"}
    services = services_of([app(labels=labels)], resolve=resolve)
    generated = generate(services, ["external"], layout(tmp_path, haproxy_map=True))
    assert generated.domain_map == {"shop.example.com": "web_10000"}
    assert generated.app_map == {"/web": "web_10000"}
    assert f"map({tmp_path}/domain2backend.map)]" in generated.text


def test_server_ids_are_marathon_lbs() -> None:
    """marathon-lb's id is sha256(name) mod 32767, so a reload keeps every server's id:
    its own test expects `id 28363` for agent1_1_1_1_1_1024 (MLB tests/test_marathon_lb.py)."""
    assert server_ids(["agent1_1_1_1_1_1024"]) == {"agent1_1_1_1_1_1024": 28363}
    many = server_ids(f"s{i}" for i in range(2000))
    assert len(set(many.values())) == 2000 and all(0 < v < 32767 for v in many.values())


def test_a_simple_app_is_written_as_marathon_lb_writes_it(tmp_path: Path) -> None:
    """The text after the head, for MLB tests/test_marathon_lb.py
    test_config_simple_app_vhost (L302-361): one task, HTTP health check, a vhost."""
    service = Service("/nginx", 10000, dict(HTTP_CHECK), groups=("external",), mode="http")
    service.vhosts = ("test.example.com",)
    service.backends.add(Backend("agent1", 1024, "1.1.1.1"))
    text = generate([service], ["external"], layout(tmp_path)).text
    after_head = text[text.index("\nfrontend marathon_http_in") :]
    assert after_head == (
        "\nfrontend marathon_http_in\n"
        "  bind *:80\n"
        "  mode http\n"
        "  acl host_test_example_com_nginx hdr(host) -i test.example.com\n"
        "  use_backend nginx_10000 if host_test_example_com_nginx\n"
        "\nfrontend marathon_http_appid_in\n"
        "  bind *:9091\n"
        "  mode http\n"
        "  acl app__nginx hdr(x-marathon-app-id) -i /nginx\n"
        "  use_backend nginx_10000 if app__nginx\n"
        "\nfrontend marathon_https_in\n"
        "  bind *:443 ssl crt /etc/ssl/cert.pem\n"
        "  mode http\n"
        "  use_backend nginx_10000 if { ssl_fc_sni test.example.com }\n"
        "\nfrontend nginx_10000\n"
        "  bind *:10000\n"
        "  mode http\n"
        "  use_backend nginx_10000\n"
        "\nbackend nginx_10000\n"
        "  balance roundrobin\n"
        "  mode http\n"
        "  option forwardfor\n"
        "  http-request set-header X-Forwarded-Port %[dst_port]\n"
        "  http-request add-header X-Forwarded-Proto https if { ssl_fc }\n"
        "  option  httpchk GET /\n"
        "  timeout check 10s\n"
        "  server agent1_1_1_1_1_1024 1.1.1.1:1024 id 28363 check inter 2s fall 11\n"
    )


def test_the_head_is_marathon_lbs_with_its_9090_listener(tmp_path: Path) -> None:
    text = generate([], ["external"], layout(tmp_path)).text
    stats = text.split("listen stats\n")[1].split("\n\n")[0]
    assert stats.splitlines()[:6] == [
        "  bind 0.0.0.0:9090",
        "  balance",
        "  mode http",
        "  stats enable",
        "  http-request use-service prometheus-exporter if { path /metrics }",
        "  monitor-uri /_haproxy_health_check",
    ]
    for path, service in (
        ("/_haproxy_getconfig", "getconfig"),
        ("/_mlb_signal/hup", "signalmlbhup"),
        ("/_mlb_signal/usr1", "signalmlbusr1"),
    ):
        assert (
            f"  acl {service} path {path}\n  http-request use-service lua.{service} if {service}\n"
            in text
        )
    assert "  stats socket /var/run/haproxy/socket expose-fd listeners\n" in text
    assert "daemon" not in text.split()


def test_real_haproxy_accepts_the_configuration(tmp_path: Path) -> None:
    assert shutil.which("haproxy"), "apt-get install haproxy (./dev does)"
    cert, key = self_signed(tmp_path)
    cert.write_bytes(cert.read_bytes() + key.read_bytes())
    labels = {"HAPROXY_GROUP": "external", "HAPROXY_0_VHOST": "shop.example.com"}
    apps = [app(labels=labels, healthChecks=[HTTP_CHECK]), app("/tcp", ports=[10001])]
    config = layout(
        tmp_path,
        ssl_certs=(str(cert),),
        socket=tmp_path / "socket",
        state_dir=tmp_path,
        maxconn=2000,
    )
    text = generate(services_of(apps, resolve=resolve), ["external"], config).text
    config.config_file.write_text(text)
    checked = subprocess.run(
        ["haproxy", "-c", "-f", str(config.config_file)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    broken = text.replace("  mode tcp\n", "  mode tcpp\n", 1)
    config.config_file.write_text(broken)
    refused = subprocess.run(
        ["haproxy", "-c", "-f", str(config.config_file)], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode != 0


def test_the_installer_lays_marathon_lb_out_and_enables_nothing(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[1] / "src"
    done = subprocess.run(
        ["sh", str(src / "mesoslab_twin/install-marathon-lb.sh"), str(src)],
        env=install_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    unit = (tmp_path / "usr/lib/systemd/system/marathon-lb.service").read_text()
    assert (
        f"Environment=PYTHONPATH={src}\n" in unit
        and "ExecStart=/usr/bin/marathon-lb $OPTIONS" in unit
    )
    assert "--group external --sse" in (tmp_path / "etc/default/marathon-lb").read_text()
    assert "marathon-lb" in (tmp_path / "usr/bin/marathon-lb").read_text()
    assert not (tmp_path / "etc/systemd/system/multi-user.target.wants").exists()
    if shutil.which("openssl"):
        assert b"PRIVATE KEY" in (tmp_path / "etc/ssl/cert.pem").read_bytes()
