"""The class server, for real: `mesoslab class serve` in a subprocess on loopback, spoken to
with httpx. Joining needs the code; a learner posts only with its own token; bad bodies
get a clear 4xx and store nothing; a replayed event is kept once."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from mesoslab.ops.classroom.events import MAX_BODY_BYTES, verify_event
from tests.support.classroom import ClassServer, LearnerHome, wait_for
from tests.support.tls import self_signed


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ClassServer]:
    srv = ClassServer(tmp_path / "instructor", args=("--name", "Mesos 101")).start()
    yield srv
    srv.stop()


def join(server: ClassServer, name: str, code: str | None = None) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/join", json={"code": code or server.code, "name": name}, timeout=5
    )


def token_of(server: ClassServer, name: str) -> str:
    response = join(server, name)
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def post(server: ClassServer, token: str, body: object | bytes) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        f"{server.url}/api/events",
        content=content,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=5,
    )


def an_event(step: int = 1, status: str = "pass") -> dict[str, object]:
    return verify_event("lesson-3", [(step, status, [])]).to_json()


def test_serve_prints_the_join_line_the_dashboard_and_the_token(server: ClassServer) -> None:
    out = server.output
    assert f"mesoslab class join {server.url} --code {server.code} --name NAME" in out
    assert f"{server.url}/dashboard?token={server.token}" in out
    assert f"Instructor token: {server.token}" in out
    assert (server.db.stat().st_mode & 0o777) == 0o600  # it holds the instructor token


def test_joining_needs_the_code_and_a_free_name(server: ClassServer) -> None:
    assert join(server, "alice", code="WRONG1").status_code == 403
    ok = join(server, "alice")
    assert ok.status_code == 200 and ok.json()["class"] == "Mesos 101"
    again = join(server, "alice")
    assert again.status_code == 409 and "taken" in again.json()["error"]
    assert join(server, "../etc/passwd").status_code == 422


def test_a_rotated_or_closed_code_lets_nobody_in(server: ClassServer, tmp_path: Path) -> None:
    instructor = LearnerHome("instructor", server.home)  # the instructor's XDG folders
    old = server.code
    rotated = instructor.mesoslab("class", "code", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    new = server.code
    assert new != old and new in rotated.stdout
    assert join(server, "bob", code=old).status_code == 403
    assert join(server, "bob", code=new).status_code == 200
    assert instructor.mesoslab("class", "code", "close").returncode == 0
    closed = join(server, "carol", code=new)
    assert closed.status_code == 403 and "closed" in closed.json()["error"]
    assert instructor.mesoslab("class", "code", "open").returncode == 0
    assert join(server, "carol", code=new).status_code == 200


def test_events_are_stored_once_and_a_replay_changes_nothing(server: ClassServer) -> None:
    token = token_of(server, "alice")
    event = an_event()
    first = post(server, token, {"events": [event]})
    assert first.status_code == 200 and first.json() == {"stored": [event["id"]], "duplicates": []}
    replay = post(server, token, {"events": [event]})
    assert replay.status_code == 200
    assert replay.json() == {"stored": [], "duplicates": [event["id"]]}
    assert server.event_ids("alice") == [event["id"]]
    learner = server.state()["learners"][0]
    assert learner["name"] == "alice" and learner["steps"]["lesson-3"]["1"]["status"] == "pass"


def test_a_wrong_token_posts_nothing(server: ClassServer) -> None:
    token_of(server, "alice")
    for header in ("Bearer not-a-token", "", "Basic abc"):
        response = httpx.post(
            f"{server.url}/api/events",
            json={"events": [an_event()]},
            headers={"Authorization": header} if header else {},
            timeout=5,
        )
        assert response.status_code == 401, header
        assert "token" in response.json()["error"]
    assert server.event_ids("alice") == []


def test_a_learner_posts_only_its_own_events(server: ClassServer) -> None:
    alice, bob = token_of(server, "alice"), token_of(server, "bob")
    event = an_event(status="fail")
    assert post(server, alice, {"events": [event]}).status_code == 200
    # bob cannot post on alice's behalf: the body has no say in who sent it ...
    claim = post(server, bob, {"events": [event], "learner": "alice"})
    assert claim.status_code == 422
    forged = post(server, bob, {"events": [{**event, "learner": "alice"}]})
    assert forged.status_code == 422 and "unknown field" in forged.json()["error"]
    # ... and reusing alice's event id is bob's own event, alice's stays as it was
    assert post(server, bob, {"events": [{**event, "data": an_event()["data"]}]}).status_code == 200
    rows = {r["name"]: r for r in server.state()["learners"]}
    assert rows["alice"]["steps"]["lesson-3"]["1"]["status"] == "fail"
    assert rows["bob"]["steps"]["lesson-3"]["1"]["status"] == "pass"
    assert server.event_ids("alice") == [event["id"]]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"{not json", 400, "not JSON"),
        ({"events": "x"}, 422, "events"),
        ({"events": []}, 422, "1 to"),
        ({"events": [{"id": "nothex", "kind": "verify"}]}, 422, "id must be"),
        ({"events": [{**an_event(), "kind": "shell"}]}, 422, "kind must be"),
        ({"events": [{**an_event(), "lesson": "../../x"}]}, 422, "lesson"),
        (
            {
                "events": [
                    {**an_event(), "data": {"steps": [{"step": 1, "status": "ok", "checks": []}]}}
                ]
            },
            422,
            "status",
        ),
        ({"events": [{**an_event(), "data": {"steps": "x" * 10}}]}, 422, "list"),
    ],
    ids=[
        "not-json",
        "events-not-list",
        "no-events",
        "bad-id",
        "bad-kind",
        "bad-lesson",
        "bad-status",
        "bad-steps",
    ],
)
def test_malformed_bodies_get_a_clear_4xx_and_nothing_is_stored(
    server: ClassServer, body: object, status: int, says: str
) -> None:
    token = token_of(server, "alice")
    good = an_event()
    if isinstance(body, dict) and isinstance(body.get("events"), list) and body["events"]:
        body = {"events": [good, *body["events"]]}  # one bad event spoils the batch
    response = post(server, token, body)
    assert response.status_code == status, response.text
    assert says in response.json()["error"]
    assert server.event_ids("alice") == []


def test_oversized_bodies_are_refused_before_they_are_read(server: ClassServer) -> None:
    token = token_of(server, "alice")
    huge = {"events": [{**an_event(), "data": {"steps": [], "source": "x" * MAX_BODY_BYTES}}]}
    response = post(server, token, huge)
    assert response.status_code == 413 and "larger than" in response.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams in
        yield b'{"events": ["'
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b"x" * 1024
        yield b'"]}'

    streamed = httpx.post(
        f"{server.url}/api/events",
        content=chunks(),
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert streamed.status_code == 413
    long_text = an_event(status="fail")
    long_text["data"] = {
        "steps": [
            {
                "step": 1,
                "status": "fail",
                "checks": [
                    {
                        "kind": "k",
                        "node": "n",
                        "status": "fail",
                        "summary": "s" * 5000,
                        "expected": "",
                        "observed": "",
                        "hint": "",
                    }
                ],
            }
        ]
    }
    assert post(server, token, {"events": [long_text]}).status_code == 422
    assert server.event_ids("alice") == []


def test_the_dashboard_and_the_class_state_need_the_instructor_token(server: ClassServer) -> None:
    learner_token = token_of(server, "alice")
    assert httpx.get(f"{server.url}/dashboard", timeout=5).status_code == 401
    assert httpx.get(f"{server.url}/dashboard?token=guess", timeout=5).status_code == 401
    for token in ("none", learner_token, "guess"):
        response = httpx.get(
            f"{server.url}/api/state", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        assert response.status_code == 401
    with httpx.Client(base_url=server.url, timeout=5) as browser:
        opened = browser.get(f"/dashboard?token={server.token}")
        assert opened.status_code == 303 and opened.headers["location"] == "/dashboard"
        assert "httponly" in opened.headers["set-cookie"].lower()
        page = browser.get("/dashboard")
        assert page.status_code == 200 and "EventSource" in page.text
        assert server.token not in page.text  # the page itself never shows the token
        assert browser.get("/api/state").json()["learners"][0]["name"] == "alice"


def test_a_learner_that_left_cannot_post(server: ClassServer) -> None:
    token = token_of(server, "alice")
    left = httpx.post(
        f"{server.url}/api/leave", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert left.status_code == 200
    assert post(server, token, {"events": [an_event()]}).status_code == 401
    assert server.state()["learners"][0]["left"] is True


def test_serve_with_tls_and_a_learner_joins_over_https(
    tmp_path: Path, learners: Callable[[str], LearnerHome]
) -> None:
    cert, key = self_signed(tmp_path, "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")
    srv = ClassServer(tmp_path / "tls", args=("--tls-cert", str(cert), "--tls-key", str(key)))
    srv.scheme = "https"
    srv.start()
    try:
        assert f"mesoslab class join https://127.0.0.1:{srv.port}" in srv.output
        with pytest.raises(httpx.HTTPError):  # plain HTTP is not served
            httpx.get(f"http://127.0.0.1:{srv.port}/api/health", timeout=5)
        alice = learners("alice")
        untrusted = alice.mesoslab("class", "join", srv.url, "--code", srv.code, "--name", "a")
        assert untrusted.returncode == 2 and "MESOSLAB_CLASS_CA" in untrusted.stderr
        ca = {"MESOSLAB_CLASS_CA": str(cert)}
        joined = alice.mesoslab(
            "class", "join", srv.url, "--code", srv.code, "--name", "alice", **ca
        )
        assert joined.returncode == 0, joined.stderr
        alice.queue(2)
        sent = alice.mesoslab("class", "send", **ca)
        assert "sent 2" in sent.stdout, sent.stdout
        assert len(srv.event_ids("alice")) == 2
    finally:
        srv.stop()


def test_a_bad_tls_pair_or_a_port_in_use_is_a_clear_error(
    server: ClassServer, tmp_path: Path, learners: Callable[[str], LearnerHome]
) -> None:
    other = learners("other-instructor")
    busy = other.mesoslab("class", "serve", "--bind", "127.0.0.1", "--port", str(server.port))
    assert busy.returncode == 2 and f"cannot listen on 127.0.0.1:{server.port}" in busy.stderr
    half = tmp_path / "half.pem"
    half.write_text("not a certificate")
    bad = other.mesoslab(
        "class",
        "serve",
        "--bind",
        "127.0.0.1",
        "--port",
        "1",
        "--tls-cert",
        str(half),
        "--tls-key",
        str(half),
    )
    assert bad.returncode == 2 and "cannot use the TLS certificate" in bad.stderr
    wild = other.mesoslab("class", "serve", "--bind", "not-an-ip")
    assert wild.returncode == 2 and "not an IP address" in wild.stderr


def test_serve_binds_the_classroom_interface_not_every_address(
    learners: Callable[[str], LearnerHome],
) -> None:
    from mesoslab.ops.classroom.serve import classroom_address
    from tests.support.ports import free_port

    address = classroom_address()
    assert address != "0.0.0.0"
    port = free_port((address,))
    instructor = learners("instructor")
    proc = instructor.start("class", "serve", "--port", str(port), "--no-qr")
    try:
        url = f"http://{address}:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{url}/api/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 30, f"class serve on {url}")
        listening = [
            line.split()[1]
            for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
            if line.split()[3] == "0A" and int(line.split()[1].split(":")[1], 16) == port
        ]
        assert listening == [f"{_hex_ip(address)}:{port:04X}"]  # that address only
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert f"mesoslab class join {url} --code " in out


def _hex_ip(address: str) -> str:
    """An IPv4 address as /proc/net/tcp writes it (little-endian hex)."""
    return "".join(f"{int(part):02X}" for part in reversed(address.split(".")))
