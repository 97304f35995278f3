"""Which framework gets an agent's free resources: one allocation round.

Like Mesos's hierarchical DRF allocator in the small: every active agent's resources that no
task uses and no outstanding offer holds go, whole, to one framework, the one with the
lowest dominant share (cpus or mem) that wants offers and has not refused them. A refusal
(a DECLINE's or ACCEPT's ``refuse_seconds``) holds while it lasts and the free resources
are no more than what was refused (Mesos's RefusedOfferFilter: more resources get past it).
"""

from __future__ import annotations

from mesoslab_twin.common.values import Amounts
from mesoslab_twin.mesos.master_model import Framework, Offer
from mesoslab_twin.mesos.master_state import Cluster


def _share(cluster: Cluster, framework: Framework, total: Amounts) -> float:
    used = Amounts()
    for task in framework.tasks.values():
        used = used.plus(task.resources)
    shares = [
        used.scalars.get(name, 0.0) / total.scalars[name]
        for name in ("cpus", "mem")
        if total.scalars.get(name, 0.0) > 0
    ]
    return max(shares, default=0.0)


def _worth_offering(free: Amounts) -> bool:
    return free.scalars.get("cpus", 0.0) > 0 or free.scalars.get("mem", 0.0) > 0


def allocate(cluster: Cluster, candidates: list[Framework], now: float) -> list[Offer]:
    """New offers for ``candidates`` (subscribed, active, not suppressed); ``now`` is the
    clock of the refusals' ``until``."""
    if not candidates:
        return []
    total = Amounts()
    for agent in cluster.agents.values():
        total = total.plus(agent.total)
    order = sorted(candidates, key=lambda f: (_share(cluster, f, total), f.registered_time))
    made: list[Offer] = []
    for agent in list(cluster.agents.values()):
        if not agent.active:
            continue
        free = agent.total.minus(cluster.used_on(agent.id)).minus(cluster.offered_on(agent.id))
        if not _worth_offering(free):
            continue
        for framework in order:
            refusal = framework.refused.get(agent.id)
            if refusal is not None and refusal.until > now and refusal.resources.contains(free):
                continue
            framework.refused.pop(agent.id, None)
            made.append(cluster.new_offer(framework, agent, free))
            break
    return made
