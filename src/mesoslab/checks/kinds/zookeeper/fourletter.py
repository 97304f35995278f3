"""ZooKeeper checks by four-letter words (``ruok``, ``srvr``) over a raw socket: a server
is alive, is in the expected mode, and the servers form one ensemble with one leader."""

from __future__ import annotations

from typing import Any

from mesoslab.checks.kinds.zookeeper.common import (
    Probe,
    ask,
    node_names,
    probe_all,
    server_label,
    srvr,
)
from mesoslab.checks.registry import P, check
from mesoslab.checks.result import Observation
from mesoslab.lab.inventory import Node
from mesoslab.remote.session import CheckContext
from mesoslab.remote.zk4lw import (
    SERVING_MODES,
    FourLetterRefused,
    NotServing,
    refused_word,
    snippet,
)

MODE_CHOICES = ("serving", "leader", "follower", "standalone", "observer")


# --------------------------------------------------------------------------- ruok


@check("zookeeper.ruok", role="zookeeper", service="zookeeper")
def ruok(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """ZooKeeper answers ``ruok`` with ``imok``; where 3.5+ refuses ruok (whitelist), a
    serving ``srvr`` answer counts instead."""
    where = server_label(ctx, node)
    text = ask(ctx, node, "ruok")
    if text.strip() == "imok":
        return Observation.ok(
            f"ZooKeeper on {where} answers ruok with imok", expected="imok", observed="imok"
        )
    if refused_word(text) is None:
        return Observation.fail(
            f"ZooKeeper on {where} answered ruok with {snippet(text)!r} instead of imok",
            expected="imok",
            observed=snippet(text),
        )
    try:
        info = srvr(ctx, node)
    except FourLetterRefused:
        return Observation.fail(
            f"ZooKeeper on {where} refuses both ruok and srvr: add srvr (or ruok) to "
            "4lw.commands.whitelist in zoo.cfg",
            expected="imok, or a serving srvr answer",
            observed="ruok and srvr not in 4lw.commands.whitelist",
        )
    except NotServing as exc:
        return Observation.fail(
            exc.summary,
            expected="imok, or a serving srvr answer",
            observed="ruok not whitelisted; srvr: not currently serving requests",
        )
    observed = f"ruok not in whitelist; srvr Mode: {info.mode}"
    if not info.serving:
        return Observation.fail(
            f"ZooKeeper on {where} is up but in mode {info.mode!r}, not serving "
            "(ruok is not in 4lw.commands.whitelist, so srvr was used)",
            expected="imok, or a serving srvr answer",
            observed=observed,
        )
    return Observation.ok(
        f"ZooKeeper {info.short_version} on {where} is serving (mode {info.mode}); ruok is not "
        "in 4lw.commands.whitelist, so srvr was used",
        expected="imok, or a serving srvr answer",
        observed=observed,
    )


# --------------------------------------------------------------------------- mode


@check(
    "zookeeper.mode",
    service="zookeeper",
    role="zookeeper",
    params={
        "mode": P(
            str,
            default="serving",
            choices=MODE_CHOICES,
            help="the Mode srvr must show; serving = leader, follower, standalone or observer",
        )
    },
)
def mode(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """``srvr`` shows the expected Mode (leader, follower, standalone, observer, or any
    serving mode)."""
    want = params["mode"]
    expected = "leader, follower, standalone or observer" if want == "serving" else want
    where = server_label(ctx, node)
    try:
        info = srvr(ctx, node)
    except NotServing as exc:
        return Observation.fail(exc.summary, expected=expected, observed="not serving")
    except FourLetterRefused as exc:
        return Observation.fail(
            f"ZooKeeper on {where} refuses srvr: add srvr to 4lw.commands.whitelist in zoo.cfg",
            expected=expected,
            observed=exc.observed,
        )
    matches = info.serving if want == "serving" else info.mode == want
    if matches:
        return Observation.ok(
            f"ZooKeeper on {where} is {info.mode}", expected=expected, observed=info.mode
        )
    return Observation.fail(
        f"ZooKeeper on {where} is {info.mode}, expected {expected}",
        expected=expected,
        observed=info.mode,
    )


# --------------------------------------------------------------------------- ensemble


def _validate_size(params: dict[str, Any]) -> list[str]:
    size = params.get("size")
    return [] if size is None or size >= 1 else [f"size must be at least 1, got {size}"]


@check(
    "zookeeper.ensemble",
    service="zookeeper",
    role="zookeeper",
    scope="group",
    params={"size": P(int, help="number of servers in the ensemble (default: the target nodes)")},
    validate=_validate_size,
)
def ensemble(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """Every server answers ``srvr`` and serves; exactly one leader, the rest followers
    (a one-server ensemble runs standalone)."""
    size = params.get("size") or len(nodes)
    expected = "standalone" if size == 1 else f"1 leader + {size - 1} followers"
    if len(nodes) != size:
        return Observation.fail(
            f"the ensemble should have {size} server(s) but the inventory has {len(nodes)} "
            f"target node(s) ({', '.join(n.name for n in nodes)})",
            expected=f"{size} ZooKeeper nodes",
            observed=f"{len(nodes)}: {', '.join(n.name for n in nodes)}",
        )
    probes = probe_all(ctx, nodes)
    observed = ", ".join(p.label for p in probes)
    broken = [p for p in probes if p.info is None]
    if broken:
        details = "; ".join(f"{p.node.name}: {p.error.summary}" for p in broken if p.error)
        return Observation.fail(
            f"{len(broken)} of {size} ZooKeeper server(s) not serving ({node_names(broken)}): "
            + details,
            expected=expected,
            observed=observed,
        )
    by_mode: dict[str, list[Probe]] = {}
    for p in probes:
        assert p.info is not None
        by_mode.setdefault(p.info.mode, []).append(p)
    leaders = by_mode.get("leader", [])
    followers = by_mode.get("follower", [])
    observers = by_mode.get("observer", [])
    standalone = by_mode.get("standalone", [])
    odd = [p for p in probes if p.info is not None and p.info.mode not in SERVING_MODES]
    if size == 1:
        if standalone or leaders:
            only = probes[0]
            assert only.info is not None
            return Observation.ok(
                f"{only.node.name} runs ZooKeeper as a single server ({only.info.mode})",
                expected=expected,
                observed=observed,
            )
        return Observation.fail(
            f"{probes[0].node.name} is {probes[0].info.mode if probes[0].info else '?'}, "
            "expected a single standalone server",
            expected=expected,
            observed=observed,
        )
    if odd:
        return Observation.fail(
            "not serving normally: "
            + ", ".join(f"{p.node.name} is {p.info.mode}" for p in odd if p.info),
            expected=expected,
            observed=observed,
        )
    if standalone:
        return Observation.fail(
            f"{node_names(standalone)} run(s) standalone, outside the ensemble: zoo.cfg there "
            "lacks the server.N lines (and myid) of the other servers",
            expected=expected,
            observed=observed,
        )
    if len(leaders) != 1:
        problem = (
            "no server is leader"
            if not leaders
            else f"{len(leaders)} leaders ({node_names(leaders)}): the servers form separate "
            "ensembles; make the server.N lines identical on every node"
        )
        return Observation.fail(problem, expected=expected, observed=observed)
    summary = f"{leaders[0].node.name} leads"
    if followers:
        summary += f"; {node_names(followers)} follow"
    if observers:
        summary += f"; {node_names(observers)} observe"
    return Observation.ok(summary, expected=expected, observed=observed)
