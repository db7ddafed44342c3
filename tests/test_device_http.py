"""HTTP device API: authentication (token, signature, replay), limits, verdicts, commands."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from linli.devices import credentials, http, ingest
from linli.devices.choices import CommandStatus
from linli.devices.models import Command, Device, DeviceMessage, DeviceNonce
from tests.conftest import World

URL = "/device/v1/messages"


def now_ms() -> int:
    return int(time.time() * 1000)


def message(msg_id: str = "m-1", device: str = "gate-1", **fields: Any) -> dict[str, Any]:
    body = {"msg_id": msg_id, "device_id": device, "ts": now_ms(), "type": "heartbeat"}
    body.update(fields)
    return body


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    ingest.limiter.reset()
    yield
    ingest.limiter.reset()


@pytest.fixture
def device(world: World) -> tuple[Device, str]:
    d = Device(
        community=world.a, code="gate-1", name="南门人脸机", kind="face_terminal", serial="S1"
    )
    secret = credentials.issue(d)
    d.save()
    return d, secret


def bearer(device: tuple[Device, str]) -> Client:
    d, secret = device
    return Client(HTTP_AUTHORIZATION=f"Bearer {d.code}:{secret}")


def post(client: Client, body: Any, **headers: Any) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(URL, data=data, content_type="application/json", **headers)


def signed_headers(
    device: tuple[Device, str], body: bytes, *, ts: int | None = None, nonce: str | None = None
) -> dict[str, str]:
    d, secret = device
    timestamp = str(ts if ts is not None else int(time.time()))
    nonce = nonce or secrets.token_hex(8)
    sig = credentials.signature(credentials.signing_key(secret), timestamp, nonce, body)
    return {
        "HTTP_X_LINLI_DEVICE": d.code,
        "HTTP_X_LINLI_TIMESTAMP": timestamp,
        "HTTP_X_LINLI_NONCE": nonce,
        "HTTP_X_LINLI_SIGNATURE": sig,
    }


def test_a_token_authenticated_message_is_stored(device: tuple[Device, str]) -> None:
    response = post(bearer(device), message())
    assert response.status_code == 200
    assert response.json()["results"] == [{"msg_id": "m-1", "ok": True, "reason": "stored"}]
    assert DeviceMessage.objects.get().transport == "http"


def test_a_batch_answers_each_message_and_stores_duplicates_once(
    device: tuple[Device, str],
) -> None:
    client = bearer(device)
    body = [message("m-1"), message("m-2"), message("m-1"), {"msg_id": "m-3"}]
    answer = post(client, body).json()
    assert [(r["msg_id"], r["ok"], r["reason"]) for r in answer["results"]] == [
        ("m-1", True, "stored"),
        ("m-2", True, "stored"),
        ("m-1", True, "duplicate"),
        ("m-3", False, "schema"),
    ]
    assert answer["stored"] == 2
    again = post(client, [message("m-1")]).json()
    assert again["results"][0]["reason"] == "duplicate"
    assert DeviceMessage.objects.count() == 2


def test_device_id_must_be_the_authenticated_device(
    device: tuple[Device, str], world: World
) -> None:
    Device.objects.create(
        community=world.a, code="gate-2", name="北门", kind="face_terminal", serial="S2"
    )
    answer = post(bearer(device), message(device="gate-2")).json()
    assert answer["results"][0]["reason"] == "device_mismatch"
    assert not DeviceMessage.objects.exists()


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        ("", "not_authenticated"),
        ("Bearer gate-1:wrong", "bad_credentials"),
        ("Bearer ghost-9:whatever", "bad_credentials"),
        ("Bearer gate-1", "bad_credentials"),
    ],
)
def test_bad_credentials_are_refused(
    device: tuple[Device, str], authorization: str, code: str
) -> None:
    client = Client(HTTP_AUTHORIZATION=authorization) if authorization else Client()
    response = post(client, message())
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert response.json()["message"]
    assert not DeviceMessage.objects.exists()


def test_a_disabled_device_is_refused(device: tuple[Device, str]) -> None:
    Device.objects.filter(pk=device[0].pk).update(enabled=False)
    response = post(bearer(device), message())
    assert (response.status_code, response.json()["code"]) == (401, "disabled")


def test_a_signed_request_is_accepted_once(device: tuple[Device, str]) -> None:
    body = json.dumps(message()).encode()
    headers = signed_headers(device, body)
    first = post(Client(), body, **headers)
    assert first.status_code == 200
    assert first.json()["results"][0]["reason"] == "stored"
    replay = post(Client(), body, **headers)
    assert (replay.status_code, replay.json()["code"]) == (401, "replayed")


def test_old_nonces_are_forgotten(device: tuple[Device, str], monkeypatch: Any) -> None:
    old = DeviceNonce.objects.create(
        device=device[0], nonce="n-old-000", seen_at=timezone.now() - dt.timedelta(minutes=11)
    )
    recent = DeviceNonce.objects.create(
        device=device[0], nonce="n-new-000", seen_at=timezone.now() - dt.timedelta(minutes=9)
    )
    monkeypatch.setattr(http, "_purged_at", [0.0])
    body = json.dumps(message()).encode()
    assert post(Client(), body, **signed_headers(device, body)).status_code == 200
    left = set(DeviceNonce.objects.values_list("pk", flat=True))
    assert old.pk not in left and recent.pk in left


def test_a_bad_signature_is_refused(device: tuple[Device, str]) -> None:
    body = json.dumps(message()).encode()
    headers = signed_headers(device, body)
    tampered = json.dumps(message(msg_id="m-2")).encode()
    response = post(Client(), tampered, **headers)
    assert (response.status_code, response.json()["code"]) == (401, "bad_signature")
    # The failed attempt did not use up the nonce: the genuine request still goes through.
    assert post(Client(), body, **headers).status_code == 200


@pytest.mark.parametrize("skew", [-400, 400])
def test_a_stale_signed_request_is_refused(device: tuple[Device, str], skew: int) -> None:
    body = json.dumps(message()).encode()
    response = post(Client(), body, **signed_headers(device, body, ts=int(time.time()) + skew))
    assert (response.status_code, response.json()["code"]) == (401, "stale_timestamp")


def test_malformed_and_oversize_bodies(device: tuple[Device, str]) -> None:
    client = bearer(device)
    bad = post(client, b"{nope")
    assert (bad.status_code, bad.json()["code"]) == (400, "malformed_json")
    huge = post(client, b"[" + b" " * (1024 * 1024) + b"]")
    assert (huge.status_code, huge.json()["code"]) == (413, "too_large")
    many = post(client, [message(f"m-{i}") for i in range(101)])
    assert (many.status_code, many.json()["code"]) == (413, "too_large")
    one_big = post(client, message(payload={"uptime_s": 1, "ext": {"x": "y" * 70_000}}))
    assert one_big.json()["results"][0]["reason"] == "too_large"
    assert not DeviceMessage.objects.exists()


def test_a_device_over_its_rate_gets_429(device: tuple[Device, str], settings: Any) -> None:
    settings.LINLI_DEVICE_RATE_PER_SECOND = 1
    settings.LINLI_DEVICE_RATE_BURST = 5
    client = bearer(device)
    assert post(client, [message(f"m-{i}") for i in range(4)]).status_code == 200
    limited = post(client, [message(f"n-{i}") for i in range(4)])
    assert (limited.status_code, limited.json()["code"]) == (429, "rate_limited")
    assert DeviceMessage.objects.count() == 4


def test_commands_are_handed_out_once_and_answered(device: tuple[Device, str]) -> None:
    d, _secret = device
    Command.objects.create(
        community=d.community, device=d, msg_id="c-1", name="open_door", params={"door": 1}
    )
    client = bearer(device)
    answer = client.get("/device/v1/commands").json()
    (command,) = answer["commands"]
    assert (command["msg_id"], command["type"], command["payload"]["name"]) == (
        "c-1",
        "command",
        "open_door",
    )
    assert command["payload"]["params"] == {"door": 1}
    assert command["payload"]["deadline_ts"] > command["ts"]
    stored = Command.objects.get(msg_id="c-1")
    assert (stored.status, stored.attempts) == (CommandStatus.SENT, 1)
    assert stored.history[-1]["status"] == "sent"
    assert client.get("/device/v1/commands").json()["commands"] == []
    result = message("r-1", type="command_result", payload={"command_msg_id": "c-1", "ok": True})
    assert post(client, result).json()["results"][0]["reason"] == "stored"
    answered = Command.objects.get(msg_id="c-1")
    assert answered.status == CommandStatus.SUCCEEDED
    assert [h["status"] for h in answered.history][-2:] == ["sent", "succeeded"]


def test_commands_need_authentication(device: tuple[Device, str]) -> None:
    response = Client().get("/device/v1/commands")
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")


def test_schemas_are_served(client: Client) -> None:
    index = client.get("/device/v1/schemas/").json()
    assert index["version"] == "v1"
    assert set(index["schemas"]) >= {"up", "telemetry", "command", "config", "ack"}
    telemetry = client.get(index["schemas"]["telemetry"])
    assert telemetry["Content-Type"] == "application/schema+json"
    schema = telemetry.json()
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"msg_id", "device_id", "ts", "type", "payload"}
    assert client.get("/device/v1/schemas/nothing.json").status_code == 404


def test_long_polls_beyond_the_cap_answer_at_once_with_retry_after(
    device: tuple[Device, str], settings: Any
) -> None:
    from linli.devices import http as device_http

    settings.LINLI_DEVICE_MAX_WAITERS = 1
    assert device_http.waiters.acquire()  # another device is waiting
    try:
        started = time.monotonic()
        answer = bearer(device).get("/device/v1/commands?wait=20")
        assert time.monotonic() - started < 2
        assert answer.status_code == 200 and answer.json() == {"commands": []}
        assert answer["Retry-After"] == "5"
    finally:
        device_http.waiters.release()
    started = time.monotonic()
    answer = bearer(device).get("/device/v1/commands?wait=1")  # a place is free: it waits
    assert time.monotonic() - started >= 0.9
    assert "Retry-After" not in answer
    assert device_http.waiters.count == 0


@pytest.mark.django_db(transaction=True)
def test_a_long_poll_in_another_thread_holds_the_only_place(
    device: tuple[Device, str], settings: Any
) -> None:
    import threading

    from django.db import connection

    from linli.core.tenancy import Actor
    from linli.devices.actions import do_queue_command

    settings.LINLI_DEVICE_MAX_WAITERS = 1
    answers: list[Any] = []

    def poll() -> None:
        try:
            answers.append(bearer(device).get("/device/v1/commands?wait=10"))
        finally:
            connection.close()

    waiting = threading.Thread(target=poll)
    waiting.start()
    until = time.monotonic() + 5
    while http.waiters.count == 0 and time.monotonic() < until:
        time.sleep(0.02)
    assert http.waiters.count == 1
    started = time.monotonic()
    refused = bearer(device).get("/device/v1/commands?wait=20")
    assert time.monotonic() - started < 2
    assert refused.json() == {"commands": []} and refused["Retry-After"] == "5"
    do_queue_command(Actor.system("test"), device[0], "reboot")  # the waiting poll gets it
    waiting.join(10)
    assert not waiting.is_alive()
    assert [c["payload"]["name"] for c in answers[0].json()["commands"]] == ["reboot"]
    assert "Retry-After" not in answers[0]
    assert http.waiters.count == 0
