"""Device message ingest: validate, store once, mark seen, apply, count refusals."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linli.devices import ingest
from linli.devices.choices import CommandStatus, DeviceStatus, Transport
from linli.devices.events import DeviceCommandFinished, DeviceEventReceived, DeviceOnline
from linli.devices.ingest import Inbound, accept
from linli.devices.models import (
    Command,
    Device,
    DeviceMessage,
    Rejection,
    StatusChange,
)
from tests.conftest import World

Message = dict[str, Any]


def now_ms() -> int:
    return int(time.time() * 1000)


def message(device: str = "gate-1", msg_id: str = "m-1", **fields: Any) -> Message:
    body: Message = {
        "msg_id": msg_id,
        "device_id": device,
        "ts": now_ms(),
        "type": "heartbeat",
        "payload": {},
    }
    body.update(fields)
    return body


def raw(body: Any) -> bytes:
    return json.dumps(body).encode()


@pytest.fixture(autouse=True)
def _fresh_buckets() -> Iterator[None]:
    ingest.limiter.reset()
    yield
    ingest.limiter.reset()


@pytest.fixture
def device(world: World) -> Device:
    return Device.objects.create(
        community=world.a, code="gate-1", name="南门人脸机", kind="face_terminal", serial="S1"
    )


@pytest.fixture
def send(device: Device) -> Callable[..., list[ingest.Verdict]]:
    def do(*bodies: Any, via: Device | None = device, **kw: Any) -> list[ingest.Verdict]:
        items = [
            Inbound(b if isinstance(b, bytes) else raw(b), Transport.HTTP, via, **kw)
            for b in bodies
        ]
        return accept(items)

    return do


def test_sql_statements_name_the_model_tables() -> None:
    assert DeviceMessage._meta.db_table == "devices_devicemessage"
    assert Rejection._meta.db_table == "devices_rejection"
    for name in ("community", "device"):
        assert DeviceMessage._meta.get_field(name).column == f"{name}_id"


def test_a_message_is_stored_once(send: Callable[..., list[ingest.Verdict]]) -> None:
    first = send(message())
    again = send(message())
    assert [(v.ok, v.msg_id, v.reason) for v in first] == [(True, "m-1", "stored")]
    assert [(v.ok, v.reason) for v in again] == [(True, "duplicate")]
    assert DeviceMessage.objects.count() == 1


def test_duplicates_within_one_batch_are_stored_once(
    send: Callable[..., list[ingest.Verdict]],
) -> None:
    verdicts = send(message(), message(msg_id="m-2"), message())
    assert [v.reason for v in verdicts] == ["stored", "stored", "duplicate"]
    assert all(v.ok for v in verdicts)
    assert sorted(DeviceMessage.objects.values_list("msg_id", flat=True)) == ["m-1", "m-2"]


def test_the_stored_row_keeps_what_the_device_sent(
    send: Callable[..., list[ingest.Verdict]], device: Device
) -> None:
    ts = now_ms() - 5000
    body = message(
        ts=ts, type="telemetry", payload={"metrics": {"temp": 21.5, "battery": 90}, "ext": {"v": 1}}
    )
    send(body)
    row = DeviceMessage.objects.get()
    assert (row.device_id, row.community_id, row.type, row.transport) == (
        device.pk,
        device.community_id,
        "telemetry",
        "http",
    )
    assert int(row.ts.timestamp() * 1000) == ts
    assert row.payload == {"metrics": {"temp": 21.5, "battery": 90.0}, "ext": {"v": 1}}
    assert row.received_at >= row.ts


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "malformed_json"),
        (b"", "malformed_json"),
        (b"[1, 2]", "schema"),
        (raw(message(type="nonsense")), "schema"),
        (raw(message(msg_id="bad id with spaces")), "schema"),
        (raw(message(ts="1764300000000")), "schema"),
        (raw(message(ts=1.5)), "schema"),
        (raw(message(color="red")), "schema"),
        (raw(message(type="telemetry", payload={"metrics": {"t": "hot"}})), "schema"),
        (raw(message(type="telemetry", payload={"metrics": {"t": True}})), "schema"),
        (raw(message(type="event", payload={"event": "x", "severity": "huge"})), "schema"),
        (raw(message(type="event", payload={"event": "x", "data": {"s": "a\u0000b"}})), "schema"),
        (raw(message(payload={"note": "x" * 70_000})), "too_large"),
        (raw(message(device="gate-2")), "device_mismatch"),
        (raw(message(ts=now_ms() - 8 * 86_400_000)), "stale_timestamp"),
        (raw(message(ts=now_ms() + 600_000)), "stale_timestamp"),
    ],
)
def test_bad_messages_are_refused_and_counted(
    send: Callable[..., list[ingest.Verdict]], body: bytes, reason: str
) -> None:
    (verdict,) = send(body)
    assert (verdict.ok, verdict.reason) == (False, reason)
    assert verdict.detail
    assert not DeviceMessage.objects.exists()
    counter = Rejection.objects.get(reason=reason)
    assert (counter.sender, counter.count) == ("gate-1", 1)


def test_a_refused_message_keeps_its_readable_id(
    send: Callable[..., list[ingest.Verdict]],
) -> None:
    (verdict,) = send(message(msg_id="m-9", type="nonsense"))
    assert (verdict.msg_id, verdict.reason) == ("m-9", "schema")


def test_refusals_add_up_per_sender_and_reason(send: Callable[..., list[ingest.Verdict]]) -> None:
    send(b"x", b"y", message())
    send(b"z")
    counter = Rejection.objects.get(reason="malformed_json")
    assert counter.count == 3
    assert counter.device is not None


def test_unauthenticated_and_disabled_devices_are_refused(
    send: Callable[..., list[ingest.Verdict]], device: Device
) -> None:
    (unknown,) = send(message(device="ghost-9"), via=None)
    assert (unknown.ok, unknown.reason) == (False, "unknown_device")
    assert Rejection.objects.get(reason="unknown_device").sender == "ghost-9"
    Device.objects.filter(pk=device.pk).update(enabled=False)
    device.refresh_from_db()
    (disabled,) = send(message(), via=device)
    assert (disabled.ok, disabled.reason) == (False, "disabled")
    assert not DeviceMessage.objects.exists()


def test_mqtt_messages_must_come_from_the_devices_community(device: Device, world: World) -> None:
    ok, wrong = accept(
        [
            Inbound(raw(message()), Transport.MQTT, device, topic_community=world.a.code),
            Inbound(raw(message(msg_id="m-2")), Transport.MQTT, device, topic_community="b"),
        ]
    )
    assert (ok.reason, wrong.reason) == ("stored", "wrong_community")
    assert DeviceMessage.objects.get().transport == "mqtt"


def test_a_device_sending_too_fast_is_limited(
    send: Callable[..., list[ingest.Verdict]], settings: Any
) -> None:
    settings.LINLI_DEVICE_RATE_PER_SECOND = 1
    settings.LINLI_DEVICE_RATE_BURST = 3
    verdicts = send(*(message(msg_id=f"m-{i}") for i in range(5)))
    assert [v.reason for v in verdicts] == ["stored"] * 3 + ["rate_limited"] * 2
    assert Rejection.objects.get(reason="rate_limited").count == 2


def test_first_message_brings_the_device_online_once(
    send: Callable[..., list[ingest.Verdict]],
    device: Device,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        send(message(), message(msg_id="m-2"))
    stored = Device.objects.get(pk=device.pk)
    assert stored.status == DeviceStatus.ONLINE and stored.last_seen_at is not None
    assert list(StatusChange.objects.values_list("device_id", "status")) == [(device.pk, "online")]
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        send(message(msg_id="m-3"))
    assert StatusChange.objects.count() == 1 and not callbacks


def test_coming_back_from_offline_is_recorded(
    send: Callable[..., list[ingest.Verdict]],
    device: Device,
    django_capture_on_commit_callbacks: Any,
) -> None:
    Device.objects.filter(pk=device.pk).update(status=DeviceStatus.OFFLINE)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send(message())
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.ONLINE
    assert StatusChange.objects.get().status == DeviceStatus.ONLINE
    assert [e.device_id for e in _published(callbacks, DeviceOnline)] == [device.pk]


def test_state_sets_the_reported_configuration(
    send: Callable[..., list[ingest.Verdict]], device: Device
) -> None:
    send(
        message(
            type="state",
            payload={"config_version": 4, "config": {"volume": 3}, "firmware": "2.1.0"},
        )
    )
    stored = Device.objects.get(pk=device.pk)
    assert (stored.reported_version, stored.reported_config, stored.firmware) == (
        4,
        {"volume": 3},
        "2.1.0",
    )


def test_a_duplicate_state_is_not_applied_again(
    send: Callable[..., list[ingest.Verdict]], device: Device
) -> None:
    body = message(type="state", payload={"config_version": 4, "config": {"volume": 3}})
    send(body)
    Device.objects.filter(pk=device.pk).update(reported_version=5)
    send(body)
    assert Device.objects.get(pk=device.pk).reported_version == 5


def test_command_results_finish_the_devices_command(
    send: Callable[..., list[ingest.Verdict]],
    device: Device,
    world: World,
    django_capture_on_commit_callbacks: Any,
) -> None:
    other = Device.objects.create(
        community=world.a, code="gate-2", name="北门", kind="face_terminal", serial="S2"
    )
    mine = Command.objects.create(
        community=world.a, device=device, msg_id="c-1", name="open_door", status="sent"
    )
    theirs = Command.objects.create(
        community=world.a, device=other, msg_id="c-2", name="open_door", status="sent"
    )
    failing = Command.objects.create(
        community=world.a, device=device, msg_id="c-3", name="reboot", status="sent"
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send(
            message(
                msg_id="r-1", type="command_result", payload={"command_msg_id": "c-1", "ok": True}
            ),
            message(
                msg_id="r-2", type="command_result", payload={"command_msg_id": "c-2", "ok": True}
            ),
            message(
                msg_id="r-3",
                type="command_result",
                payload={"command_msg_id": "c-3", "ok": False, "code": "busy", "detail": "忙"},
            ),
        )
    mine.refresh_from_db()
    theirs.refresh_from_db()
    failing.refresh_from_db()
    assert (mine.status, mine.result["ok"], mine.finished_at is not None) == (
        CommandStatus.SUCCEEDED,
        True,
        True,
    )
    assert mine.history[-1]["status"] == "succeeded"
    assert theirs.status == CommandStatus.SENT  # another device cannot answer for it
    assert (failing.status, failing.result["code"], failing.result["detail"]) == (
        CommandStatus.FAILED,
        "busy",
        "忙",
    )
    finished = _published(callbacks, DeviceCommandFinished)
    assert sorted((e.command_msg_id, e.succeeded) for e in finished) == [
        ("c-1", True),
        ("c-3", False),
    ]


def _published(callbacks: list[Callable[[], None]], kind: type) -> list[Any]:
    """Run the captured on-commit callbacks with a recorder subscribed to ``kind``."""
    from linli.core import events

    seen: list[Any] = []
    events._handlers[kind].append(seen.append)
    try:
        for callback in callbacks:
            callback()
    finally:
        events._handlers[kind].remove(seen.append)
    return seen


def test_events_are_published_for_alarms_after_commit(
    send: Callable[..., list[ingest.Verdict]],
    device: Device,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send(
            message(
                type="event",
                payload={"event": "door_forced", "severity": "critical", "data": {"door": 1}},
            )
        )
    (evt,) = _published(callbacks, DeviceEventReceived)
    assert (evt.device_id, evt.community_id, evt.event, evt.severity, evt.data) == (
        device.pk,
        device.community_id,
        "door_forced",
        "critical",
        {"door": 1},
    )
    assert evt.device_kind == "face_terminal"


@pytest.mark.django_db(transaction=True)
def test_verdicts_come_only_after_commit(world: World) -> None:
    device = Device.objects.create(
        community=world.a, code="gate-1", name="南门", kind="face_terminal", serial="S1"
    )
    assert not connection.in_atomic_block
    (verdict,) = accept([Inbound(raw(message()), Transport.HTTP, device)])
    assert verdict.reason == "stored"
    # Committed: another connection's view is the same as ours once accept returned.
    assert not connection.in_atomic_block
    assert DeviceMessage.objects.filter(msg_id="m-1").exists()


@pytest.mark.django_db(transaction=True)
def test_a_database_error_propagates_and_stores_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = Device.objects.create(
        community=world.a, code="gate-1", name="南门", kind="face_terminal", serial="S1"
    )

    def broken(*args: Any) -> None:
        raise RuntimeError("handler failed")

    monkeypatch.setitem(ingest.handlers._by_type, "heartbeat", [broken])
    with pytest.raises(RuntimeError):
        accept([Inbound(raw(message()), Transport.HTTP, device)])
    assert not DeviceMessage.objects.exists()
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.UNKNOWN


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "msg_id": st.text(max_size=70) | json_values,
        "device_id": st.just("gate-1") | st.text(max_size=10) | json_values,
        "ts": st.integers() | json_values,
        "type": st.sampled_from(["heartbeat", "telemetry", "event", "state", "command_result"])
        | json_values,
        "payload": json_values,
        "ext": json_values,
    },
)


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.binary(max_size=200)
    | envelopes.map(lambda d: json.dumps(d).encode())
    | json_values.map(lambda d: json.dumps(d).encode())
)
def test_random_input_is_refused_not_raised(device: Device, body: bytes) -> None:
    (verdict,) = accept([Inbound(body, Transport.HTTP, device)])
    assert verdict.reason in {"stored", "duplicate"} or not verdict.ok
    assert verdict.reason in {
        "stored",
        "duplicate",
        "malformed_json",
        "schema",
        "too_large",
        "stale_timestamp",
        "rate_limited",
    }


def test_an_older_state_arriving_late_does_not_roll_the_reported_config_back(
    send: Callable[..., list[ingest.Verdict]], device: Device
) -> None:
    now = now_ms()

    def state(msg_id: str, ts: int, version: int) -> Message:
        return message(
            msg_id=msg_id,
            type="state",
            ts=ts,
            payload={"config_version": version, "config": {"volume": version}},
        )

    send(state("s-new", now, 7))
    send(state("s-old", now - 60_000, 6))  # the device's backlog, delivered after
    stored = Device.objects.get(pk=device.pk)
    assert (stored.reported_version, stored.reported_config) == (7, {"volume": 7})
    # In one batch, applied in order: the later one wins whatever its position.
    send(state("s-a", now + 2_000, 9), state("s-b", now + 1_000, 8))
    stored.refresh_from_db()
    assert stored.reported_version == 9
    send(state("s-c", now + 3_000, 10))
    stored.refresh_from_db()
    assert stored.reported_version == 10 and stored.reported_at is not None
