"""The devices API: registry, one-time secrets, messages, telemetry, commands."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from linli.core.tenancy import Actor
from linli.devices import credentials
from linli.devices.choices import Transport, UpType
from linli.devices.models import Command, Device, DeviceMessage
from tests.conftest import World
from tests.tenancy_devices import make_device


def _json(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return json.loads(response.content)


def _send(c: Client, method: str, url: str, data: object) -> Any:
    return getattr(c, method)(url, data=json.dumps(data), content_type="application/json")


def _message(device: Device, msg_id: str, type: str, payload: dict[str, Any], ago: int) -> None:
    at = timezone.now() - dt.timedelta(minutes=ago)
    DeviceMessage.objects.create(
        community_id=device.community_id,
        device=device,
        msg_id=msg_id,
        type=type,
        ts=at,
        received_at=at,
        transport=Transport.MQTT,
        payload=payload,
    )


def test_register_shows_the_secret_once_and_never_again(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    c = token_client(world.manager_a)
    body = {
        "kind": "face_terminal",
        "code": "face-01",
        "name": "东门人脸机",
        "serial": "HK-001",
        "vendor": "海康",
        "tags": ["门禁"],
        "heartbeat_seconds": 30,
    }
    created = _json(_send(c, "post", f"/api/v1/communities/{world.a.pk}/devices", body), 201)
    secret = created["secret"]
    device = Device.objects.get(code="face-01")
    assert credentials.check_token(device, secret)
    assert created["device"]["credential_version"] == 1
    again = c.get(f"/api/v1/devices/{device.pk}").content.decode()
    listed = c.get("/api/v1/devices").content.decode()
    for text in (again, listed, json.dumps(created["device"])):
        assert secret not in text
        assert "secret_hash" not in text
        assert "signing_key" not in text
        assert device.secret_hash not in text
    duplicate = _send(c, "post", f"/api/v1/communities/{world.a.pk}/devices", body)
    assert _json(duplicate, 409)["code"] == "duplicate_device_code"


def test_rotate_returns_a_new_secret_and_the_old_stops(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    device = make_device(Actor.system("t"), world.a)
    c = token_client(world.manager_a)
    first = _json(c.post(f"/api/v1/devices/{device.pk}/rotate-credentials"))
    second = _json(c.post(f"/api/v1/devices/{device.pk}/rotate-credentials"))
    device.refresh_from_db()
    assert second["device"]["credential_version"] == 3
    assert credentials.check_token(device, second["secret"])
    assert not credentials.check_token(device, first["secret"])


def test_list_filters(world: World, token_client, system: Actor) -> None:  # type: ignore[no-untyped-def]
    make_device(system, world.a, code="gate-1")
    make_device(system, world.a, code="cam-1", kind="camera", name="停车场摄像机")
    c = token_client(world.manager_a)
    codes = lambda url: [d["code"] for d in _json(c.get(url))["items"]]  # noqa: E731
    assert codes("/api/v1/devices?kind=camera") == ["cam-1"]
    assert codes("/api/v1/devices?q=停车") == ["cam-1"]
    assert codes("/api/v1/devices?status=online") == []
    assert codes("/api/v1/devices?status=unknown") == ["cam-1", "gate-1"]


def test_messages_and_telemetry(world: World, token_client, system: Actor) -> None:  # type: ignore[no-untyped-def]
    device = make_device(system, world.a, kind="environment_sensor")
    _message(device, "t1", UpType.TELEMETRY, {"metrics": {"temp": 20.5, "hum": 40}}, 120)
    _message(device, "h1", UpType.HEARTBEAT, {}, 60)
    _message(device, "t2", UpType.TELEMETRY, {"metrics": {"temp": 22}}, 30)
    _message(device, "old", UpType.TELEMETRY, {"metrics": {"temp": 9}}, 60 * 30)
    c = token_client(world.guard_a)
    page = _json(c.get(f"/api/v1/devices/{device.pk}/messages"))
    assert [m["msg_id"] for m in page["items"]] == ["t2", "h1", "t1", "old"]
    only = _json(c.get(f"/api/v1/devices/{device.pk}/messages?type=heartbeat"))
    assert [m["msg_id"] for m in only["items"]] == ["h1"]
    series = _json(c.get(f"/api/v1/devices/{device.pk}/telemetry?metric=temp"))
    assert [p["value"] for p in series["points"]] == [20.5, 22.0]


def test_commands_queue_list_cancel(world: World, token_client, system: Actor) -> None:  # type: ignore[no-untyped-def]
    device = make_device(system, world.a)
    guard = token_client(world.guard_a)
    url = f"/api/v1/devices/{device.pk}/commands"
    created = _json(_send(guard, "post", url, {"name": "open_door", "params": {"door": 2}}), 201)
    assert created["status"] == "queued"
    assert created["params"] == {"door": 2, "hold_seconds": 5}
    assert [h["status"] for h in created["history"]] == ["queued"]
    bad = _send(guard, "post", url, {"name": "open_door", "params": {"door": "front"}})
    assert _json(bad, 422)["code"] == "validation_error"
    listed = _json(guard.get(url))
    assert [c["id"] for c in listed["items"]] == [created["id"]]
    cancelled = _json(guard.post(f"/api/v1/commands/{created['id']}/cancel"))
    assert cancelled["status"] == "cancelled"
    again = guard.post(f"/api/v1/commands/{created['id']}/cancel")
    assert _json(again, 409)["code"] == "command_finished"


@pytest.mark.parametrize("read_only", [False, True])
def test_guard_and_read_only_tokens_cannot_manage(
    world: World,
    token_client,  # type: ignore[no-untyped-def]
    system: Actor,
    read_only: bool,
) -> None:
    device = make_device(system, world.a)
    c = token_client(world.guard_a if not read_only else world.manager_a, read_only=read_only)
    body = {"kind": "camera", "code": "x", "name": "x", "serial": "x"}
    assert _send(c, "post", f"/api/v1/communities/{world.a.pk}/devices", body).status_code == 403
    assert c.post(f"/api/v1/devices/{device.pk}/rotate-credentials").status_code == 403
    config = _send(c, "put", f"/api/v1/devices/{device.pk}/desired-config", {"config": {}})
    assert config.status_code == 403
    assert Device.objects.count() == 1
    assert not Command.objects.exists()


def test_enable_and_desired_config(world: World, token_client, system: Actor) -> None:  # type: ignore[no-untyped-def]
    device = make_device(system, world.a)
    c = token_client(world.manager_a)
    url = f"/api/v1/devices/{device.pk}"
    command = _json(_send(c, "put", f"{url}/desired-config", {"config": {"volume": 4}}), 201)
    assert command["name"] == "set_config"
    assert command["params"] == {"version": 1, "config": {"volume": 4}}
    assert _json(_send(c, "put", f"{url}/enabled", {"enabled": False}))["enabled"] is False
    refused = _send(c, "post", f"{url}/commands", {"name": "reboot"})
    assert _json(refused, 409)["code"] == "device_disabled"
    patched = _json(_send(c, "patch", url, {"name": "北门", "tags": ["一期"]}))
    assert (patched["name"], patched["tags"]) == ("北门", ["一期"])


def test_catalogue_lists_kinds_and_their_commands(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    kinds = {k["kind"]: k for k in _json(token_client(world.guard_a).get("/api/v1/device-kinds"))}
    assert "open_door" in kinds["door_controller"]["commands"]
    assert "open_door" not in kinds["smoke_detector"]["commands"]
    assert kinds["camera"]["label"]
