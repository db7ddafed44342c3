"""Door incidents: forced, held open and tailgating from door events, once per message."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from linli.access.choices import Result
from linli.access.events import DoorIncident
from linli.access.models import AccessEvent, AccessPoint
from linli.core.events import handles
from linli.devices import ingest
from linli.devices.choices import Transport
from linli.devices.models import Device
from tests.conftest import World

seen: list[DoorIncident] = []


@handles(DoorIncident)
def _collect(evt: DoorIncident) -> None:
    seen.append(evt)


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    seen.clear()
    ingest.limiter.reset()
    yield
    seen.clear()


@pytest.fixture
def door(world: World) -> tuple[AccessPoint, Device]:
    point = AccessPoint.objects.create(community=world.a, code="b1", name="1幢", kind="door")
    contact = Device.objects.create(
        community=world.a, code="contact-1", name="门磁", kind="door_contact", serial="C1"
    )
    point.devices.add(contact)
    return point, contact


def send(device: Device, msg_id: str, event: str, data: dict[str, Any] | None = None) -> None:
    body = {
        "msg_id": msg_id,
        "device_id": device.code,
        "ts": int(time.time() * 1000),
        "type": "event",
        "payload": {"event": event, "severity": "warning", "data": data or {}},
    }
    (verdict,) = ingest.accept([ingest.Inbound(json.dumps(body).encode(), Transport.HTTP, device)])
    assert verdict.ok


def grant(point: AccessPoint, n: int = 1) -> None:
    for _ in range(n):
        AccessEvent.objects.create(
            community_id=point.community_id,
            at=timezone.now() - dt.timedelta(seconds=2),
            point=point,
            method="card",
            result=Result.ALLOW,
            reason="allowed",
        )


def incidents() -> list[str]:
    return list(
        AccessEvent.objects.filter(result="deny").order_by("id").values_list("reason", flat=True)
    )


def test_a_reported_forced_or_held_door_is_an_incident_once(
    door: tuple[AccessPoint, Device], django_capture_on_commit_callbacks: Any
) -> None:
    point, contact = door
    with django_capture_on_commit_callbacks(execute=True):
        send(contact, "e-1", "door_forced")
        send(contact, "e-1", "door_forced")  # redelivered: stored once, one incident
        send(contact, "e-2", "door_held_open", {"seconds": 95})
    assert incidents() == ["door_forced", "door_held_open"]
    assert [(e.kind, e.point_id, e.seconds) for e in seen] == [
        ("door_forced", point.pk, 0),
        ("door_held_open", point.pk, 95),
    ]


def test_an_opening_without_a_grant_is_forced_and_more_people_than_grants_is_tailgating(
    door: tuple[AccessPoint, Device], django_capture_on_commit_callbacks: Any
) -> None:
    point, contact = door
    with django_capture_on_commit_callbacks(execute=True):
        send(contact, "o-1", "door_opened")  # nobody was let in
    assert incidents() == ["door_forced"]
    grant(point)
    with django_capture_on_commit_callbacks(execute=True):
        send(contact, "o-2", "door_opened", {"passages": 1})
    assert incidents() == ["door_forced"]  # one let in, one through: fine
    with django_capture_on_commit_callbacks(execute=True):
        send(contact, "o-3", "door_opened", {"passages": 2})
    assert incidents() == ["door_forced", "tailgating"]
    # In the window: the fine opening (1) and this one (2) against one grant; the first,
    # forced opening is not counted again.
    assert (seen[-1].kind, seen[-1].passages, seen[-1].grants) == ("tailgating", 3, 1)


def test_other_events_and_devices_without_a_point_are_not_incidents(
    world: World, door: tuple[AccessPoint, Device]
) -> None:
    _, contact = door
    send(contact, "x-1", "battery_low")
    loose = Device.objects.create(
        community=world.a, code="contact-2", name="门磁2", kind="door_contact", serial="C2"
    )
    send(loose, "x-2", "door_forced")
    assert incidents() == []
