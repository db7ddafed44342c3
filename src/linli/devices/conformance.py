"""The protocol conformance check (协议一致性检查): protocol v1 exercised as a device would.

``linli device-check`` connects as one registered device (its id and secret) to a
platform's HTTP API or MQTT broker and gateway, and checks that the platform does what
``docs/device-protocol.md`` says: valid messages of every up type are stored, a repeated
``msg_id`` is stored once and acknowledged as a duplicate, malformed JSON, schema errors,
another device's id, stale timestamps and oversized messages are refused with the documented
reasons, a replayed HTTP nonce is refused, a publish on another device's topic is refused by
the broker, a command makes the round trip, and a door's ``access_request`` is answered: a
card nobody holds is refused, a resent request gets its first answer again, and a stale one
is answered without a decision. Vendors run it with their firmware's device
id and secret against a test platform to see the answers their firmware must handle.

The command round trip needs a command queued for the device: when the check runs where
the platform's database is reachable (``linli`` configured for it), it queues one through
the registry's actions and checks its result was recorded; elsewhere that check is skipped.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from linli.devices.simulator import Broker, HttpDevice, MqttDevice, now_ms

WEEK_AND_A_DAY_MS = 8 * 24 * 3600 * 1000
STALE_REQUEST_MS = 60 * 1000  # an access request this old is answered without a decision
OVERSIZED_BYTES = 70 * 1024
ACK_TIMEOUT_SECONDS = 10.0
COMMAND_TIMEOUT_SECONDS = 15.0


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One check's result: passed (``True``), failed (``False``) or skipped (``None``)."""

    name: str
    passed: bool | None
    detail: str


def _samples(device_id: str) -> dict[str, dict[str, Any]]:
    """Return one valid message of every up type, each with a fresh ``msg_id``."""
    run = secrets.token_hex(4)

    def message(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "msg_id": f"check-{run}-{kind}",
            "device_id": device_id,
            "ts": now_ms(),
            "type": kind,
            "payload": payload,
        }

    return {
        "heartbeat": message("heartbeat", {"uptime_s": 60}),
        "telemetry": message("telemetry", {"metrics": {"temperature": 21.5, "battery": 87}}),
        "event": message("event", {"event": "door_open", "severity": "info", "data": {}}),
        "state": message("state", {"config_version": 0, "config": {}, "firmware": "check"}),
        "command_result": message(
            "command_result", {"command_msg_id": f"check-{run}-none", "ok": True}
        ),
    }


def _variant(base: dict[str, Any], suffix: str, **changes: Any) -> dict[str, Any]:
    return {**base, "msg_id": f"{base['msg_id']}-{suffix}", "ts": now_ms(), **changes}


def _encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


def _refusals(device_id: str, telemetry: dict[str, Any]) -> list[tuple[str, str, bytes, str]]:
    """Return ``(check, expected reason, raw message, msg_id of its ack)`` per bad message.

    An oversized message is refused unread, so its ack names no ``msg_id``.
    """
    schema = _variant(telemetry, "schema", payload={"metrics": {"temperature": "21.5"}})
    mismatch = _variant(telemetry, "other", device_id=f"{device_id}-other"[:64])
    stale = _variant(telemetry, "stale")
    stale["ts"] = now_ms() - WEEK_AND_A_DAY_MS
    big = _variant(telemetry, "big")
    big["payload"] = {"metrics": {"t": 1.0}, "ext": {"padding": "x" * OVERSIZED_BYTES}}
    return [
        ("schema error refused", "schema", _encode(schema), schema["msg_id"]),
        ("wrong device id refused", "device_mismatch", _encode(mismatch), mismatch["msg_id"]),
        ("stale timestamp refused", "stale_timestamp", _encode(stale), stale["msg_id"]),
        ("oversized message refused", "too_large", _encode(big), ""),
    ]


# Access requests (通行请求) ------------------------------------------------------------------

# Why an unknown card may be refused: nobody holds it, or the device serves no access
# point (or several, and the request named none). Any other answer opened a door, or
# decided something a random card cannot have earned.
UNKNOWN_CARD_REASONS = frozenset({"unknown_credential", "unknown_point", "point_required"})


@dataclasses.dataclass(frozen=True)
class AccessRequests:
    """An ``access_request`` for a card nobody holds, and a copy of it a minute old."""

    fresh: dict[str, Any]
    stale: dict[str, Any]

    @classmethod
    def make(cls, device_id: str) -> AccessRequests:
        run = secrets.token_hex(6)
        fresh = {
            "msg_id": f"check-{run}-access",
            "device_id": device_id,
            "ts": now_ms(),
            "type": "access_request",
            # A random UID of 12 hex digits: no card of a real estate has it.
            "payload": {"method": "card", "value": f"C4EC{run.upper()}", "direction": "in"},
        }
        stale = _variant(fresh, "stale")
        stale["ts"] = now_ms() - STALE_REQUEST_MS
        return cls(fresh, stale)

    def outcomes(
        self,
        first: dict[str, Any] | None,
        again: dict[str, Any] | None,
        stale: dict[str, Any] | None,
    ) -> list[Outcome]:
        """Judge the ``access_decision`` payloads given to the fresh request, to its resent
        copy and to the stale one (``None``: no answer)."""
        return [
            _refused(
                "access request for an unknown card refused",
                first,
                self.fresh["msg_id"],
                UNKNOWN_CARD_REASONS,
            ),
            _same_answer(first, again),
            _refused(
                "stale access request not decided",
                stale,
                self.stale["msg_id"],
                frozenset({"stale_request"}),
                undecided=True,
            ),
        ]


def _decision_said(decision: dict[str, Any]) -> str:
    return f"{decision.get('result')} {decision.get('reason')} (event {decision.get('event_id')})"


def _refused(
    name: str,
    decision: dict[str, Any] | None,
    msg_id: str,
    reasons: frozenset[str],
    *,
    undecided: bool = False,
) -> Outcome:
    """Judge an answer that must be ``deny`` for request ``msg_id`` with one of ``reasons``
    (and, if ``undecided``, no access-log entry)."""
    if decision is None:
        return Outcome(name, False, "no access_decision")
    ok = (
        decision.get("request_msg_id") == msg_id
        and decision.get("result") == "deny"
        and decision.get("reason") in reasons
        and (decision.get("event_id") is None or not undecided)
    )
    said = _decision_said(decision)
    if ok:
        return Outcome(name, True, said)
    wanted = "deny " + " | ".join(sorted(reasons)) + (" (event None)" if undecided else "")
    return Outcome(name, False, f"got {said}, expected {wanted}")


def _same_answer(first: dict[str, Any] | None, again: dict[str, Any] | None) -> Outcome:
    name = "resent access request gets the first answer"
    if first is None or again is None:
        return Outcome(name, False, "no access_decision for " + ("it" if first else "the first"))
    keys = ("request_msg_id", "result", "reason", "event_id")
    ok = all(first.get(k) == again.get(k) for k in keys)
    said = _decision_said(again)
    return Outcome(name, ok, said if ok else f"got {said}, expected {_decision_said(first)}")


# The round trip through the platform's database, when reachable ---------------------------


class LocalPlatform:
    """The platform's database, to queue a command and read its result (same machine)."""

    def __init__(self, device_id: str) -> None:
        from linli.devices.models import Device

        self.device = Device.objects.select_related("community").get(code=device_id)

    @classmethod
    def find(cls, device_id: str) -> LocalPlatform | None:
        """Return the platform if Django is set up and the device is registered in it."""
        try:
            from django.apps import apps

            if not apps.ready:
                return None
            return cls(device_id)
        except Exception:  # no database here, or not this device: skip the round trip
            return None

    def queue(self) -> str:
        """Queue a ``reboot`` (every kind accepts it); return its ``msg_id``."""
        from linli.core.tenancy import Actor
        from linli.devices.actions import do_queue_command

        command = do_queue_command(
            Actor.system("cli:device-check"), self.device, "reboot", {"delay_seconds": 0}
        )
        return command.msg_id

    def status(self, msg_id: str) -> str:
        """Return the command's status (``""`` while the database is busy)."""
        from django.db import OperationalError

        from linli.devices.models import Command

        try:
            return str(Command.objects.values_list("status", flat=True).get(msg_id=msg_id))
        except OperationalError:
            return ""

    def wait_status(self, msg_id: str, wanted: str, timeout: float) -> str:
        """Wait until the command has status ``wanted``; return its last status."""
        until = time.monotonic() + timeout
        status = self.status(msg_id)
        while status != wanted and time.monotonic() < until:
            time.sleep(0.1)
            status = self.status(msg_id)
        return status


def _result_for(device_id: str, command: dict[str, Any]) -> dict[str, Any]:
    return {
        "msg_id": f"check-{secrets.token_hex(4)}-result",
        "device_id": device_id,
        "ts": now_ms(),
        "type": "command_result",
        "payload": {"command_msg_id": command["msg_id"], "ok": True},
    }


_NO_ROUND_TRIP = Outcome(
    "command round trip", None, "skipped: queue a command from the platform to check it"
)


# HTTP ------------------------------------------------------------------------------------


def check_http(
    base_url: str, device_id: str, secret: str, platform: LocalPlatform | None
) -> list[Outcome]:
    """Run the checks against the HTTP device API at ``base_url``."""
    client = HttpDevice(base_url, device_id, secret)
    outcomes: list[Outcome] = []

    def verdict(raw: bytes) -> tuple[int, str]:
        answer = client.post(raw)
        if answer.status != 200:
            return answer.status, str(answer.body.get("code", f"http {answer.status}"))
        return 200, str(answer.body["results"][0].get("reason", ""))

    def expect(name: str, raw: bytes, status: int, reason: str) -> None:
        try:
            got_status, got = verdict(raw)
        except (OSError, KeyError, IndexError) as exc:
            outcomes.append(Outcome(name, False, f"no answer: {exc}"))
            return
        ok = (got_status, got) == (status, reason)
        outcomes.append(Outcome(name, ok, _said(got_status, got, status, reason)))

    samples = _samples(device_id)
    for kind, message in samples.items():
        expect(f"{kind} stored", _encode(message), 200, "stored")
    duplicate = _encode(_variant(samples["telemetry"], "dup"))
    expect("new msg_id stored", duplicate, 200, "stored")
    expect("repeated msg_id acked as duplicate", duplicate, 200, "duplicate")
    expect("malformed JSON refused", b'{"msg_id": "broken', 400, "malformed_json")
    for name, reason, raw, _ack_id in _refusals(device_id, samples["telemetry"]):
        expect(name, raw, 200, reason)
    outcomes += _check_signed(client, _variant(samples["heartbeat"], "signed"))
    outcomes += _http_access(client)
    outcomes.append(_http_round_trip(client, platform) if platform else _NO_ROUND_TRIP)
    return outcomes


def _said(status: int, reason: str, want_status: int, want_reason: str) -> str:
    got = f"{status} {reason}" if status not in (0, 200) else reason
    want = f"{want_status} {want_reason}" if want_status not in (0, 200) else want_reason
    return got if got == want else f"got {got or 'nothing'}, expected {want}"


def _check_signed(client: HttpDevice, message: dict[str, Any]) -> list[Outcome]:
    body = _encode(message)
    headers = client.signed_headers(body)
    try:
        first = client.post(body, headers)
        again = client.post(body, headers)
    except OSError as exc:
        return [Outcome("signed request stored", False, f"no answer: {exc}")]
    reason = first.body.get("results", [{}])[0].get("reason", "") if first.status == 200 else ""
    first_said = reason or str(first.body.get("code", first.status))
    again_said = str(again.body.get("code", again.status))
    return [
        Outcome(
            "signed request stored",
            first.status == 200 and reason == "stored",
            _said(first.status, first_said, 200, "stored"),
        ),
        Outcome(
            "replayed nonce refused",
            again.status == 401 and again_said == "replayed",
            _said(again.status, again_said, 401, "replayed"),
        ),
    ]


def _http_access(client: HttpDevice) -> list[Outcome]:
    """Access requests over the message API: each answer is its result's ``reply``."""
    requests = AccessRequests.make(client.device_id)

    def decision(message: dict[str, Any]) -> dict[str, Any] | None:
        try:
            answer = client.send([message])
        except OSError:
            return None
        if answer.status != 200:
            return None
        results = answer.body.get("results") or [{}]
        reply = results[0].get("reply") or {}
        if reply.get("type") != "access_decision" or not isinstance(reply.get("payload"), dict):
            return None
        return dict(reply["payload"])

    first = decision(requests.fresh)
    again = decision(requests.fresh)
    return requests.outcomes(first, again, decision(requests.stale))


def _http_round_trip(client: HttpDevice, platform: LocalPlatform) -> Outcome:
    name = "command round trip"
    msg_id = platform.queue()
    try:
        answer = client.commands(wait=5)
        commands = answer.body.get("commands", []) if answer.status == 200 else []
        command = next((c for c in commands if c.get("msg_id") == msg_id), None)
        if command is None:
            return Outcome(name, False, f"command {msg_id} not delivered ({answer.status})")
        reply = client.send([_result_for(client.device_id, command)])
    except OSError as exc:
        return Outcome(name, False, f"no answer: {exc}")
    if reply.status != 200:
        return Outcome(name, False, f"result refused: {reply.body.get('code', reply.status)}")
    status = platform.wait_status(msg_id, "succeeded", 5)
    return Outcome(name, status == "succeeded", f"command {status}")


# MQTT ------------------------------------------------------------------------------------


class _Acks:
    """What a device received on its down topics, by kind (``ack``, ``command``,
    ``access_decision``)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.received: dict[str, list[dict[str, Any]]] = {}

    def on_down(self, kind: str, doc: dict[str, Any]) -> None:
        with self.cond:
            self.received.setdefault(kind, []).append(doc)
            self.cond.notify_all()

    def take(self, pick: Callable[[dict[str, Any]], bool], source: str) -> dict[str, Any] | None:
        """Wait for and remove the first message of kind ``source`` that ``pick`` accepts."""
        with self.cond:
            items = self.received.setdefault(source, [])
        until = time.monotonic() + (
            COMMAND_TIMEOUT_SECONDS if source == "command" else ACK_TIMEOUT_SECONDS
        )
        with self.cond:
            while True:
                found = next((x for x in items if pick(x)), None)
                if found is not None:
                    items.remove(found)
                    return found
                left = until - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)


def check_mqtt(
    broker_url: str, device_id: str, secret: str, community: str, platform: LocalPlatform | None
) -> list[Outcome]:
    """Run the checks against the broker at ``broker_url`` and the gateways behind it."""
    inbox = _Acks()
    client = MqttDevice(Broker.from_url(broker_url), device_id, secret, community, inbox.on_down)
    try:
        reason = client.connect()
    except OSError as exc:
        return [Outcome("connect with id and secret", False, f"no connection: {exc}")]
    if reason != 0:
        client.client.loop_stop()
        said = "no answer" if reason < 0 else f"CONNACK reason {reason}"
        return [Outcome("connect with id and secret", False, said)]
    try:
        return [
            Outcome("connect with id and secret", True, "accepted"),
            *_mqtt_checks(client, inbox, platform),
        ]
    finally:
        client.close()


def _mqtt_checks(client: MqttDevice, inbox: _Acks, platform: LocalPlatform | None) -> list[Outcome]:
    outcomes: list[Outcome] = []

    def expect(
        name: str, kind: str, raw: bytes, msg_id: str, reason: str, community: str = ""
    ) -> None:
        client.publish(kind, raw, community=community)
        ack = inbox.take(lambda a: a.get("msg_id") == msg_id, "ack")
        got = str(ack.get("reason", "")) if ack else ""
        outcomes.append(Outcome(name, got == reason, _said(0, got, 0, reason)))

    samples = _samples(client.device_id)
    for kind, message in samples.items():
        expect(f"{kind} stored", kind, _encode(message), message["msg_id"], "stored")
    duplicate = _variant(samples["telemetry"], "dup")
    raw = _encode(duplicate)
    expect("new msg_id stored", "telemetry", raw, duplicate["msg_id"], "stored")
    expect("repeated msg_id acked as duplicate", "telemetry", raw, duplicate["msg_id"], "duplicate")
    expect("malformed JSON refused", "telemetry", b'{"msg_id": "broken', "", "malformed_json")
    for name, reason, bad, ack_id in _refusals(client.device_id, samples["telemetry"]):
        expect(name, "telemetry", bad, ack_id, reason)
    elsewhere = _variant(samples["telemetry"], "elsewhere")
    client.listen(f"{client.community}-other")  # the refusal is answered on that topic
    expect(
        "another community's topic refused",
        "telemetry",
        _encode(elsewhere),
        elsewhere["msg_id"],
        "wrong_community",
        community=f"{client.community}-other",
    )
    outcomes.append(_foreign_topic(client))
    outcomes += _mqtt_access(client, inbox)
    outcomes.append(_mqtt_round_trip(client, inbox, platform) if platform else _NO_ROUND_TRIP)
    return outcomes


def _mqtt_access(client: MqttDevice, inbox: _Acks) -> list[Outcome]:
    """Access requests over MQTT: each answer comes on ``down/access_decision``."""
    requests = AccessRequests.make(client.device_id)

    def decision(message: dict[str, Any]) -> dict[str, Any] | None:
        client.publish("access_request", _encode(message))
        msg_id = message["msg_id"]
        answer = inbox.take(
            lambda d: (d.get("payload") or {}).get("request_msg_id") == msg_id, "access_decision"
        )
        payload = answer.get("payload") if answer else None
        return dict(payload) if isinstance(payload, dict) else None

    first = decision(requests.fresh)
    again = decision(requests.fresh)
    return requests.outcomes(first, again, decision(requests.stale))


def _foreign_topic(client: MqttDevice) -> Outcome:
    """Publish on another device's topic: the broker must refuse it (MQTT 5: reason 135)."""
    name = "another device's topic refused"
    other = f"{client.device_id}-other"[:64]
    forged = _variant(_samples(other)["telemetry"], "forged")
    mid = client.publish("telemetry", _encode(forged), device=other)
    reason = client.puback(mid)
    if reason is None:
        return Outcome(name, False, "no PUBACK from the broker")
    return Outcome(name, reason == 135, _said(0, f"PUBACK {reason}", 0, "PUBACK 135"))


def _mqtt_round_trip(client: MqttDevice, inbox: _Acks, platform: LocalPlatform) -> Outcome:
    name = "command round trip"
    msg_id = platform.queue()
    command = inbox.take(lambda c: c.get("msg_id") == msg_id, "command")
    if command is None:
        return Outcome(name, False, f"command {msg_id} not delivered on down/command")
    result = _result_for(client.device_id, command)
    client.publish("command_result", _encode(result))
    ack = inbox.take(lambda a: a.get("msg_id") == result["msg_id"], "ack")
    if not ack or not ack.get("ok"):
        return Outcome(name, False, f"result not stored: {ack}")
    status = platform.wait_status(msg_id, "succeeded", 5)
    return Outcome(name, status == "succeeded", f"command {status}")


# Report ----------------------------------------------------------------------------------


def report(outcomes: list[Outcome], out: IO[str]) -> bool:
    """Print the PASS/FAIL table; return whether nothing failed."""
    width = max(len(o.name) for o in outcomes)
    for o in outcomes:
        label = "SKIP" if o.passed is None else "PASS" if o.passed else "FAIL"
        print(f"{o.name:<{width}}  {label}  {o.detail}", file=out)
    failed = sum(o.passed is False for o in outcomes)
    passed = sum(o.passed is True for o in outcomes)
    skipped = len(outcomes) - failed - passed
    print(f"{passed} passed, {failed} failed, {skipped} skipped", file=out, flush=True)
    return failed == 0
