"""Device protocol v1: the envelope and payload models and the JSON Schemas made from them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from linli.devices import protocol

pytestmark = pytest.mark.db_independent

TS = 1_764_300_000_000

EXAMPLES: dict[str, dict[str, Any]] = {
    "heartbeat": {"payload": {"uptime_s": 3600}},
    "telemetry": {"payload": {"metrics": {"temperature": 21.5, "battery": 87}}},
    "event": {
        "payload": {"event": "door_forced", "severity": "critical", "data": {"door": 1}},
    },
    "state": {
        "payload": {"config_version": 3, "config": {"volume": 4}, "firmware": "2.1.0"},
    },
    "command_result": {
        "payload": {"command_msg_id": "cmd-42", "ok": False, "code": "busy", "detail": "门已开"},
    },
    "access_request": {
        "payload": {"point": "b1", "method": "card", "value": "04A1B2C3", "direction": "in"},
    },
}


def envelope(up_type: str, **changes: Any) -> dict[str, Any]:
    body = {"msg_id": "m-1", "device_id": "gate-1", "ts": TS, "type": up_type}
    body.update(EXAMPLES[up_type])
    body.update(changes)
    return body


def parse(body: Any) -> Any:
    return protocol.parse_up(json.dumps(body).encode())


@pytest.mark.parametrize("up_type", protocol.UP_TYPES)
def test_every_up_type_has_a_valid_example(up_type: str) -> None:
    message = parse(envelope(up_type))
    assert (message.type, message.msg_id, message.ts) == (up_type, "m-1", TS)


def test_a_heartbeat_may_leave_out_its_payload() -> None:
    message = parse({"msg_id": "m-1", "device_id": "gate-1", "ts": TS, "type": "heartbeat"})
    assert message.payload.uptime_s is None


def test_vendor_fields_go_in_ext() -> None:
    body = envelope("telemetry", payload={"metrics": {"t": 1}, "ext": {"acme_rssi": -70}})
    assert parse(body).payload.ext == {"acme_rssi": -70}


@pytest.mark.parametrize(
    "body",
    [
        envelope("heartbeat", colour="red"),  # unknown envelope field
        envelope("heartbeat", ext={"x": 1}),  # ext belongs in the payload
        envelope("heartbeat", payload={"uptime": 1}),  # unknown payload field
        envelope("heartbeat", ts="1764300000000"),  # ts is an integer, not a string
        envelope("heartbeat", ts=1764300000.5),  # ... nor a fraction
        envelope("heartbeat", ts=-1),
        envelope("heartbeat", msg_id=""),
        envelope("heartbeat", msg_id="a" * 65),
        envelope("heartbeat", msg_id="has space"),
        envelope("heartbeat", msg_id=42),
        envelope("heartbeat", device_id="gate/1"),
        envelope("heartbeat", type="reboot"),
        envelope("telemetry", payload={"metrics": {"t": "21.5"}}),
        envelope("telemetry", payload={"metrics": {"t": True}}),
        envelope("telemetry", payload={"metrics": {"": 1}}),
        envelope("telemetry", payload={}),
        envelope("event", payload={"event": "x", "severity": "fatal"}),
        envelope("event", payload={"severity": "info"}),
        envelope("state", payload={"config_version": -1, "config": {}}),
        envelope("state", payload={"config_version": 1, "config": []}),
        envelope("command_result", payload={"command_msg_id": "c-1", "ok": "yes"}),
        envelope("command_result", payload={"ok": True}),
    ],
)
def test_strictness(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse(body)


def test_non_finite_numbers_are_refused() -> None:
    raw = (
        b'{"msg_id":"m","device_id":"d","ts":1,"type":"telemetry","payload":{"metrics":{"t":NaN}}}'
    )
    with pytest.raises(ValidationError):
        protocol.parse_up(raw)


def test_down_messages_and_acks() -> None:
    command = protocol.CommandMessage(
        msg_id="cmd-1",
        device_id="gate-1",
        ts=TS,
        payload=protocol.CommandPayload(name="open_door", params={"door": 1}, deadline_ts=TS + 30),
    )
    assert json.loads(command.model_dump_json())["type"] == "command"
    config = protocol.ConfigMessage(
        msg_id="cfg-3",
        device_id="gate-1",
        ts=TS,
        payload=protocol.ConfigPayload(version=3, config={"volume": 4}),
    )
    assert config.type == "config"
    ack = protocol.Ack(msg_id="m-1", ok=False, reason="schema")
    assert json.loads(ack.model_dump_json()) == {"msg_id": "m-1", "ok": False, "reason": "schema"}


@pytest.mark.parametrize("name", protocol.SCHEMA_NAMES)
def test_every_schema_is_closed_json_schema(name: str) -> None:
    schema = protocol.json_schema(name)
    assert schema["$id"] == f"/device/v1/schemas/{name}.json"
    json.dumps(schema)  # serialisable
    if name == "up":
        assert schema["discriminator"]["propertyName"] == "type"
        assert set(schema["discriminator"]["mapping"]) == set(protocol.UP_TYPES)
    else:
        assert schema["additionalProperties"] is False


def test_the_schema_states_the_message_id_rule() -> None:
    schema = protocol.json_schema("telemetry")
    assert schema["properties"]["msg_id"]["pattern"] == protocol.MSG_ID_PATTERN
    assert schema["properties"]["ts"]["type"] == "integer"


def test_an_access_request_names_a_credential_kind_and_never_serialises_its_secret() -> None:
    from linli.access.choices import CredentialKind

    schema = protocol.json_schema("access_request")
    methods = schema["$defs"]["AccessRequestPayload"]["properties"]["method"]["enum"]
    assert sorted(methods) == sorted(CredentialKind.values)
    message = parse(envelope("access_request"))
    assert message.payload.value == "04A1B2C3"  # there for the decision
    stored = message.payload.model_dump_json(exclude_unset=True)
    assert "04A1B2C3" not in stored and "value" not in json.loads(stored)
    face = envelope("access_request", payload={"method": "face", "credential_id": 7, "score": 1})
    assert parse(face).payload.score == 1.0
    for bad in (
        {"method": "iris"},
        {"method": "card", "direction": "up"},
        {"method": "face", "score": 1.5},
        {"method": "card", "value": "x" * 513},
        {"method": "card", "credential_id": 0},
    ):
        with pytest.raises(ValidationError):
            parse(envelope("access_request", payload=bad))


def test_an_answer_to_a_request_is_named_after_it() -> None:
    first = protocol.reply_msg_id("gate-1:000123")
    assert first == protocol.reply_msg_id("gate-1:000123")
    assert first != protocol.reply_msg_id("gate-1:000124")
    assert len(protocol.reply_msg_id("x" * 64)) <= 64
    decision = protocol.AccessDecisionMessage(
        msg_id=first,
        device_id="gate-1",
        ts=TS,
        payload=protocol.AccessDecisionPayload(
            request_msg_id="gate-1:000123", result="allow", reason="allowed", event_id=9
        ),
    )
    assert json.loads(decision.model_dump_json())["type"] == "access_decision"
