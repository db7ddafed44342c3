"""Access requests as device messages: decided in the transaction that stores them, answered
once, the same answer to a resend, and the secret they carry never stored."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from linli.access import actions
from linli.access.models import AccessEvent
from linli.access.requests import terminals
from linli.core.tenancy import Actor
from linli.devices import credentials, ingest, protocol
from linli.devices.choices import Transport
from linli.devices.models import Device, DeviceMessage
from tests.access_estate import gate_with_terminal
from tests.conftest import World


@pytest.fixture
def setup(world: World, system: Actor, django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    return gate_with_terminal(world, system, django_capture_on_commit_callbacks)


def request(msg_id: str, device: str = "reader-1", ts: int | None = None, **payload: Any) -> bytes:
    return json.dumps(
        {
            "msg_id": msg_id,
            "device_id": device,
            "ts": int(time.time() * 1000) if ts is None else ts,
            "type": "access_request",
            "payload": payload,
        }
    ).encode()


def a_pass(world: World) -> str:
    """A fresh 一码通 pass of ``person_a``, who lives by the gate."""
    actions.ensure_pass(world.person_a.pk, world.a.pk)
    return actions.show_pass(world.person_a.pk, world.a.pk)


def send(device: Device, *raws: bytes) -> list[ingest.Verdict]:
    return ingest.accept(
        [ingest.Inbound(raw, Transport.MQTT, device, device.community.code) for raw in raws]
    )


def test_a_request_is_decided_logged_and_answered_with_its_secret_left_out(
    world: World, setup: dict[str, Any]
) -> None:
    reader = setup["reader"]
    text = a_pass(world)
    (verdict,) = send(reader, request("r-1", method="qr", value=text, direction="in"))
    assert (verdict.ok, verdict.reason) == (True, ingest.STORED)
    reply = verdict.reply
    assert reply is not None
    assert reply["type"] == "access_decision" and reply["device_id"] == "reader-1"
    assert reply["msg_id"] == protocol.reply_msg_id("r-1")
    payload = reply["payload"]
    assert (payload["request_msg_id"], payload["result"], payload["reason"]) == (
        "r-1",
        "allow",
        "allowed",
    )
    protocol.AccessDecisionMessage.model_validate_json(json.dumps(reply))  # as published
    event = AccessEvent.objects.get(pk=payload["event_id"])
    assert (event.msg_id, event.device_id, event.point_id, event.direction) == (
        "r-1",
        reader.pk,
        setup["gate"].pk,
        "in",
    )
    stored = DeviceMessage.objects.get(device=reader, msg_id="r-1")
    assert stored.type == "access_request" and "value" not in stored.payload
    assert text not in json.dumps(stored.payload)


def test_a_resent_request_gets_the_first_answer_and_is_decided_once(
    world: World, setup: dict[str, Any]
) -> None:
    reader = setup["reader"]
    text = a_pass(world)
    raw = request("r-1", method="qr", value=text)
    first, copy_in_batch = send(reader, raw, raw)
    (resent,) = send(reader, raw)
    assert first.reply is not None and first.reply["payload"]["result"] == "allow"
    assert copy_in_batch.reason == resent.reason == ingest.DUPLICATE
    assert copy_in_batch.reply == first.reply
    assert resent.reply is not None
    assert resent.reply["payload"] == first.reply["payload"]
    assert resent.reply["msg_id"] == first.reply["msg_id"]
    assert AccessEvent.objects.count() == 1
    # The same pass in a new request is a replay.
    (again,) = send(reader, request("r-2", method="qr", value=text))
    assert again.reply is not None
    assert (again.reply["payload"]["result"], again.reply["payload"]["reason"]) == (
        "deny",
        "replayed",
    )


def test_a_card_request_is_decided_and_its_uid_never_stored(
    world: World, system: Any, setup: dict[str, Any]
) -> None:
    reader = setup["reader"]
    actions.do_issue_credential(system, world.person_a, world.a.pk, kind="card", value="04A1B2C3")
    (verdict,) = send(reader, request("c-1", point="gate", method="card", value="04A1B2C3"))
    assert verdict.reply is not None and verdict.reply["payload"]["reason"] == "allowed"
    (unknown,) = send(reader, request("c-2", point="gate", method="card", value="FFFF0000"))
    assert unknown.reply is not None
    assert unknown.reply["payload"]["reason"] == "unknown_credential"
    assert unknown.reply["payload"]["event_id"] is not None
    for stored in DeviceMessage.objects.filter(device=reader):
        assert "04A1B2C3" not in json.dumps(stored.payload)
        assert "FFFF0000" not in json.dumps(stored.payload)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"point": "lift", "method": "card", "value": "AABB"}, "unknown_point"),
        ({"point": "nowhere", "method": "card", "value": "AABB"}, "unknown_point"),
    ],
)
def test_a_request_for_a_point_the_terminal_does_not_serve_is_denied_without_a_decision(
    setup: dict[str, Any], payload: dict[str, Any], reason: str
) -> None:
    (verdict,) = send(setup["reader"], request("p-1", **payload))
    assert verdict.ok and verdict.reply is not None
    assert verdict.reply["payload"] == {
        "request_msg_id": "p-1",
        "result": "deny",
        "reason": reason,
        "event_id": None,
    }
    assert not AccessEvent.objects.exists()


def test_a_terminal_of_several_points_must_name_one(setup: dict[str, Any]) -> None:
    setup["lift"].devices.add(setup["reader"])
    terminals.forget()
    (verdict,) = send(setup["reader"], request("p-1", method="card", value="AABB"))
    assert verdict.reply is not None and verdict.reply["payload"]["reason"] == "point_required"


def test_a_stale_request_is_not_decided(world: World, setup: dict[str, Any]) -> None:
    text = a_pass(world)
    old = int((timezone.now().timestamp() - 60) * 1000)
    (verdict,) = send(setup["reader"], request("s-1", ts=old, method="qr", value=text))
    assert verdict.reply is not None
    assert verdict.reply["payload"]["reason"] == "stale_request"
    assert not AccessEvent.objects.exists()


def test_a_malformed_request_is_refused_and_nothing_is_stored(setup: dict[str, Any]) -> None:
    (verdict,) = send(setup["reader"], request("m-1", method="iris", value="x"))
    assert (verdict.ok, verdict.reason, verdict.reply) == (False, "schema", None)
    assert not DeviceMessage.objects.exists() and not AccessEvent.objects.exists()


def test_other_messages_get_no_answer(setup: dict[str, Any]) -> None:
    raw = json.dumps(
        {
            "msg_id": "h-1",
            "device_id": "reader-1",
            "ts": int(time.time() * 1000),
            "type": "heartbeat",
        }
    ).encode()
    (verdict,) = send(setup["reader"], raw)
    (again,) = send(setup["reader"], raw)
    assert verdict.reply is None and again.reply is None


def test_over_http_the_answer_comes_in_the_verdict(world: World, setup: dict[str, Any]) -> None:
    reader = setup["reader"]
    secret = credentials.issue(reader)
    reader.save()
    client = Client(HTTP_AUTHORIZATION=f"Bearer reader-1:{secret}")
    text = a_pass(world)
    answer = client.post(
        "/device/v1/messages",
        request("h-1", method="qr", value=text),
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    (result,) = answer.json()["results"]
    assert result["reply"]["type"] == "access_decision"
    assert result["reply"]["payload"]["result"] == "allow"


def test_a_resent_request_that_was_not_decided_gets_the_same_refusal(
    setup: dict[str, Any],
) -> None:
    raw = request("p-1", point="lift", method="card", value="AABB")
    (first,) = send(setup["reader"], raw)
    (again,) = send(setup["reader"], raw)
    assert again.reason == ingest.DUPLICATE
    assert first.reply is not None and again.reply == {**first.reply, "ts": again.reply["ts"]}
    assert again.reply["payload"]["reason"] == "unknown_point"
    assert not AccessEvent.objects.exists()
