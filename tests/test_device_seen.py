"""A device's last contact: written at most every SEEN_RESOLUTION while it stays online."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest

from linli.devices import ingest, status
from linli.devices.choices import DeviceStatus, Transport
from linli.devices.ingest import Inbound, accept
from linli.devices.models import Device, StatusChange
from tests.conftest import World


@pytest.fixture
def device(world: World) -> Device:
    return Device.objects.create(
        community=world.a, code="env-1", name="环境传感器", kind="environment_sensor", serial="E1"
    )


def send(device: Device, msg_id: str) -> ingest.Verdict:
    body: dict[str, Any] = {
        "msg_id": msg_id,
        "device_id": device.code,
        "ts": int(time.time() * 1000),
        "type": "heartbeat",
        "payload": {},
    }
    (verdict,) = accept([Inbound(json.dumps(body).encode(), Transport.MQTT, device, "a")])
    return verdict


def seen(device: Device) -> dt.datetime | None:
    return Device.objects.get(pk=device.pk).last_seen_at


def test_a_device_heard_often_is_written_once_per_resolution(device: Device) -> None:
    assert send(device, "m-1").ok
    first = seen(device)
    assert first is not None and device.last_seen_at == first
    assert send(device, "m-2").ok  # moments later: the row already says online and seen
    assert seen(device) == first
    # Once the resolution has passed (the cached device says so), the row is written again.
    device.last_seen_at = first - ingest.SEEN_RESOLUTION
    assert send(device, "m-3").ok
    later = seen(device)
    assert later is not None and later > first


def test_a_device_marked_offline_elsewhere_comes_back_within_the_resolution(
    device: Device,
) -> None:
    assert send(device, "m-1").ok
    # Another process hears its last will: the row says offline, this process's copy online.
    stale = Device.objects.get(pk=device.pk)
    assert status.mark_offline(stale, status.LAST_WILL, dt.datetime.now(dt.UTC))
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.OFFLINE
    assert device.status == DeviceStatus.ONLINE
    send(device, "m-2")  # within the resolution: not looked at yet
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.OFFLINE
    assert device.last_seen_at is not None
    device.last_seen_at -= ingest.SEEN_RESOLUTION
    send(device, "m-3")
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.ONLINE
    assert list(
        StatusChange.objects.filter(device=device).order_by("at", "id").values_list("status")
    ) == [("online",), ("offline",), ("online",)]


def test_an_offline_device_is_brought_online_by_its_first_message_at_once(
    device: Device,
) -> None:
    device.status = DeviceStatus.OFFLINE
    device.last_seen_at = dt.datetime.now(dt.UTC)  # recent, but offline: no skipping
    Device.objects.filter(pk=device.pk).update(status=DeviceStatus.OFFLINE)
    send(device, "m-1")
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.ONLINE
