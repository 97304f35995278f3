"""The dashboard in a real browser: Debian's chromium, headless, driven by selenium through
Debian's chromedriver (nothing downloaded). A learner's real verify turns their cell from
red to green live, without a reload; a stuck learner shows the failed check.

Set MESOSLAB_DASHBOARD_SCREENSHOT=docs/images/class-dashboard.png to keep a screenshot
(the README's is made that way)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.browser import headless_chromium
from tests.support.classroom import ClassServer, LearnerHome, wait_for
from tests.support.lesson3_cluster import CUSTOM, DEFAULT, Lesson3Cluster


@pytest.fixture
def browser() -> Iterator[object]:
    with headless_chromium(1600, 900) as driver:
        yield driver


def read(driver: object, selector: str) -> dict[str, str] | None:
    """One element's status, class and text, read in a single script: every update redraws
    the table, so an element found by one WebDriver call can be gone by the next."""
    return driver.execute_script(  # type: ignore[attr-defined,no-any-return]
        "const e = document.querySelector(arguments[0]);"
        "return e ? {status: e.dataset.status || '', cls: e.className, text: e.innerText} : null;",
        selector,
    )


def cell(driver: object, learner: str, lesson: str, step: int) -> dict[str, str] | None:
    return read(
        driver, f'tr[data-learner="{learner}"] td[data-lesson="{lesson}"][data-step="{step}"]'
    )


def cell_status(driver: object, learner: str, lesson: str, step: int) -> str:
    found = cell(driver, learner, lesson, step)
    return found["status"] if found else ""


def test_a_learner_turns_green_live(
    tmp_path: Path,
    browser: object,
    lesson3_cluster: tuple[Lesson3Cluster, Path],
    learners: Callable[[str], LearnerHome],
) -> None:
    driver = browser
    lab, inventory = lesson3_cluster
    server = ClassServer(
        tmp_path / "instructor", args=("--name", "Mesos workshop", "--stuck-fails", "2")
    ).start()
    try:
        alice, bob, carol = learners("alice"), learners("bob"), learners("carol")
        for learner in (alice, bob, carol):
            learner.join(server.url, server.code)
        driver.get(f"{server.url}/dashboard?token={server.token}")  # type: ignore[attr-defined]
        assert "token" not in driver.current_url  # type: ignore[attr-defined]
        wait_for(
            lambda: (read(driver, "#live") or {}).get("text") == "live",
            20,
            "the live stream to connect",
        )
        verify = ("verify", "lesson-3", "-i", str(inventory), "--format", "json", "--timeout", "2")
        lab.serve(DEFAULT)  # not done yet: step 3 fails for everyone
        for learner in (alice, bob, carol):
            learner.mesoslab(*verify)
        bob.mesoslab(*verify)  # bob fails twice on the same check: stuck
        wait_for(
            lambda: cell_status(driver, "alice", "lesson-3", 3) == "fail",
            30,
            "alice's step 3 to turn red",
        )
        stuck = wait_for(
            lambda: read(driver, '.stuck-item[data-learner="bob"]'), 30, "bob to show as stuck"
        )
        text = (stuck or {}).get("text", "")
        assert "lesson-3 step 3" in text and "expected" in text and "observed" in text
        lab.serve(CUSTOM)  # alice fixes her agents
        alice.mesoslab(*verify)
        wait_for(
            lambda: cell_status(driver, "alice", "lesson-3", 3) == "pass",
            30,
            "alice's step 3 to turn green, live",
        )
        green = cell(driver, "alice", "lesson-3", 3)
        assert green and "pass" in green["cls"] and green["text"] == "✔"
        assert cell_status(driver, "carol", "lesson-3", 3) == "fail"

        def count() -> str:
            found = read(driver, 'tfoot td[data-lesson="lesson-3"][data-step="3"]')
            return found["text"] if found else ""

        wait_for(lambda: count() == "1/3", 10, "step 3's completion count to read 1/3")
        shot = os.environ.get("MESOSLAB_DASHBOARD_SCREENSHOT")
        if shot:
            Path(shot).parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(shot)  # type: ignore[attr-defined]
    finally:
        server.stop()
