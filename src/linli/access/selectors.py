"""Reads of access control, scoped to what the actor may see."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from django.utils import timezone

from linli.access.choices import Effect
from linli.access.decisions import open_now
from linli.access.models import AccessPoint, AccessRight
from linli.core.tenancy import Actor
from linli.people.models import Person


def _applying(
    rows: Sequence[tuple[int, str, int | None, dt.datetime | None, dt.datetime | None]],
    community_id: int,
    now: dt.datetime,
) -> set[int]:
    """Of (key, effect, schedule, from, until) rows, the keys with an applying allow and no
    applying deny."""
    allowed: dict[int, bool] = defaultdict(bool)
    denied: set[int] = set()
    for key, effect, schedule_id, valid_from, valid_until in rows:
        if not open_now(community_id, schedule_id, valid_from, valid_until, now):
            continue
        if effect == Effect.DENY:
            denied.add(key)
        else:
            allowed[key] = True
    return {key for key, yes in allowed.items() if yes} - denied


def who_may_open(actor: Actor, point: AccessPoint, now: dt.datetime | None = None) -> list[Person]:
    """People who may pass ``point`` at ``now`` (by the compiled rights)."""
    actor.require("access.view", point.community_id)
    rows = list(
        AccessRight.objects.filter(point=point).values_list(
            "person_id", "effect", "schedule_id", "valid_from", "valid_until"
        )
    )
    ids = _applying(rows, point.community_id, now or timezone.now())
    return list(Person.objects.filter(pk__in=ids).order_by("name", "pk"))


def doors_for(
    actor: Actor, person: Person, community_id: int, now: dt.datetime | None = None
) -> list[AccessPoint]:
    """Access points ``person`` may pass at ``now`` in a community."""
    actor.require("access.view", community_id)
    rows = list(
        AccessRight.objects.filter(community_id=community_id, person=person).values_list(
            "point_id", "effect", "schedule_id", "valid_from", "valid_until"
        )
    )
    ids = _applying(rows, community_id, now or timezone.now())
    return list(AccessPoint.objects.filter(pk__in=ids, enabled=True).order_by("code"))
