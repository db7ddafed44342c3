"""Device actions, status changes, the liveness task and command time-outs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from linli.core.events import handles
from linli.devices import ingest, status  # noqa: F401  (ingest too: both must load together)
from linli.devices.choices import DeviceKind, DeviceStatus
from linli.devices.models import Device, StatusChange
from tests.conftest import World

seen_events: list[object] = []


@handles(status.DeviceOnline, status.DeviceOffline)
def _remember(evt: object) -> None:
    seen_events.append(evt)


@pytest.fixture(autouse=True)
def _clear_events() -> None:
    seen_events.clear()


def _plain_device(w: World, code: str = "gate-1") -> Device:
    return Device.objects.create(
        community=w.a, code=code, name="东门", kind=DeviceKind.DOOR_CONTROLLER, serial=code
    )


def test_mark_online_then_offline_records_each_change_once(
    world: World,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    device = _plain_device(world)
    at = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert status.mark_online(device, status.MESSAGE, at)
        assert not status.mark_online(device, status.MESSAGE, at + dt.timedelta(seconds=5))
        assert status.mark_offline(device, status.LAST_WILL, at + dt.timedelta(seconds=9))
        assert not status.mark_offline(device, status.LAST_WILL, at + dt.timedelta(seconds=9))
    device.refresh_from_db()
    assert device.status == DeviceStatus.OFFLINE
    assert device.last_seen_at == at + dt.timedelta(seconds=5)
    changes = list(StatusChange.objects.filter(device=device).order_by("at"))
    assert [(c.status, c.reason) for c in changes] == [
        (DeviceStatus.ONLINE, "message"),
        (DeviceStatus.OFFLINE, "last_will"),
    ]
    assert [type(e).__name__ for e in seen_events] == ["DeviceOnline", "DeviceOffline"]


def test_mark_offline_keeps_a_device_heard_from_since(world: World) -> None:
    device = _plain_device(world)
    at = timezone.now()
    status.mark_online(device, status.MESSAGE, at)
    assert not status.mark_offline(
        device, status.HEARTBEAT_TIMEOUT, at, seen_before=at - dt.timedelta(seconds=1)
    )
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.ONLINE
