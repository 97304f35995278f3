"""A missing prerequisite: a skip on a developer's machine, a failure on CI.

``.ci/run`` (and any CI service, which sets ``CI``) installs every package the tests need
(``./dev``'s APT_PACKAGES). There a missing sshd, ZooKeeper, Java, LXC, Vagrant with
vagrant-lxc or debootstrap is a broken install, and a green run with "N skipped" would hide
it (DESIGN §6: on a Debian root host the lab tests must run). Elsewhere the tests skip with
the reason.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def on_ci() -> bool:
    """``CI`` set to anything but empty, ``0`` or ``false`` (CI services set ``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(reason: str, *, ci_installs_it: bool = True) -> NoReturn:
    """Stop this test because ``reason``; fail instead of skipping on CI when CI installs
    what is missing (not for conditions such as "not root", which CI does not install)."""
    if ci_installs_it and on_ci():
        pytest.fail(f"{reason} (CI installs it, so this is a broken install)", pytrace=False)
    pytest.skip(reason)
