"""Offline allowlists for terminals: full and incremental sync, and decisions uploaded back.

A terminal keeps, for the access points it serves, who may pass with which credential
and when, so it can decide while the platform is out of reach:

- ``entries``: one per credential with access at those points: its id, kind, ``match``
  (for a card or PIN: HMAC-SHA256 of the UID or PIN under the community's terminal key,
  so the terminal can match what it reads without holding the values), validity, holder
  (``p:<id>`` or ``v:<id>``, opaque), and ``rules`` per point code: ``[effect,
  schedule id, valid from, valid until]``; an incremental list also has ``remove``;
- ``schedules`` and ``holidays`` the rules refer to; the community's pass ``keys`` (and the
  terminal ``sync_key``, in a full list).

The version is the id of the last :class:`AllowlistChange`: every writer of credentials,
rights and visitors appends one (:func:`touch`); ``since=<version>`` returns only what
changed after it, and a version older than the retained changes returns a full list.
The platform tells terminals to sync by queueing a ``sync_credentials`` command when
changes arrive (:func:`notify_terminals`, run by the worker).

Decisions a terminal made offline come back with :func:`upload_events`: stored once per
``(device, msg_id)`` as access events in ``offline`` mode.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Max, Min, Q
from django.utils import timezone

from linli.access import keys
from linli.access.choices import (
    BIOMETRIC_KINDS,
    CredentialKind,
    CredentialStatus,
    Effect,
    Mode,
    Result,
    VisitorStatus,
)
from linli.access.models import (
    AccessEvent,
    AccessPoint,
    AccessRight,
    AllowlistChange,
    Credential,
    Holiday,
    Schedule,
    TerminalSync,
)
from linli.core import crypto
from linli.devices.models import Device

KEEP_CHANGES = dt.timedelta(days=7)
HOLIDAY_DAYS = 400
SYNC_PURPOSE = "access.terminal"
MAX_UPLOAD = 500


def touch(community_id: int, *, people: Iterable[int] = (), visitors: Iterable[int] = ()) -> None:
    """Record that these people's or visitors' access changed (new allowlist version)."""
    rows = [AllowlistChange(community_id=community_id, person_id=p) for p in sorted(set(people))]
    rows += [
        AllowlistChange(community_id=community_id, visitor_id=v) for v in sorted(set(visitors))
    ]
    if rows:
        AllowlistChange.objects.bulk_create(rows)


def sync_key(community_id: int) -> bytes:
    """The community's terminal key: what a terminal hashes card UIDs and PINs with."""
    return crypto.purpose_key(f"{SYNC_PURPOSE}:{community_id}")


def match_of(community_id: int, kind: str, value: str) -> str:
    """The ``match`` a terminal computes for a card UID or a PIN (see the module doc)."""
    if kind == CredentialKind.CARD:
        value = "".join(c for c in value.upper() if c.isalnum())
    return hmac.new(sync_key(community_id), value.encode(), hashlib.sha256).hexdigest()


def version(community_id: int) -> int:
    """The community's current allowlist version."""
    return (
        AllowlistChange.objects.filter(community_id=community_id).aggregate(v=Max("id"))["v"] or 0
    )


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclasses.dataclass
class _Scope:
    community_id: int
    points: dict[int, str]  # id -> code


def _entries(
    scope: _Scope, now: dt.datetime, people: set[int] | None, visitor_ids: set[int] | None
) -> tuple[list[dict[str, Any]], set[int]]:
    """Entries for the credentials of ``people`` / ``visitor_ids`` (all when None), and the
    schedule ids they use."""
    rules: dict[int, dict[str, list[list[Any]]]] = defaultdict(lambda: defaultdict(list))
    schedules: set[int] = set()
    rights = AccessRight.objects.filter(point_id__in=scope.points)
    if people is not None:
        rights = rights.filter(person_id__in=people)
    for person_id, point_id, effect, schedule_id, valid_from, valid_until in rights.values_list(
        "person_id", "point_id", "effect", "schedule_id", "valid_from", "valid_until"
    ):
        rules[person_id][scope.points[point_id]].append(
            [effect, schedule_id, _iso(valid_from), _iso(valid_until)]
        )
        if schedule_id is not None:
            schedules.add(schedule_id)
    credentials = Credential.objects.filter(
        community_id=scope.community_id, status=CredentialStatus.ACTIVE
    ).exclude(kind__in=BIOMETRIC_KINDS)  # face and voice templates sync with biometrics
    if people is None and visitor_ids is None:
        credentials = credentials.filter(
            Q(person_id__in=list(rules))
            | Q(visitor__status__in=(VisitorStatus.INVITED, VisitorStatus.ARRIVED))
        )
    else:
        credentials = credentials.filter(
            Q(person_id__in=people or ()) | Q(visitor_id__in=visitor_ids or ())
        )
    entries = []
    for c in credentials.select_related("visitor").prefetch_related("visitor__points"):
        if c.visitor is not None:
            visitor = c.visitor
            if visitor.ends_at <= now or visitor.status not in (
                VisitorStatus.INVITED,
                VisitorStatus.ARRIVED,
            ):
                continue
            window = [Effect.ALLOW, None, _iso(visitor.starts_at), _iso(visitor.ends_at)]
            own = {
                scope.points[p.pk]: [window] for p in visitor.points.all() if p.pk in scope.points
            }
            if not own:
                continue
            holder, point_rules = f"v:{visitor.pk}", own
        else:
            if c.person_id not in rules:
                continue
            holder, point_rules = f"p:{c.person_id}", dict(rules[c.person_id])
        entries.append(
            {
                "credential_id": c.pk,
                "kind": c.kind,
                "match": _match_stored(c),
                "valid_from": _iso(c.valid_from),
                "valid_until": _iso(c.valid_until),
                "holder": holder,
                "rules": point_rules,
            }
        )
    return entries, schedules


def _match_stored(c: Credential) -> str | None:
    """The terminal ``match`` of a stored card (from its sealed UID) or PIN (sealed match)."""
    if not c.secret_sealed:
        return None
    secret = crypto.unseal(c.secret_sealed, "access.credential")
    if c.kind == CredentialKind.CARD:
        return match_of(c.community_id, c.kind, secret)
    if c.kind == CredentialKind.PIN:
        return secret  # the PIN itself is never kept: only its terminal match
    return None


def allowlist(device: Device, since: int | None = None) -> dict[str, Any]:
    """The allowlist document for a terminal (full, or the changes after ``since``)."""
    now = timezone.now()
    community_id = device.community_id
    points = dict(
        AccessPoint.objects.filter(devices=device, enabled=True).values_list("pk", "code")
    )
    scope = _Scope(community_id, points)
    current = version(community_id)
    oldest = (
        AllowlistChange.objects.filter(community_id=community_id).aggregate(v=Min("id"))["v"]
        or current + 1
    )
    # Full for a terminal with nothing, one from the future, or one whose changes were purged.
    full = not since or since > current or since < oldest - 1
    doc: dict[str, Any] = {"version": current, "full": full, "points": sorted(points.values())}
    if full:
        entries, schedule_ids = _entries(scope, now, None, None)
        doc["sync_key"] = base64.b64encode(sync_key(community_id)).decode()
        doc["remove"] = []
    else:
        changed = AllowlistChange.objects.filter(community_id=community_id, id__gt=since)
        people = set(changed.exclude(person=None).values_list("person_id", flat=True))
        visitor_ids = set(changed.exclude(visitor=None).values_list("visitor_id", flat=True))
        entries, schedule_ids = _entries(scope, now, people, visitor_ids)
        kept = {e["credential_id"] for e in entries}
        gone = Credential.objects.filter(community_id=community_id).filter(
            Q(person_id__in=people) | Q(visitor_id__in=visitor_ids)
        )
        doc["remove"] = sorted(set(gone.values_list("pk", flat=True)) - kept)
    doc["entries"] = entries
    doc["schedules"] = {
        str(s.pk): {
            "windows": s.windows,
            "holiday_rule": s.holiday_rule,
            "holiday_windows": s.holiday_windows,
            "date_from": s.date_from.isoformat() if s.date_from else None,
            "date_to": s.date_to.isoformat() if s.date_to else None,
        }
        for s in Schedule.objects.filter(pk__in=schedule_ids)
    }
    today = timezone.localdate()
    horizon = today + dt.timedelta(days=HOLIDAY_DAYS)
    days: dict[str, str] = {}
    for day, kind in (
        Holiday.objects.filter(Q(community__isnull=True) | Q(community_id=community_id))
        .filter(date__gte=today - dt.timedelta(days=1), date__lte=horizon)
        .order_by(F("community_id").asc(nulls_first=True))  # the community's own entry wins
        .values_list("date", "kind")
    ):
        days[day.isoformat()] = kind
    doc["holidays"] = dict(sorted(days.items()))
    doc["keys"] = keys.public_keys_document(community_id)
    TerminalSync.objects.update_or_create(
        device=device, defaults={"version": current, "synced_at": now}
    )
    return doc


def notify_terminals(community_id: int) -> int:
    """Queue ``sync_credentials`` for terminals behind the current version; return how many.

    Only kinds that keep an allowlist are told (a barrier gate or a door contact at a point
    holds none). A terminal with a sync command still queued or sent is not told twice.
    """
    from linli.core.tenancy import Actor
    from linli.devices.actions import command_kinds, do_queue_command
    from linli.devices.choices import CommandName, CommandStatus

    current = version(community_id)
    holders = command_kinds(CommandName.SYNC_CREDENTIALS)  # kinds that keep an allowlist
    terminals = (
        Device.objects.filter(community_id=community_id, enabled=True, access_points__isnull=False)
        .filter(kind__in=sorted(holders or ()))
        .exclude(access_sync__version__gte=current)
        .exclude(
            commands__name=CommandName.SYNC_CREDENTIALS,
            commands__status__in=(CommandStatus.QUEUED, CommandStatus.SENT),
        )
        .distinct()
    )
    system = Actor.system("access sync")
    told = 0
    for device in terminals:
        do_queue_command(system, device, CommandName.SYNC_CREDENTIALS, {"full": False})
        told += 1
    return told


# Offline decisions uploaded ------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Uploaded:
    """One offline decision as a terminal reports it (already schema-checked)."""

    msg_id: str
    at: dt.datetime
    point: str
    method: str
    result: str
    reason: str
    credential_id: int | None = None
    direction: str = ""


def upload_events(device: Device, events: list[Uploaded]) -> list[dict[str, str]]:
    """Store offline decisions once each; return ``{msg_id, status}`` per event.

    ``status`` is ``stored``, ``duplicate``, or a refusal: ``unknown_point`` (not one of
    the terminal's points) or ``unknown_credential`` (not of this community).
    """
    points = dict(AccessPoint.objects.filter(devices=device).values_list("code", "pk"))
    ids = {e.credential_id for e in events if e.credential_id}
    found = {
        c.pk: c for c in Credential.objects.filter(pk__in=ids, community_id=device.community_id)
    }
    out = []
    with transaction.atomic():
        for e in events:
            if e.point not in points:
                out.append({"msg_id": e.msg_id, "status": "unknown_point"})
                continue
            credential = found.get(e.credential_id) if e.credential_id else None
            if e.credential_id and credential is None:
                out.append({"msg_id": e.msg_id, "status": "unknown_credential"})
                continue
            try:
                with transaction.atomic():
                    AccessEvent.objects.create(
                        community_id=device.community_id,
                        at=e.at,
                        point_id=points[e.point],
                        device=device,
                        person_id=credential.person_id if credential else None,
                        visitor_id=credential.visitor_id if credential else None,
                        credential=credential,
                        method=e.method,
                        direction=e.direction,
                        result=Result.ALLOW if e.result == "allow" else Result.DENY,
                        reason=e.reason,
                        mode=Mode.OFFLINE,
                        msg_id=e.msg_id,
                    )
                out.append({"msg_id": e.msg_id, "status": "stored"})
            except IntegrityError:
                out.append({"msg_id": e.msg_id, "status": "duplicate"})
    return out


def purge_changes(now: dt.datetime | None = None) -> int:
    """Delete allowlist changes older than :data:`KEEP_CHANGES`; return how many.

    Each community's latest change is kept, so its version never goes back.
    """
    latest = AllowlistChange.objects.values("community_id").annotate(last=Max("id"))
    keep = [row["last"] for row in latest]
    deleted, _ = (
        AllowlistChange.objects.filter(at__lt=(now or timezone.now()) - KEEP_CHANGES)
        .exclude(id__in=keep)
        .delete()
    )
    return deleted
