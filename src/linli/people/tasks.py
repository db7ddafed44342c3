"""Background work of people: reminders before registered leases end."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from linli.core import audit, events
from linli.core.tenancy import Actor
from linli.core.worker import task
from linli.people.events import TenancyExpiring
from linli.people.models import Tenancy

log = logging.getLogger(__name__)

# Reminder thresholds in days before the lease end, most urgent last; past the end the
# tenancy is overdue (逾期), one more reminder.
THRESHOLDS = (30, 7)
OVERDUE = len(THRESHOLDS) + 1


def reminder_stage(date_to: dt.date, on: dt.date | None) -> int:
    """Return how many reminders are due for a lease ending ``date_to`` as seen on ``on``.

    0: none yet (or ``on`` is ``None``); 1: within 30 days; 2: within 7 days; 3: overdue.
    """
    if on is None:
        return 0
    if on > date_to:
        return OVERDUE
    days_left = (date_to - on).days
    return sum(1 for days in THRESHOLDS if days_left <= days)


def send_tenancy_reminders(today: dt.date) -> int:
    """Publish ``TenancyExpiring`` for open tenancies that crossed a threshold; return how many.

    One reminder per threshold crossed since the last one (``reminded_on``). A tenancy
    seen for the first time past several thresholds gets only the most urgent, and a
    second run on the same day sends nothing. Concurrent runs cannot both remind: the
    update only applies while ``reminded_on`` still holds the value read.
    """
    system = Actor.system("system")
    horizon = today + dt.timedelta(days=THRESHOLDS[0])
    due = Tenancy.objects.filter(ended_on__isnull=True, date_to__lte=horizon).order_by("pk")
    sent = 0
    for tenancy in due:
        stage = reminder_stage(tenancy.date_to, today)
        if stage <= reminder_stage(tenancy.date_to, tenancy.reminded_on):
            continue
        unchanged = (
            Q(reminded_on__isnull=True)
            if tenancy.reminded_on is None
            else Q(reminded_on=tenancy.reminded_on)
        )
        with transaction.atomic():
            claimed = Tenancy.objects.filter(unchanged, pk=tenancy.pk, ended_on__isnull=True)
            if not claimed.update(reminded_on=today):
                continue
            days_left = (tenancy.date_to - today).days
            audit.record(
                system,
                "people.tenancy.remind",
                tenancy,
                community_id=tenancy.community_id,
                changes={
                    "reminded_on": [
                        tenancy.reminded_on.isoformat() if tenancy.reminded_on else None,
                        today.isoformat(),
                    ],
                    "days_left": [None, days_left],
                },
            )
            events.publish(
                TenancyExpiring(
                    tenancy.pk, tenancy.community_id, tenancy.room_id, tenancy.date_to, days_left
                )
            )
        sent += 1
    if sent:
        log.info("sent %d tenancy expiry reminders", sent)
    return sent


@task("people.remind_expiring_tenancies", every=dt.timedelta(hours=1))
def remind_expiring_tenancies(today: str = "") -> None:
    """Remind communities of leases ending within 30 and 7 days, and of overdue ones."""
    send_tenancy_reminders(dt.date.fromisoformat(today) if today else timezone.localdate())
