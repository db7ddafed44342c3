"""Background work of devices: the liveness check and command retries and time-outs.

Both run every ten seconds and are idempotent: each device or command is changed in its
own short transaction with a conditional update, so a message arriving meanwhile, a
transport delivering a command, or a second worker never makes them record a change twice.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Q
from django.utils import timezone

from linli.core.worker import task
from linli.devices import actions, status
from linli.devices.choices import DeviceStatus
from linli.devices.models import Command, Device

log = logging.getLogger(__name__)

EVERY = dt.timedelta(seconds=10)
# A device is offline once it has missed this many heartbeats.
MISSED_HEARTBEATS = 3
BATCH = 500


def offline_due(now: dt.datetime) -> list[Device]:
    """Return online devices not heard from for ``MISSED_HEARTBEATS`` of their intervals."""
    intervals = (
        Device.objects.filter(status=DeviceStatus.ONLINE)
        .order_by()
        .values_list("heartbeat_seconds", flat=True)
        .distinct()
    )
    due: list[Device] = []
    # One indexed range query per heartbeat interval in use (there are only a few).
    for seconds in sorted(set(intervals)):
        cutoff = now - dt.timedelta(seconds=MISSED_HEARTBEATS * seconds)
        due.extend(
            Device.objects.filter(status=DeviceStatus.ONLINE, heartbeat_seconds=seconds)
            .filter(Q(last_seen_at__lt=cutoff) | Q(last_seen_at__isnull=True))
            .only("pk", "code", "community_id", "last_seen_at")
            .order_by("last_seen_at")[:BATCH]
        )
    return due


def check_liveness(now: dt.datetime | None = None) -> int:
    """Mark devices that stopped sending heartbeats offline; return how many."""
    now = now or timezone.now()
    marked = 0
    for device in offline_due(now):
        if status.mark_offline(
            device, status.HEARTBEAT_TIMEOUT, now, seen_before=device.last_seen_at
        ):
            marked += 1
    if marked:
        log.info("devices offline after missed heartbeats: %d", marked)
    return marked


def expire_commands(now: dt.datetime | None = None) -> dict[str, int]:
    """Retry or time out commands past their deadline; return counts by new status."""
    now = now or timezone.now()
    ids = list(
        Command.objects.filter(status__in=actions.OPEN, deadline__lt=now)
        .order_by("deadline")
        .values_list("pk", flat=True)[:BATCH]
    )
    counts: dict[str, int] = {}
    for pk in ids:
        new = actions.expire_command(pk, now)
        if new is not None:
            counts[new] = counts.get(new, 0) + 1
    if counts:
        log.info("device commands past their deadline: %s", counts)
    return counts


@task("devices.check_liveness", every=EVERY)
def check_liveness_task() -> None:
    """Run :func:`check_liveness` (periodic)."""
    check_liveness()


@task("devices.expire_commands", every=EVERY)
def expire_commands_task() -> None:
    """Run :func:`expire_commands` (periodic)."""
    expire_commands()
