"""Joining and leaving a class, and what `class status` shows, for the learner."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from mesoslab.errors import ClassroomError
from mesoslab.ops.classroom.events import NAME_RE, now_iso
from mesoslab.ops.classroom.membership import (
    Membership,
    load_membership,
    remove_membership,
    require_membership,
    save_membership,
)
from mesoslab.ops.classroom.outbox import Outbox, OutboxStats, remove_outbox
from mesoslab.ops.classroom.sender import Delivery, Sender, lock_holder, server_error, tls_verify

JOIN_TIMEOUT = 10.0
LEAVE_FLUSH = 10.0  # seconds `class leave` spends sending what is still queued


def normalize_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClassroomError(
            f"{url!r} is not the class address",
            hint="copy it from the join line, e.g. http://192.168.1.20:8765",
        )
    return f"{parts.scheme}://{parts.netloc}"


def join_class(url: str, code: str, name: str, *, share_output: bool = False) -> Membership:
    """Register with the class at ``url``; the membership saved (token 0600)."""
    if not NAME_RE.match(name):
        raise ClassroomError(
            f"{name!r} cannot be a name in class",
            hint="use letters, digits, spaces, dots, dashes or underscores (at most 40)",
        )
    base = normalize_url(url)
    old = load_membership()
    if old is not None:
        raise ClassroomError(
            f"you are in the class at {old.url} as {old.name} already",
            hint="`mesoslab class leave` first",
        )
    try:
        response = httpx.post(
            f"{base}/api/join",
            json={"code": code, "name": name},
            timeout=JOIN_TIMEOUT,
            verify=tls_verify(),
        )
    except httpx.HTTPError as exc:
        hint = "check the address and that you are on the classroom network"
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            hint = "the class's certificate is not trusted: set MESOSLAB_CLASS_CA=FILE (its CA)"
        raise ClassroomError(f"cannot reach the class at {base}: {exc}", hint=hint) from None
    if response.status_code != 200:
        raise ClassroomError(f"the class refused to let you join: {server_error(response)}")
    try:
        answer = response.json()
        member = Membership(
            base,
            str(answer["class"]),
            str(answer["name"]),
            str(answer["token"]),
            share_output,
            now_iso(),
        )
    except (ValueError, KeyError, TypeError):
        raise ClassroomError(f"{base} does not answer like `mesoslab class serve`") from None
    remove_outbox()  # events of an earlier class are not this class's business
    save_membership(member)
    return member


@dataclass(frozen=True)
class Left:
    member: Membership
    flushed: Delivery
    told_server: bool
    unsent: int


def leave_class() -> Left:
    """Send what is queued (briefly), tell the server, forget the token and the outbox."""
    member = require_membership()
    with Outbox() as box:
        sender = Sender(member, box, timeout=3.0, max_backoff=2.0)
        try:
            flushed = sender.drain(deadline=time.monotonic() + LEAVE_FLUSH)
            unsent = box.stats().queued
            try:
                response = sender.client.post(
                    f"{member.url}/api/leave",
                    headers={"Authorization": f"Bearer {member.token}"},
                )
                told = response.status_code in (200, 401)
            except httpx.HTTPError:
                told = False
        finally:
            sender.close()
    remove_membership()
    remove_outbox()
    return Left(member, flushed, told, unsent)


@dataclass(frozen=True)
class ClassStatus:
    member: Membership
    outbox: OutboxStats
    sender_pid: int | None


def class_status() -> ClassStatus:
    member = require_membership()
    with Outbox() as box:
        stats = box.stats()
    return ClassStatus(member, stats, lock_holder())
