"""API of devices (thin; see actions and selectors)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router
from ninja.pagination import paginate

from linli.api.base import ERRORS, PagePagination, actor
from linli.devices import actions, selectors
from linli.devices.models import Command, Device
from linli.devices.schemas import (
    CommandIn,
    CommandOut,
    DesiredConfigIn,
    DeviceIn,
    DeviceOut,
    DevicePatch,
    DeviceSecretOut,
    EnabledIn,
    KindOut,
    MessageOut,
    SeriesOut,
    StatusChangeOut,
)
from linli.places.selectors import get_community

router = Router(tags=["devices"])


@router.get("/device-kinds", response={200: list[KindOut], **ERRORS})
def list_kinds(request: HttpRequest) -> list[dict[str, Any]]:
    """List the device catalogue and the commands each kind accepts."""
    actor(request)
    return selectors.kinds()


@router.get("/devices", response={200: list[DeviceOut], **ERRORS})
@paginate(PagePagination)
def list_devices(
    request: HttpRequest,
    community_id: int | None = None,
    kind: str = "",
    status: str = "",
    building_id: int | None = None,
    q: str = "",
) -> object:
    """List the devices the caller may see, filtered by community, kind, status, building."""
    return selectors.list_devices(
        actor(request),
        community_id=community_id,
        kind=kind,
        status=status,
        building_id=building_id,
        q=q,
    )


@router.post("/communities/{community_id}/devices", response={201: DeviceSecretOut, **ERRORS})
def register_device(
    request: HttpRequest, community_id: int, body: DeviceIn
) -> tuple[int, dict[str, Any]]:
    """Register a device; the response carries its secret, shown only this once."""
    a = actor(request)
    community = get_community(a, community_id)
    device, secret = actions.do_register_device(a, community, **body.dict())
    return 201, {"device": device, "secret": secret}


@router.get("/devices/{device_id}", response={200: DeviceOut, **ERRORS})
def get_device(request: HttpRequest, device_id: int) -> Device:
    """Return one device."""
    return selectors.get_device(actor(request), device_id)


@router.patch("/devices/{device_id}", response={200: DeviceOut, **ERRORS})
def update_device(request: HttpRequest, device_id: int, body: DevicePatch) -> Device:
    """Change a device's name, identity, location, tags or heartbeat interval."""
    a = actor(request)
    device = selectors.get_device(a, device_id)
    return actions.do_update_device(a, device, **body.dict(exclude_unset=True))


@router.post("/devices/{device_id}/rotate-credentials", response={200: DeviceSecretOut, **ERRORS})
def rotate_credentials(request: HttpRequest, device_id: int) -> dict[str, Any]:
    """Give a device a new secret (shown only this once); the old one stops working."""
    a = actor(request)
    device, secret = actions.do_rotate_credentials(a, selectors.get_device(a, device_id))
    return {"device": device, "secret": secret}


@router.put("/devices/{device_id}/enabled", response={200: DeviceOut, **ERRORS})
def set_enabled(request: HttpRequest, device_id: int, body: EnabledIn) -> Device:
    """Enable or disable a device (a disabled device is refused and goes offline)."""
    a = actor(request)
    return actions.do_set_device_enabled(a, selectors.get_device(a, device_id), body.enabled)


@router.put("/devices/{device_id}/desired-config", response={201: CommandOut, **ERRORS})
def set_desired_config(
    request: HttpRequest, device_id: int, body: DesiredConfigIn
) -> tuple[int, Command]:
    """Set the configuration a device should run; returns the queued ``set_config`` command."""
    a = actor(request)
    return 201, actions.do_set_desired_config(a, selectors.get_device(a, device_id), body.config)


@router.get("/devices/{device_id}/messages", response={200: list[MessageOut], **ERRORS})
@paginate(PagePagination)
def list_messages(request: HttpRequest, device_id: int, type: str = "") -> object:
    """List a device's messages, newest first, optionally of one type."""
    a = actor(request)
    return selectors.list_messages(a, selectors.get_device(a, device_id), type=type)


@router.get("/devices/{device_id}/telemetry", response={200: SeriesOut, **ERRORS})
def telemetry(
    request: HttpRequest,
    device_id: int,
    metric: str,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> dict[str, Any]:
    """Return one telemetry metric of a device over time (by default the last 24 hours)."""
    a = actor(request)
    device = selectors.get_device(a, device_id)
    until = until or timezone.now()
    since = since or until - dt.timedelta(hours=24)
    points = selectors.telemetry_series(a, device, metric, since=since, until=until)
    return {
        "metric": metric,
        "since": since,
        "until": until,
        "points": [{"ts": ts, "value": v} for ts, v in points],
    }


@router.get("/devices/{device_id}/status-changes", response={200: list[StatusChangeOut], **ERRORS})
@paginate(PagePagination)
def list_status_changes(request: HttpRequest, device_id: int) -> object:
    """List a device's status changes (online, offline), newest first."""
    a = actor(request)
    return selectors.list_status_changes(a, selectors.get_device(a, device_id))


@router.get("/devices/{device_id}/commands", response={200: list[CommandOut], **ERRORS})
@paginate(PagePagination)
def list_commands(request: HttpRequest, device_id: int, status: str = "") -> object:
    """List a device's commands, newest first, with their history."""
    a = actor(request)
    return selectors.list_commands(a, device=selectors.get_device(a, device_id), status=status)


@router.post("/devices/{device_id}/commands", response={201: CommandOut, **ERRORS})
def queue_command(request: HttpRequest, device_id: int, body: CommandIn) -> tuple[int, Command]:
    """Queue a command for a device (open the door, sync credentials, configure, reboot)."""
    a = actor(request)
    device = selectors.get_device(a, device_id)
    return 201, actions.do_queue_command(
        a,
        device,
        body.name,
        body.params,
        timeout_seconds=body.timeout_seconds,
        max_attempts=body.max_attempts,
    )


@router.get("/commands/{command_id}", response={200: CommandOut, **ERRORS})
def get_command(request: HttpRequest, command_id: int) -> Command:
    """Return one command with its history."""
    return selectors.get_command(actor(request), command_id)


@router.post("/commands/{command_id}/cancel", response={200: CommandOut, **ERRORS})
def cancel_command(request: HttpRequest, command_id: int) -> Command:
    """Cancel a command not yet answered."""
    a = actor(request)
    return actions.do_cancel_command(a, selectors.get_command(a, command_id))
