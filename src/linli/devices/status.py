"""Whether a device is online: the one place that records it coming and going.

Every path that learns a device's status calls :func:`mark_online` or :func:`mark_offline`:
message ingestion (a message arrived), the MQTT gateway (the broker delivered the device's
last will), and the liveness task (no heartbeat for three intervals). Each writes a
:class:`~linli.devices.models.StatusChange` and publishes
:class:`~linli.devices.events.DeviceOnline` or :class:`DeviceOffline` after commit, and only
when the status really changed: the update is conditional, so two processes that learn the
same thing record it once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from linli.core.events import event, publish
from linli.devices.choices import DeviceStatus
from linli.devices.events import DeviceOnline
from linli.devices.models import Device, StatusChange

# Reasons written on status changes.
MESSAGE = "message"
HEARTBEAT_TIMEOUT = "heartbeat_timeout"
LAST_WILL = "last_will"
DISABLED = "disabled"

__all__ = ["DeviceOffline", "DeviceOnline", "mark_offline", "mark_online"]


@event("devices.device_offline")
@dataclass(frozen=True)
class DeviceOffline:
    """A device stopped being heard from (离线): heartbeat timeout or the broker's last will."""

    device_id: int
    device_code: str
    community_id: int
    at: dt.datetime
    reason: str = HEARTBEAT_TIMEOUT
    last_seen_at: dt.datetime | None = None


def mark_online(device: Device, reason: str, at: dt.datetime) -> bool:
    """Record that ``device`` is online since ``at``; return whether its status changed.

    Also sets ``last_seen_at``. A device already online is left as it is (no status
    change, no event).
    """
    with transaction.atomic():
        changed = (
            Device.objects.filter(pk=device.pk)
            .exclude(status=DeviceStatus.ONLINE)
            .update(status=DeviceStatus.ONLINE, status_changed_at=at, last_seen_at=at)
        )
        if not changed:
            Device.objects.filter(pk=device.pk).filter(
                Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=at)
            ).update(last_seen_at=at)
            return False
        StatusChange.objects.create(
            community_id=device.community_id,
            device_id=device.pk,
            status=DeviceStatus.ONLINE,
            at=at,
            reason=reason,
        )
        publish(
            DeviceOnline(
                device_id=device.pk,
                device_code=device.code,
                community_id=device.community_id,
                at=at,
            )
        )
    device.status = DeviceStatus.ONLINE
    device.status_changed_at = at
    device.last_seen_at = at
    return True


def mark_offline(
    device: Device, reason: str, at: dt.datetime, *, seen_before: dt.datetime | None = None
) -> bool:
    """Record that ``device`` went offline at ``at``; return whether its status changed.

    With ``seen_before``, the device is marked only if it has not been heard from since
    then, so a message that arrives while the liveness task runs keeps it online.
    """
    with transaction.atomic():
        qs = Device.objects.filter(pk=device.pk).exclude(status=DeviceStatus.OFFLINE)
        if seen_before is not None:
            qs = qs.filter(Q(last_seen_at__isnull=True) | Q(last_seen_at__lte=seen_before))
        changed = qs.update(status=DeviceStatus.OFFLINE, status_changed_at=at)
        if not changed:
            return False
        StatusChange.objects.create(
            community_id=device.community_id,
            device_id=device.pk,
            status=DeviceStatus.OFFLINE,
            at=at,
            reason=reason,
        )
        publish(
            DeviceOffline(
                device_id=device.pk,
                device_code=device.code,
                community_id=device.community_id,
                at=at,
                reason=reason,
                last_seen_at=device.last_seen_at,
            )
        )
    device.status = DeviceStatus.OFFLINE
    device.status_changed_at = at
    return True
