"""Tenant-scoped reads of devices: the registry, their messages, status changes, commands."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet

from linli.core.tenancy import Actor
from linli.devices.actions import PARAMS, kind_accepts
from linli.devices.choices import DeviceKind, DeviceStatus, UpType
from linli.devices.models import Command, Device, DeviceMessage, StatusChange

MAX_SERIES_POINTS = 5000


def list_devices(
    actor: Actor,
    *,
    community_id: int | None = None,
    kind: str = "",
    status: str = "",
    building_id: int | None = None,
    q: str = "",
) -> QuerySet[Device]:
    """Return visible devices, filtered by community, kind, status, building and code or name."""
    qs = Device.objects.restrict(actor, "device.view").select_related("building", "unit", "area")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if building_id is not None:
        qs = qs.filter(building_id=building_id)
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(serial__icontains=q))
    return qs


def count_by_status(actor: Actor, *, community_id: int | None = None) -> dict[str, int]:
    """Return how many visible devices are in each status (every status present, zero or not)."""
    qs = Device.objects.restrict(actor, "device.view")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    counts = {s.value: 0 for s in DeviceStatus}
    for row in qs.order_by().values("status").annotate(n=Count("pk")):
        counts[row["status"]] = row["n"]
    return counts


def get_device(actor: Actor, device_id: int, *, perm: str = "device.view") -> Device:
    """Return one visible device or raise :class:`NotFound`; with ``perm``, also require it."""
    device = (
        Device.objects.restrict(actor, "device.view")
        .select_related("community", "building", "unit", "area")
        .one_or_404(device_id)
    )
    if perm != "device.view":
        actor.require(perm, device.community_id)
    return device


def list_messages(actor: Actor, device: Device, *, type: str = "") -> QuerySet[DeviceMessage]:
    """Return a device's messages, newest first, optionally of one type."""
    qs = DeviceMessage.objects.restrict(actor, "device.view").filter(device=device)
    if type:
        qs = qs.filter(type=type)
    return qs.order_by("-received_at", "-id")


def telemetry_series(
    actor: Actor, device: Device, metric: str, *, since: dt.datetime, until: dt.datetime
) -> list[tuple[dt.datetime, float]]:
    """Return ``(time, value)`` of a device's telemetry metric between two times, oldest first."""
    rows = (
        DeviceMessage.objects.restrict(actor, "device.view")
        .filter(device=device, type=UpType.TELEMETRY, ts__gte=since, ts__lte=until)
        .order_by("-ts")
        .values_list("ts", "payload")[:MAX_SERIES_POINTS]
    )
    out: list[tuple[dt.datetime, float]] = []
    for ts, payload in rows:
        value = (payload.get("metrics") or {}).get(metric)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out.append((ts, float(value)))
    out.reverse()
    return out


def telemetry_metrics(actor: Actor, device: Device, *, limit: int = 50) -> list[str]:
    """Return the metric names in a device's recent telemetry, sorted."""
    names: set[str] = set()
    recent = (
        DeviceMessage.objects.restrict(actor, "device.view")
        .filter(device=device, type=UpType.TELEMETRY)
        .order_by("-received_at")
        .values_list("payload", flat=True)[:limit]
    )
    for payload in recent:
        names.update((payload.get("metrics") or {}).keys())
    return sorted(names)


def list_status_changes(actor: Actor, device: Device) -> QuerySet[StatusChange]:
    """Return a device's status changes, newest first."""
    return StatusChange.objects.restrict(actor, "device.view").filter(device=device)


def list_commands(
    actor: Actor, *, device: Device | None = None, status: str = ""
) -> QuerySet[Command]:
    """Return visible commands (of one device), newest first, optionally in one status."""
    qs = Command.objects.restrict(actor, "device.view").select_related("device")
    if device is not None:
        qs = qs.filter(device=device)
    if status:
        qs = qs.filter(status=status)
    return qs


def get_command(actor: Actor, command_id: int) -> Command:
    """Return one visible command or raise :class:`NotFound`."""
    return (
        Command.objects.restrict(actor, "device.view")
        .select_related("device")
        .one_or_404(command_id)
    )


def kinds() -> list[dict[str, Any]]:
    """Return the device catalogue (设备类型) with the commands each kind accepts."""
    return [
        {
            "kind": k.value,
            "label": str(k.label),
            "commands": [n for n in PARAMS if kind_accepts(k.value, n)],
        }
        for k in DeviceKind
    ]
