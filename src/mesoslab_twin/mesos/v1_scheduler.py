"""The master's v1 scheduler HTTP API, ``POST /api/v1/scheduler`` (docs/scheduler-http-api.md).

SUBSCRIBE answers 200 with a ``Mesos-Stream-Id`` and keeps the connection as a RecordIO
stream of JSON events: SUBSCRIBED first, then OFFERS, RESCIND (the offer's agent went away),
UPDATE, FAILURE (an agent was removed), ERROR and a HEARTBEAT every 15 s. Every other call
answers 202 (or Mesos's 400/403 texts) and carries the stream id.
Status updates from agents carry a uuid and are sent again until acknowledged; the master's
own (reconciliation, invalid launches) carry none. A framework whose stream closes is
inactive until it subscribes again with its id, or is removed after its failover_timeout.
``tick`` (from the master's housekeeping, under its lock) delivers, re-sends, heartbeats and
allocates.
"""

from __future__ import annotations

import base64
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mesoslab_twin.common.httpd import Reply, Request, Stream, text_reply
from mesoslab_twin.common.values import Amounts, duration_seconds
from mesoslab_twin.mesos import recordio, v1_http
from mesoslab_twin.mesos import v1_json as v1
from mesoslab_twin.mesos.allocator import allocate
from mesoslab_twin.mesos.master_model import Framework, Offer, Refusal, Task, Unacked, status

if TYPE_CHECKING:
    from mesoslab_twin.mesos.master import Master

log = logging.getLogger("mesoslab_twin.master")

HEARTBEAT_INTERVAL = 15.0  # src/master/constants.hpp DEFAULT_HEARTBEAT_INTERVAL
RETRY_MIN = 10.0  # src/slave/constants.hpp STATUS_UPDATE_RETRY_INTERVAL_MIN
RETRY_MAX = 600.0  # STATUS_UPDATE_RETRY_INTERVAL_MAX (10mins)
REFUSE_SECONDS = 5.0  # include/mesos/v1/mesos.proto Filters.refuse_seconds default

CALLS = frozenset(
    {
        "UNKNOWN",
        "SUBSCRIBE",
        "TEARDOWN",
        "ACCEPT",
        "DECLINE",
        "ACCEPT_INVERSE_OFFERS",
        "DECLINE_INVERSE_OFFERS",
        "REVIVE",
        "KILL",
        "SHUTDOWN",
        "ACKNOWLEDGE",
        "ACKNOWLEDGE_OPERATION_STATUS",
        "RECONCILE",
        "RECONCILE_OPERATIONS",
        "MESSAGE",
        "REQUEST",
        "SUPPRESS",
        "UPDATE_FRAMEWORK",
    }
)
# call type -> the part it must carry (src/master/validation.cpp scheduler::call::validate)
PARTS = {
    "ACCEPT": "accept",
    "DECLINE": "decline",
    "ACCEPT_INVERSE_OFFERS": "accept_inverse_offers",
    "DECLINE_INVERSE_OFFERS": "decline_inverse_offers",
    "KILL": "kill",
    "SHUTDOWN": "shutdown",
    "ACKNOWLEDGE": "acknowledge",
    "ACKNOWLEDGE_OPERATION_STATUS": "acknowledge_operation_status",
    "RECONCILE": "reconcile",
    "RECONCILE_OPERATIONS": "reconcile_operations",
    "MESSAGE": "message",
    "REQUEST": "request",
    "UPDATE_FRAMEWORK": "update_framework",
}
# the required fields of the parts (include/mesos/v1/scheduler/scheduler.proto)
REQUIRED = {
    "framework_id": ["value"],
    "subscribe": ["framework_info", "framework_info.user", "framework_info.name"],
    "kill": ["task_id", "task_id.value"],
    "acknowledge": ["agent_id", "task_id", "uuid"],
    "shutdown": ["executor_id", "agent_id"],
    "message": ["agent_id", "executor_id", "data"],
}


@dataclass
class Subscription:
    framework_id: str
    stream_id: str
    stream: Stream
    heartbeat_at: float = field(default_factory=time.monotonic)

    def send(self, event: dict[str, Any]) -> None:
        self.stream.send(recordio.encode_json(event))


def _error(message: str) -> dict[str, Any]:
    return {"type": "ERROR", "error": {"message": message}}


def _uuid_problem(text: Any) -> str | None:
    try:
        raw = base64.b64decode(str(text), validate=True)
    except ValueError:
        return "Failed to base64 decode bytes field 'uuid'"
    return None if len(raw) == 16 else "Not a valid UUID"


class SchedulerApi:
    def __init__(self, master: Master) -> None:
        self.master = master
        self.subscriptions: dict[str, Subscription] = {}
        self.next_allocation = 0.0
        try:
            self.allocation_interval = duration_seconds(
                master.flags.get("allocation_interval", "1secs")
            )
        except ValueError:
            self.allocation_interval = 1.0

    # ------------------------------------------------------------------ HTTP

    def handle(self, request: Request, _match: Any) -> Reply:
        redirect = self.master._not_leading(request)
        if redirect is not None:
            return redirect
        call = v1_http.parse(request, CALLS, REQUIRED)
        if isinstance(call, Reply):
            return call
        problem = self._invalid(call)
        if problem is not None:
            return text_reply(f"Failed to validate scheduler::Call: {problem}", 400)
        body = call.body
        if call.type == "SUBSCRIBE":
            refused = v1_http.refuses_json(request)
            if refused is not None:
                return refused
            if "mesos-stream-id" in request.headers:
                return text_reply(
                    "Subscribe calls should not include the 'Mesos-Stream-Id' header", 400
                )
            with self.master.lock:
                return self._subscribe(body["subscribe"])
        with self.master.lock:
            framework_id = v1.unvalue(body["framework_id"])
            framework = self.master.cluster.frameworks.get(framework_id)
            if framework is None:
                return text_reply("Framework cannot be found", 400)
            subscription = self.subscriptions.get(framework_id)
            if subscription is None or not framework.connected:
                return text_reply("Framework is not subscribed", 403)
            stream_id = request.headers.get("mesos-stream-id")
            if stream_id is None:
                return text_reply(
                    "All non-subscribe calls should include the 'Mesos-Stream-Id' header", 400
                )
            if stream_id != subscription.stream_id:
                return text_reply(
                    f"The stream ID '{stream_id}' included in this request didn't match the "
                    f"stream ID currently associated with framework ID {framework_id}",
                    400,
                )
            if call.type == "UNKNOWN":
                return text_reply("", 501)
            self._call(framework, subscription, str(call.type), body, time.monotonic())
        return Reply(status=202)

    @staticmethod
    def _invalid(call: v1_http.Call) -> str | None:
        body = call.body
        if call.type is None:
            return "Expecting 'type' to be present"
        if call.type == "SUBSCRIBE":
            if "subscribe" not in body:
                return "Expecting 'subscribe' to be present"
            info_id = v1.unvalue(body["subscribe"]["framework_info"].get("id"))
            if info_id != v1.unvalue(body.get("framework_id")):
                return "'framework_id' differs from 'subscribe.framework_info.id'"
            return None
        if "framework_id" not in body:
            return "Expecting 'framework_id' to be present"
        part = PARTS.get(call.type)
        if part is not None and part not in body:
            return f"Expecting '{part}' to be present"
        if call.type == "ACKNOWLEDGE":
            return _uuid_problem(body["acknowledge"]["uuid"])
        return None

    # ------------------------------------------------------------------ SUBSCRIBE

    def _subscribe(self, subscribe: dict[str, Any]) -> Reply:
        cluster = self.master.cluster
        info = v1.framework_info_from_v1(subscribe["framework_info"])
        wanted = str(info.get("id") or "")
        stream_id = str(uuid.uuid4())
        headers = {"Mesos-Stream-Id": stream_id}
        if wanted and any(f.id == wanted for f in cluster.completed_frameworks):
            gone = Stream()
            gone.send(recordio.encode_json(_error("Framework has been removed")))
            gone.close()
            return Reply(200, gone, headers, v1_http.APPLICATION_JSON)
        now = time.monotonic()
        framework_id, again = cluster.register_framework(
            {"framework_id": wanted or None, "framework_info": info}, now
        )
        framework = cluster.frameworks[framework_id]
        old = self.subscriptions.pop(framework_id, None)
        if old is not None:
            old.send(_error("Framework failed over"))
            old.stream.close()
        stream = Stream()
        subscription = Subscription(framework_id, stream_id, stream, now)
        stream.on_close = lambda: self._closed(subscription)
        self.subscriptions[framework_id] = subscription
        role = str(framework.info.get("role", "*"))
        framework.suppressed = role in (subscribe.get("suppressed_roles") or [])
        for unacked in framework.unacked.values():
            unacked.due = now  # the agents' retries reach the new connection
        log.info(
            "%s framework %s (%s)",
            "Re-subscribed" if again else "Subscribed",
            framework_id,
            framework.name,
        )
        subscription.send(
            {
                "type": "SUBSCRIBED",
                "subscribed": {
                    "framework_id": v1.value(framework_id),
                    "heartbeat_interval_seconds": HEARTBEAT_INTERVAL,
                    "master_info": self.master.info(),
                },
            }
        )
        self._deliver(framework, subscription, now)
        self.next_allocation = 0.0
        return Reply(200, stream, headers, v1_http.APPLICATION_JSON)

    def _closed(self, subscription: Subscription) -> None:
        with self.master.lock:
            if self.subscriptions.get(subscription.framework_id) is not subscription:
                return
            del self.subscriptions[subscription.framework_id]
            framework = self.master.cluster.frameworks.get(subscription.framework_id)
            if framework is None:
                return
            framework.active = framework.connected = False
            framework.last_seen = time.monotonic()
            self.master.cluster.drop_offers(framework_id=framework.id, rescind=False)
            log.info("Framework %s (%s) disconnected", framework.id, framework.name)

    def close_all(self) -> None:
        """End every stream (the master stops or loses leadership)."""
        for subscription in list(self.subscriptions.values()):
            subscription.stream.close()

    # ------------------------------------------------------------------ the other calls

    def _call(
        self,
        framework: Framework,
        subscription: Subscription,
        kind: str,
        body: dict[str, Any],
        now: float,
    ) -> None:
        cluster = self.master.cluster
        if kind == "TEARDOWN":
            log.info("Tearing down framework %s (%s)", framework.id, framework.name)
            cluster.teardown(framework)
            self.subscriptions.pop(framework.id, None)
            subscription.stream.close()
        elif kind == "ACCEPT":
            self._accept(framework, body["accept"], now)
        elif kind == "DECLINE":
            cluster.counters["messages_decline_offers"] = (
                cluster.counters.get("messages_decline_offers", 0) + 1
            )
            decline = body["decline"]
            refuse = _refuse_seconds(decline)
            for offer_id in decline.get("offer_ids") or []:
                offer = cluster.offers.get(v1.unvalue(offer_id))
                if offer is None or offer.framework_id != framework.id:
                    continue
                del cluster.offers[offer.id]
                _refuse(framework, offer.agent_id, offer.resources, refuse, now)
        elif kind == "REVIVE":
            framework.refused.clear()
            framework.suppressed = False
            self.next_allocation = 0.0
        elif kind == "SUPPRESS":
            framework.suppressed = True
        elif kind == "KILL":
            kill = body["kill"]
            task_id = v1.unvalue(kill["task_id"])
            if task_id in framework.tasks:
                cluster.kill(framework, task_id)
            else:  # Master::kill: an unknown task is reconciled
                self._reconcile(framework, subscription, [kill])
        elif kind == "ACKNOWLEDGE":
            framework.unacked.pop(str(body["acknowledge"]["uuid"]), None)
        elif kind == "RECONCILE":
            self._reconcile(framework, subscription, body["reconcile"].get("tasks") or [])
        else:
            log.info(
                "%s call of framework %s: accepted, nothing to do in the mesoslab twin",
                kind,
                framework.id,
            )

    def _accept(self, framework: Framework, accept: dict[str, Any], now: float) -> None:
        cluster = self.master.cluster
        offered = Amounts()
        agent_id = ""
        problem = "" if accept.get("offer_ids") else "No offers specified"
        for operation in accept.get("operations") or []:  # Master::accept's metrics
            if operation.get("type") == "LAUNCH":
                tasks = (operation.get("launch") or {}).get("task_infos")
                counter = "messages_launch_tasks" if tasks else "messages_decline_offers"
                cluster.counters[counter] = cluster.counters.get(counter, 0) + 1
        for item in accept.get("offer_ids") or []:
            offer = cluster.offers.pop(v1.unvalue(item), None)
            if offer is None or offer.framework_id != framework.id:
                problem = problem or f"Offer {v1.unvalue(item)} is no longer valid"
                continue
            if agent_id and offer.agent_id != agent_id and not problem:
                problem = (
                    f"Aggregated offers must belong to one single agent. Offer {offer.id} "
                    f"uses agent {offer.agent_id} and agent {agent_id}"
                )
            agent_id = agent_id or offer.agent_id
            offered = offered.plus(offer.resources)
        for operation in accept.get("operations") or []:
            kind = str(operation.get("type", ""))
            if kind != "LAUNCH":
                log.warning("Operation %s is not supported by the mesoslab twin; ignored", kind)
                continue
            infos = []
            for info in (operation.get("launch") or {}).get("task_infos") or []:
                try:
                    infos.append(v1.task_info_from_v1(info, agent_id))
                except (ValueError, KeyError, TypeError) as exc:
                    _task_error(cluster, framework, info, agent_id, str(exc))
            offered = cluster.launch(framework, agent_id, infos, offered, invalid=problem)
        if agent_id and not problem:
            _refuse(framework, agent_id, offered, _refuse_seconds(accept), now)
        self.next_allocation = min(self.next_allocation, now + 0.1)

    def _reconcile(
        self, framework: Framework, subscription: Subscription, asked: list[dict[str, Any]]
    ) -> None:
        """Master::reconcile: the latest state of each task, from the master (no uuid)."""
        cluster = self.master.cluster
        latest = "Reconciliation: Latest task state"
        if not asked:
            for task in list(framework.tasks.values()):
                subscription.send(_update(_reconciled(task, latest)))
            return
        for item in asked:
            task_id = v1.unvalue(item.get("task_id"))
            agent_id = v1.unvalue(item.get("agent_id"))
            known = framework.tasks.get(task_id)
            if known is not None:
                subscription.send(_update(_reconciled(known, latest)))
                continue
            aware = framework.partition_aware
            if agent_id and agent_id in cluster.agents:
                state, why = ("TASK_GONE" if aware else "TASK_LOST"), "Task is unknown to the agent"
            elif agent_id and agent_id in cluster.removed_agents:
                state, why = ("TASK_UNREACHABLE" if aware else "TASK_LOST"), "Task is unreachable"
            else:
                state, why = ("TASK_UNKNOWN" if aware else "TASK_LOST"), "Task is unknown"
            answer = status(
                state,
                task_id=task_id,
                agent_id=agent_id,
                message=f"Reconciliation: {why}",
                reason="REASON_RECONCILIATION",
            )
            subscription.send(_update(v1.status(answer)))

    # ------------------------------------------------------------------ time passes

    def tick(self, now: float) -> None:
        """Deliver updates, re-send unacknowledged ones, rescind, heartbeat, allocate."""
        cluster = self.master.cluster
        for framework_id, subscription in list(self.subscriptions.items()):
            framework = cluster.frameworks.get(framework_id)
            if framework is None:  # removed (operator teardown, or a new leader's state)
                self.subscriptions.pop(framework_id, None)
                subscription.stream.close()
                continue
            framework.last_seen = now
            framework.active = framework.connected = True
            self._deliver(framework, subscription, now)
            if now - subscription.heartbeat_at >= HEARTBEAT_INTERVAL:
                subscription.heartbeat_at = now
                subscription.send({"type": "HEARTBEAT"})
        for offer in cluster.rescinded:
            holder = self.subscriptions.get(offer.framework_id)
            if holder is not None:
                holder.send({"type": "RESCIND", "rescind": {"offer_id": v1.value(offer.id)}})
        cluster.rescinded.clear()
        for agent_id in cluster.lost_agents:  # Master::removeSlave: LostSlaveMessage
            for subscription in self.subscriptions.values():
                subscription.send({"type": "FAILURE", "failure": {"agent_id": v1.value(agent_id)}})
        cluster.lost_agents.clear()
        if now < self.next_allocation:
            return
        self.next_allocation = now + self.allocation_interval
        wanting = [
            cluster.frameworks[fid]
            for fid in self.subscriptions
            if fid in cluster.frameworks and not cluster.frameworks[fid].suppressed
        ]
        made: dict[str, list[Offer]] = {}
        for offer in allocate(cluster, wanting, now):
            made.setdefault(offer.framework_id, []).append(offer)
        for framework_id, offers in made.items():
            self.subscriptions[framework_id].send(
                {"type": "OFFERS", "offers": {"offers": [self._offer(o) for o in offers]}}
            )

    def _deliver(self, framework: Framework, subscription: Subscription, now: float) -> None:
        for seq, update in list(framework.events):
            if seq <= framework.delivered:
                continue
            framework.delivered = seq
            if update.get("source", "SOURCE_MASTER") == "SOURCE_MASTER":
                subscription.send(_update(v1.status(update)))
                continue
            tag = base64.b64encode(uuid.uuid4().bytes).decode("ascii")
            framework.unacked[tag] = Unacked(
                tag, str(update.get("task_id", "")), update, now + RETRY_MIN, RETRY_MIN
            )
            subscription.send(_update(v1.status(update, tag)))
        for unacked in framework.unacked.values():
            if unacked.due <= now:
                unacked.interval = min(unacked.interval * 2, RETRY_MAX)
                unacked.due = now + unacked.interval
                subscription.send(_update(v1.status(unacked.update, unacked.uuid)))

    def _offer(self, offer: Offer) -> dict[str, Any]:
        agent = self.master.cluster.agents[offer.agent_id]
        return {
            "id": v1.value(offer.id),
            "framework_id": v1.value(offer.framework_id),
            "agent_id": v1.value(offer.agent_id),
            "hostname": offer.hostname,
            "url": {
                "scheme": "http",
                "address": {"hostname": agent.hostname, "ip": agent.ip, "port": agent.port},
                "path": "/slave(1)",
            },
            "resources": v1.resources(offer.resources),
            "attributes": v1.attributes(agent.attributes),
        }


def _update(task_status: dict[str, Any]) -> dict[str, Any]:
    return {"type": "UPDATE", "update": {"status": task_status}}


def _reconciled(task: Task, message: str) -> dict[str, Any]:
    answer = status(
        task.state,
        task_id=task.id,
        agent_id=task.agent_id,
        message=message,
        reason="REASON_RECONCILIATION",
    )
    for key in ("container_status", "healthy", "labels"):
        if key in task.last:
            answer[key] = task.last[key]
    return v1.status(answer)


def _refuse_seconds(part: dict[str, Any]) -> float:
    filters = part.get("filters") or {}
    try:
        return float(filters.get("refuse_seconds", REFUSE_SECONDS))
    except (TypeError, ValueError):
        return REFUSE_SECONDS


def _refuse(framework: Framework, agent_id: str, left: Amounts, seconds: float, now: float) -> None:
    if seconds <= 0:
        return
    before = framework.refused.get(agent_id)
    resources = left if before is None or before.until <= now else before.resources.plus(left)
    framework.refused[agent_id] = Refusal(resources, now + seconds)


def _task_error(
    cluster: Any, framework: Framework, info: dict[str, Any], agent_id: str, why: str
) -> None:
    task_id = v1.unvalue(info.get("task_id")) if isinstance(info, dict) else ""
    task = Task(task_id, task_id, framework.id, agent_id, Amounts(), {"task_id": task_id})
    cluster.update(
        framework,
        task,
        status(
            "TASK_ERROR",
            task_id=task_id,
            agent_id=agent_id,
            message=f"Invalid TaskInfo: {why}",
            reason="REASON_TASK_INVALID",
        ),
    )
    framework.completed.append(task)
