"""Door incidents from terminals and door contacts: forced, held open, tailgating (尾随).

Devices attached to an access point report ``event`` messages (docs/device-protocol.md):

- ``door_forced``: the controller saw the door open without releasing it;
- ``door_held_open`` (``data.seconds``): the door stayed open too long;
- ``door_opened`` (``data.passages``: people counted through, default 1): each opening.
  An opening with no allowed passage at the point in the :data:`GRANT_WINDOW` before it
  is a forced door; more people through in that window than passages allowed is
  tailgating.

Each incident becomes an access-log entry (result ``deny``, the incident as reason, the
device's message id, so a redelivered message is one entry) in the transaction that
stores the message, and a :class:`~linli.access.events.DoorIncident` after it commits.
``data.point`` names the point when a device serves several.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db.models import Q

from linli.access.choices import Mode, Result
from linli.access.events import DoorIncident
from linli.access.models import AccessEvent, AccessPoint
from linli.core.events import publish
from linli.devices import handlers
from linli.devices.choices import UpType
from linli.devices.models import Device, DeviceMessage

log = logging.getLogger(__name__)

GRANT_WINDOW = dt.timedelta(seconds=10)
INCIDENTS = ("door_forced", "door_held_open", "tailgating")
MAX_PASSAGES = 50


def _count(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return max(1, min(MAX_PASSAGES, value))


def _point(device: Device, data: dict[str, Any]) -> AccessPoint | None:
    points = list(AccessPoint.objects.filter(devices=device))
    named = data.get("point")
    if isinstance(named, str):
        points = [p for p in points if p.code == named]
    if len(points) != 1:
        if points:
            log.warning("door event of %s names no single access point", device.code)
        return None
    return points[0]


def _record(
    kind: str, point: AccessPoint, device: Device, msg_id: str, at: dt.datetime, **extra: int
) -> None:
    event = AccessEvent.objects.create(
        community_id=point.community_id,
        at=at,
        point=point,
        device=device,
        method="",
        result=Result.DENY,
        reason=kind,
        mode=Mode.ONLINE,
        msg_id=msg_id,
    )
    publish(
        DoorIncident(
            kind=kind,
            community_id=point.community_id,
            point_id=point.pk,
            device_id=device.pk,
            access_event_id=event.pk,
            at=at,
            **extra,
        )
    )


def _passages_in_window(point: AccessPoint, ts: dt.datetime) -> int:
    """People counted through the point's doors in the window up to ``ts``, leaving out
    openings already reported as incidents (they were counted against no grant)."""
    rows = list(
        DeviceMessage.objects.filter(
            device__access_points=point,
            type=UpType.EVENT,
            ts__gte=ts - GRANT_WINDOW,
            ts__lte=ts,
            payload__event="door_opened",
        ).values_list("device_id", "msg_id", "payload")
    )
    flagged = set(
        AccessEvent.objects.filter(
            point=point, reason__in=INCIDENTS, msg_id__in=[m for _d, m, _p in rows]
        ).values_list("device_id", "msg_id")
    )
    return sum(
        _count((p.get("data") or {}).get("passages"), 1)
        for d, m, p in rows
        if (d, m) not in flagged
    )


def _grants_in_window(point: AccessPoint, ts: dt.datetime) -> int:
    return (
        AccessEvent.objects.filter(
            point=point, result=Result.ALLOW, at__gte=ts - GRANT_WINDOW, at__lte=ts
        )
        .exclude(Q(reason__in=INCIDENTS))
        .count()
    )


@handlers.on(UpType.EVENT)
def door_event(device: Device, message: Any, ts: dt.datetime, now: dt.datetime) -> None:
    """Turn a device's door event into an incident where it is one."""
    name = message.payload.event
    if name not in ("door_forced", "door_held_open", "door_opened"):
        return
    data = message.payload.data or {}
    point = _point(device, data)
    if point is None:
        return
    if name == "door_forced":
        _record("door_forced", point, device, message.msg_id, ts)
    elif name == "door_held_open":
        seconds = data.get("seconds")
        held = seconds if isinstance(seconds, int) and not isinstance(seconds, bool) else 0
        _record("door_held_open", point, device, message.msg_id, ts, seconds=max(0, held))
    else:
        grants = _grants_in_window(point, ts)
        passages = _passages_in_window(point, ts)  # this message is already stored
        if grants == 0:
            _record("door_forced", point, device, message.msg_id, ts, passages=passages)
        elif passages > grants:
            _record(
                "tailgating", point, device, message.msg_id, ts, passages=passages, grants=grants
            )
