"""The access decision: a credential presented at an access point → allow or deny, why.

:func:`decide` finds who the credential belongs to (a 一码通 pass verified with the
community's keys and never accepted twice, a card's UID, a PIN, or a face/voice match
made by the biometrics engine), checks the credential (status, validity, consent for
biometrics), then the holder's compiled rights at that point (an explicit deny wins; an
allow counts only inside its schedule and validity), or a visitor's pass. Every attempt,
allowed or not, becomes an :class:`AccessEvent` in the same transaction.

Reason codes are stable strings for terminals, logs and the API (docs/access.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import threading
import time
import zoneinfo
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from linli.access import keys, passes, schedules
from linli.access.choices import (
    BIOMETRIC_KINDS,
    CredentialKind,
    CredentialStatus,
    Effect,
    GroupKind,
    Mode,
    Result,
    VisitorStatus,
)
from linli.access.models import (
    AccessPoint,
    Credential,
    Holiday,
    Policy,
    Schedule,
    Visitor,
)
from linli.core import crypto

PIN_MAX_FAILURES = 5
PIN_LOCKOUT = dt.timedelta(minutes=10)
CALENDAR_SECONDS = 30.0  # holidays and schedules are read again after this long


class Reason(enum.StrEnum):
    """Why an attempt was allowed or denied."""

    ALLOWED = "allowed"
    VISITOR_ALLOWED = "visitor_allowed"
    POINT_DISABLED = "point_disabled"
    UNKNOWN_CREDENTIAL = "unknown_credential"
    WRONG_PIN = "wrong_pin"
    PIN_LOCKED = "pin_locked"
    REPLAYED = "replayed"
    CREDENTIAL_SUSPENDED = "credential_suspended"
    CREDENTIAL_REVOKED = "credential_revoked"
    CREDENTIAL_EXPIRED = "credential_expired"
    CREDENTIAL_NOT_YET_VALID = "credential_not_yet_valid"
    NO_CONSENT = "no_consent"
    NO_PERMISSION = "no_permission"
    OUTSIDE_SCHEDULE = "outside_schedule"
    DENIED_BY_POLICY = "denied_by_policy"
    VISITOR_NOT_YET_VALID = "visitor_not_yet_valid"
    VISITOR_EXPIRED = "visitor_expired"
    VISITOR_CANCELLED = "visitor_cancelled"
    MALFORMED = "malformed"


def pass_reason(refusal: passes.Refusal) -> str:
    """The decision reason for a refused pass: ``pass_`` and the pass's own reason."""
    return f"pass_{refusal.value}"


@dataclasses.dataclass(frozen=True)
class Presented:
    """What a terminal read: a method and its value (pass text, card UID, PIN digits).

    For face and voice the biometrics engine has already matched a credential:
    ``credential_id`` and ``score`` carry its result.
    """

    method: str
    value: str = ""
    credential_id: int | None = None
    score: float | None = None
    direction: str = ""
    snapshot: str = ""


@dataclasses.dataclass(frozen=True)
class Decision:
    """The answer to a terminal."""

    allowed: bool
    reason: str
    event_id: int
    person_id: int | None = None
    visitor_id: int | None = None
    credential_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The decision as the terminal receives it (no personal data beyond ids)."""
        return {
            "result": Result.ALLOW if self.allowed else Result.DENY,
            "reason": self.reason,
            "event_id": self.event_id,
        }


def card_hash(uid: str) -> str:
    """The lookup hash of a card UID (hex, case and separators ignored)."""
    clean = "".join(c for c in uid.upper() if c.isalnum())
    return crypto.lookup_hash(clean, "access.card")


def pin_hash(community_id: int, pin: str) -> str:
    """The lookup hash of a PIN within one community."""
    return crypto.lookup_hash(f"{community_id}:{pin}", "access.pin")


# Calendars (holidays, schedules) cached per process -----------------------------------


class _Calendars:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._days: dict[int, tuple[float, dict[dt.date, str]]] = {}
        self._plans: dict[int, tuple[float, schedules.Plan]] = {}

    def day_kinds(self, community_id: int) -> dict[dt.date, str]:
        with self._lock:
            hit = self._days.get(community_id)
        if hit is None or time.monotonic() - hit[0] > CALENDAR_SECONDS:
            days: dict[dt.date, str] = {}
            rows = Holiday.objects.filter(community__isnull=True).values_list("date", "kind")
            days.update(rows)
            local = Holiday.objects.filter(community_id=community_id).values_list("date", "kind")
            days.update(local)  # a community's own entry wins
            hit = (time.monotonic(), days)
            with self._lock:
                self._days[community_id] = hit
        return hit[1]

    def plan(self, schedule_id: int) -> schedules.Plan:
        with self._lock:
            hit = self._plans.get(schedule_id)
        if hit is None or time.monotonic() - hit[0] > CALENDAR_SECONDS:
            hit = (time.monotonic(), schedules.plan_of(Schedule.objects.get(pk=schedule_id)))
            with self._lock:
                self._plans[schedule_id] = hit
        return hit[1]

    def forget(self) -> None:
        with self._lock:
            self._days.clear()
            self._plans.clear()


calendars = _Calendars()


def _zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def open_now(
    community_id: int,
    schedule_id: int | None,
    valid_from: dt.datetime | None,
    valid_until: dt.datetime | None,
    now: dt.datetime,
) -> bool:
    """Say whether a right (or policy) with this schedule and validity applies at ``now``."""
    if valid_from is not None and now < valid_from:
        return False
    if valid_until is not None and now >= valid_until:
        return False
    if schedule_id is None:
        return True
    days = calendars.day_kinds(community_id)
    return schedules.is_open(calendars.plan(schedule_id), now.astimezone(_zone()), days.get)


# The decision ---------------------------------------------------------------------------


class _Denied(Exception):
    def __init__(self, reason: str, credential: Credential | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.credential = credential


def decide(
    point: AccessPoint,
    presented: Presented,
    *,
    device_id: int | None = None,
    now: dt.datetime | None = None,
) -> Decision:
    """Decide one attempt at ``point`` and log it; never raises for bad input.

    The reads come first, outside any transaction; the writes (the pass's nonce, the log
    entry, a visitor's arrival) then go in one short transaction, so a database that
    serialises writers (SQLite) holds its write lock only for them. The statements of this
    hot path are written out as SQL: building them through the ORM cost more than running
    them (docs/benchmarks.md, ``access``).
    """
    now = now or timezone.now()
    credential: Credential | None = None
    claims: passes.Claims | None = None
    try:
        if not point.enabled:
            raise _Denied(Reason.POINT_DISABLED)
        credential, claims = _credential(point, presented, now)
        reason = _check_credential(credential, now)
        reason = _check_holder(point, credential, now) if reason is None else reason
    except _Denied as denied:
        reason = denied.reason
        credential = denied.credential or credential
    with transaction.atomic():
        if claims is not None and not _first_use(claims):
            reason = Reason.REPLAYED
        allowed = reason in (Reason.ALLOWED, Reason.VISITOR_ALLOWED)
        event_id = _log(point, presented, credential, device_id, allowed, reason, now)
        if allowed and credential is not None and credential.visitor_id is not None:
            _visitor_arrived(credential, now)
    return Decision(
        allowed,
        reason,
        event_id,
        credential.person_id if credential else None,
        credential.visitor_id if credential else None,
        credential.pk if credential else None,
    )


def _adapt(value: dt.datetime | None) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _aware(value: Any) -> dt.datetime | None:
    """A datetime read with plain SQL: PostgreSQL gives it aware, SQLite naive in UTC (or as
    text, depending on how the column was declared)."""
    if value is None:
        return None
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


_CREDENTIAL_COLUMNS = (
    "id",
    "community_id",
    "person_id",
    "visitor_id",
    "kind",
    "status",
    "valid_from",
    "valid_until",
    "consent_id",
)
_CREDENTIAL_SELECT = f"SELECT {', '.join(_CREDENTIAL_COLUMNS)} FROM access_credential WHERE "  # noqa: S608


def _credential_where(where: str, params: list[Any]) -> Credential | None:
    """The first credential matching ``where`` (one of this module's constant clauses)."""
    with connection.cursor() as cursor:
        cursor.execute(_CREDENTIAL_SELECT + where, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = dict(zip(_CREDENTIAL_COLUMNS, row, strict=True))
    values["valid_from"] = _aware(values["valid_from"])
    values["valid_until"] = _aware(values["valid_until"])
    credential = Credential(**values)
    credential._state.adding = False
    credential._state.db = connection.alias
    return credential


def _first_use(claims: passes.Claims) -> bool:
    """Record a pass's nonce until it expires; say whether it was seen for the first time."""
    expires = dt.datetime.fromtimestamp(claims.expires_at + passes.CLOCK_SKEW, dt.UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO access_passuse (key_id, nonce, expires_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (key_id, nonce) DO NOTHING",
            [claims.key_id, claims.nonce, _adapt(expires)],
        )
        return bool(cursor.rowcount == 1)


def _log(
    point: AccessPoint,
    presented: Presented,
    credential: Credential | None,
    device_id: int | None,
    allowed: bool,
    reason: str,
    now: dt.datetime,
) -> int:
    """Insert the attempt's access-log entry; return its id."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO access_accessevent (community_id, at, point_id, device_id, person_id,"
            " visitor_id, credential_id, method, direction, result, reason, score, snapshot,"
            " mode, msg_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '')"
            " RETURNING id",
            [
                point.community_id,
                _adapt(now),
                point.pk,
                device_id,
                credential.person_id if credential else None,
                credential.visitor_id if credential else None,
                credential.pk if credential else None,
                presented.method if presented.method in CredentialKind.values else "",
                presented.direction if presented.direction in ("in", "out") else "",
                Result.ALLOW if allowed else Result.DENY,
                reason,
                presented.score,
                presented.snapshot[:200],
                Mode.ONLINE,
            ],
        )
        return int(cursor.fetchone()[0])


def _credential(
    point: AccessPoint, presented: Presented, now: dt.datetime
) -> tuple[Credential, passes.Claims | None]:
    method = presented.method
    community_id = point.community_id
    found: Credential | None
    claims: passes.Claims | None = None
    if method == CredentialKind.QR:
        claims = _verify_pass(point, presented.value, now)
        found = _credential_where(
            "id = %s AND community_id = %s AND kind = %s",
            [claims.credential_id, community_id, CredentialKind.QR],
        )
        if found is None:  # still recorded: the pass may not be tried twice
            raise _Denied(Reason.UNKNOWN_CREDENTIAL)
    elif method == CredentialKind.CARD:
        if not presented.value.strip():
            raise _Denied(Reason.MALFORMED)
        found = _by_hash(community_id, CredentialKind.CARD, card_hash(presented.value))
    elif method == CredentialKind.PIN:
        if not presented.value.isdigit() or not 4 <= len(presented.value) <= 8:
            raise _Denied(Reason.MALFORMED)
        if _pin_locked(point, now):
            raise _Denied(Reason.PIN_LOCKED)
        found = _by_hash(community_id, CredentialKind.PIN, pin_hash(community_id, presented.value))
        if found is None:
            raise _Denied(Reason.WRONG_PIN)
    elif method in BIOMETRIC_KINDS:
        found = (
            _credential_where(
                "id = %s AND community_id = %s AND kind = %s",
                [presented.credential_id, community_id, method],
            )
            if presented.credential_id
            else None
        )
    else:
        raise _Denied(Reason.MALFORMED)
    if found is None:
        raise _Denied(Reason.UNKNOWN_CREDENTIAL)
    return found, claims


def _by_hash(community_id: int, kind: str, digest: str) -> Credential | None:
    """The credential with this lookup hash: the active one, else the newest."""
    return _credential_where(
        "community_id = %s AND kind = %s AND lookup_hash = %s"
        " ORDER BY CASE WHEN status = %s THEN 0 ELSE 1 END, issued_at DESC LIMIT 1",
        [community_id, kind, digest, CredentialStatus.ACTIVE],
    )


def _pin_locked(point: AccessPoint, now: dt.datetime) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM access_accessevent"
            " WHERE point_id = %s AND reason = %s AND at > %s AND method = %s",
            [point.pk, Reason.WRONG_PIN, _adapt(now - PIN_LOCKOUT), CredentialKind.PIN],
        )
        failures = int(cursor.fetchone()[0])
    return failures >= PIN_MAX_FAILURES


def _verify_pass(point: AccessPoint, text: str, now: dt.datetime) -> passes.Claims:
    community_keys = keys.cache.get(point.community_id)
    try:
        return passes.verify(
            text,
            keys=community_keys.public,
            community_id=point.community_id,
            now=now.timestamp(),
            scope=passes.Scope.DOOR | passes.Scope.VISITOR,
            revoked=community_keys.revoked,
        )
    except passes.PassRefused as refused:
        raise _Denied(pass_reason(refused.reason)) from None


def _check_credential(credential: Credential, now: dt.datetime) -> str | None:
    if credential.status == CredentialStatus.SUSPENDED:
        return Reason.CREDENTIAL_SUSPENDED
    if credential.status == CredentialStatus.REVOKED:
        return Reason.CREDENTIAL_REVOKED
    if credential.status == CredentialStatus.EXPIRED or (
        credential.valid_until is not None and now >= credential.valid_until
    ):
        return Reason.CREDENTIAL_EXPIRED
    if credential.valid_from is not None and now < credential.valid_from:
        return Reason.CREDENTIAL_NOT_YET_VALID
    if credential.kind in BIOMETRIC_KINDS and (
        credential.consent is None or credential.consent.revoked_at is not None
    ):
        return Reason.NO_CONSENT
    return None


def _check_holder(point: AccessPoint, credential: Credential, now: dt.datetime) -> str:
    if credential.visitor_id is not None:
        return _check_visitor(point, credential, now)
    if credential.person_id is None:
        return Reason.UNKNOWN_CREDENTIAL
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT effect, schedule_id, valid_from, valid_until FROM access_accessright"
            " WHERE point_id = %s AND person_id = %s",
            [point.pk, credential.person_id],
        )
        rights = [(e, s, _aware(f), _aware(u)) for e, s, f, u in cursor.fetchall()]
    if not rights:
        return Reason.NO_PERMISSION
    applying = [
        effect
        for effect, schedule_id, valid_from, valid_until in rights
        if open_now(point.community_id, schedule_id, valid_from, valid_until, now)
    ]
    if Effect.DENY in applying:
        return Reason.DENIED_BY_POLICY
    if Effect.ALLOW in applying:
        return Reason.ALLOWED
    return Reason.OUTSIDE_SCHEDULE


def _check_visitor(point: AccessPoint, credential: Credential, now: dt.datetime) -> str:
    visitor = credential.visitor
    if visitor is None:  # the visitor was deleted
        return Reason.UNKNOWN_CREDENTIAL
    if visitor.status == VisitorStatus.CANCELLED:
        return Reason.VISITOR_CANCELLED
    if now < visitor.starts_at:
        return Reason.VISITOR_NOT_YET_VALID
    if now >= visitor.ends_at or visitor.status in (VisitorStatus.LEFT, VisitorStatus.EXPIRED):
        return Reason.VISITOR_EXPIRED
    named = set(visitor.points.values_list("pk", flat=True))
    denies = _visitor_policies(point, Effect.DENY)
    if any(open_now(point.community_id, *p, now) for p in denies):
        return Reason.DENIED_BY_POLICY
    if named:
        return Reason.VISITOR_ALLOWED if point.pk in named else Reason.NO_PERMISSION
    allows = _visitor_policies(point, Effect.ALLOW)
    if not allows:
        return Reason.NO_PERMISSION
    if any(open_now(point.community_id, *p, now) for p in allows):
        return Reason.VISITOR_ALLOWED
    return Reason.OUTSIDE_SCHEDULE


def _visitor_policies(
    point: AccessPoint, effect: str
) -> list[tuple[int | None, dt.datetime | None, dt.datetime | None]]:
    return list(
        Policy.objects.filter(
            community_id=point.community_id,
            enabled=True,
            effect=effect,
            group__kind=GroupKind.VISITORS,
        )
        .filter(Q(all_points=True) | Q(points=point))
        .distinct()
        .values_list("schedule_id", "valid_from", "valid_until")
    )


def _visitor_arrived(credential: Credential, now: dt.datetime) -> None:
    Visitor.objects.filter(pk=credential.visitor_id or 0, status=VisitorStatus.INVITED).update(
        status=VisitorStatus.ARRIVED, arrived_at=now
    )


__all__ = ["Decision", "Presented", "Reason", "card_hash", "decide", "open_now", "pin_hash"]
