"""Fixtures every test gets. What tests share (sshd, ZooKeeper, HTTP fixture servers, twin
daemons, LXC labs, ports, paths) lives in tests/support/."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.support.paths import FIXTURES

# the lxc_box fixture of the real LXC lab tests; the classroom tests' learners fixture
pytest_plugins = ["tests.support.lxc", "tests.support.classroom"]

# The tests stop Vagrant stand-ins with SIGINT, as mesoslab stops Vagrant. A test run started in
# the background (`cmd &`, nohup) inherits SIGINT ignored, and a child that starts with it
# ignored can neither trap it nor die of it: the stand-ins then ran until the 30 s grace was up.
# Children start with the default disposition, as under a terminal, however pytest was started.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Progress files, class membership and class databases go to temp folders, never to
    the developer's home."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data")))
    monkeypatch.delenv("MESOSLAB_INVENTORY", raising=False)
    monkeypatch.delenv("MESOSLAB_LESSONS", raising=False)


@pytest.fixture
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.fail(
            f"recorded API fixtures missing at {FIXTURES} (shared/ must sit beside the checkout)"
        )
    return FIXTURES
