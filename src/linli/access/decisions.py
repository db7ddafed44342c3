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
    Consent,
    Holiday,
    Policy,
    Schedule,
    Visitor,
)
from linli.core import crypto, sql, sqlite

PIN_MAX_FAILURES = 5
PIN_LOCKOUT = dt.timedelta(minutes=10)
_METHODS = frozenset(CredentialKind.values)
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

    @classmethod
    def asked(cls, request: Any) -> Presented:
        """What a terminal's request presents: the body of ``POST decide`` or the payload of
        an ``access_request`` message (both carry these fields)."""
        return cls(
            method=request.method,
            value=request.value,
            credential_id=request.credential_id,
            score=request.score,
            direction=request.direction,
            snapshot=request.snapshot,
        )


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
    def __init__(self, reason: str, claims: passes.Claims | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.claims = claims  # a pass refused after its signature checked is still recorded


@dataclasses.dataclass(frozen=True, slots=True)
class _Held:
    """The columns of a presented credential that a decision reads (a model instance cost
    more to build than the statement that read them)."""

    pk: int
    community_id: int
    person_id: int | None
    visitor_id: int | None
    kind: str
    status: str
    valid_from: dt.datetime | None
    valid_until: dt.datetime | None
    consent_id: int | None


@dataclasses.dataclass
class _Found:
    """What one lookup read: the credential, the holder's rights at the point, a pass's
    claims."""

    credential: _Held
    rights: list[tuple[str, int | None, dt.datetime | None, dt.datetime | None]]
    claims: passes.Claims | None = None


def decide(
    point: AccessPoint,
    presented: Presented,
    *,
    device_id: int | None = None,
    now: dt.datetime | None = None,
    msg_id: str = "",
) -> Decision:
    """Decide one attempt at ``point`` and log it; never raises for bad input.

    ``msg_id`` is the id of the terminal's request when it came as a device message: the
    log entry keeps it, so a repeated request is answered from it (:mod:`.requests`).

    A decision is two statements: one read (the credential, its holder's compiled rights
    at the point and, for a PIN, the point's recent wrong PINs) and one write (the log
    entry, with a pass's nonce on PostgreSQL), each its own transaction unless the caller
    holds one. A database that serialises writers (SQLite) so holds its write lock only
    for the write. The statements are written out as SQL: building them through the ORM
    cost more than running them, and every extra round trip to the database counted
    (docs/benchmarks.md, ``access``).
    """
    now = now or timezone.now()
    found: _Found | None = None
    claims: passes.Claims | None = None
    try:
        if not point.enabled:
            raise _Denied(Reason.POINT_DISABLED)
        found = _lookup(point, presented, now)
        claims = found.claims
        reason = _check_credential(found.credential, now) or _check_holder(point, found, now)
    except _Denied as denied:
        reason = denied.reason
        claims = denied.claims or claims
    credential = found.credential if found else None
    visitor_id = credential.visitor_id if credential else None
    allowed = reason in (Reason.ALLOWED, Reason.VISITOR_ALLOWED)
    logged = (point, presented, credential, device_id, reason, now, claims, msg_id)
    with sqlite.writer_turn():
        if visitor_id is None or not allowed:
            event_id, reason = _log(*logged)
        else:
            with transaction.atomic():
                event_id, reason = _log(*logged)
                if reason == Reason.VISITOR_ALLOWED:
                    _visitor_arrived(visitor_id, now)
    allowed = reason in (Reason.ALLOWED, Reason.VISITOR_ALLOWED)
    return Decision(
        allowed,
        reason,
        event_id,
        credential.person_id if credential else None,
        visitor_id,
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
# The credential (subquery ``c``, one row at most) with its holder's rights at the point
# (none for a visitor): one row per right, or one row with NULL rights.
_WITH_RIGHTS = (
    f"SELECT {', '.join('c.' + c for c in _CREDENTIAL_COLUMNS)},"  # noqa: S608
    " r.effect, r.schedule_id, r.valid_from, r.valid_until FROM ({credential}) c"
    " LEFT JOIN access_accessright r ON r.person_id = c.person_id AND r.point_id = %s"
)
# A PIN's lookup also counts the point's recent wrong PINs (subquery ``f``, one row), so a
# lock-out is known from the same statement whether the PIN matched or not. The reason is
# written out (``Reason.WRONG_PIN``) so the partial index on wrong PINs can be used.
_PIN_LOOKUP = (
    "SELECT f.failures, {columns}, r.effect, r.schedule_id, r.valid_from, r.valid_until"
    " FROM (SELECT COUNT(*) AS failures FROM access_accessevent"
    " WHERE point_id = %s AND reason = 'wrong_pin' AND at > %s AND method = %s) f"
    " LEFT JOIN ({credential}) c ON TRUE"
    " LEFT JOIN access_accessright r ON r.person_id = c.person_id AND r.point_id = %s"
).replace("{columns}", ", ".join("c." + c for c in _CREDENTIAL_COLUMNS))
_BY_ID = "id = %s AND community_id = %s AND kind = %s"
# By lookup hash: the active credential, else the newest.
_BY_HASH = (
    "community_id = %s AND kind = %s AND lookup_hash = %s"
    " ORDER BY CASE WHEN status = %s THEN 0 ELSE 1 END, issued_at DESC LIMIT 1"
)
_BY_ID_LOOKUP = _WITH_RIGHTS.format(credential=_CREDENTIAL_SELECT + _BY_ID)
_CARD_LOOKUP = _WITH_RIGHTS.format(credential=_CREDENTIAL_SELECT + _BY_HASH)
_PIN_LOOKUP = _PIN_LOOKUP.format(credential=_CREDENTIAL_SELECT + _BY_HASH)


def _found(rows: list[tuple[Any, ...]], claims: passes.Claims | None = None) -> _Found | None:
    """The lookup's rows (credential columns, then a right's) as a :class:`_Found`."""
    if not rows or rows[0][0] is None:
        return None
    width = len(_CREDENTIAL_COLUMNS)
    pk, community_id, person_id, visitor_id, kind, status, since, until, consent_id = rows[0][
        :width
    ]
    credential = _Held(
        pk,
        community_id,
        person_id,
        visitor_id,
        kind,
        status,
        _aware(since),
        _aware(until),
        consent_id,
    )
    rights = [
        (row[width], row[width + 1], _aware(row[width + 2]), _aware(row[width + 3]))
        for row in rows
        if row[width] is not None
    ]
    return _Found(credential, rights, claims)


def _rows(statement: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with sql.bound_cursor() as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall())


def _lookup(point: AccessPoint, presented: Presented, now: dt.datetime) -> _Found:
    """Find the presented credential and its holder's rights at ``point`` (one statement)."""
    method = presented.method
    community_id = point.community_id
    found: _Found | None = None
    if method == CredentialKind.QR:
        claims = _verify_pass(point, presented.value, now)
        params = [claims.credential_id, community_id, CredentialKind.QR, point.pk]
        rows = _rows(_BY_ID_LOOKUP, params)
        found = _found(rows, claims)
        if found is None:  # the pass is still recorded: it may not be tried twice
            raise _Denied(Reason.UNKNOWN_CREDENTIAL, claims=claims)
    elif method == CredentialKind.CARD:
        if not presented.value.strip():
            raise _Denied(Reason.MALFORMED)
        digest = card_hash(presented.value)
        params = [community_id, method, digest, CredentialStatus.ACTIVE, point.pk]
        rows = _rows(_CARD_LOOKUP, params)
        found = _found(rows)
    elif method == CredentialKind.PIN:
        if not presented.value.isdigit() or not 4 <= len(presented.value) <= 8:
            raise _Denied(Reason.MALFORMED)
        digest = pin_hash(community_id, presented.value)
        since = _adapt(now - PIN_LOCKOUT)
        failures = [point.pk, since, CredentialKind.PIN]
        credential = [community_id, method, digest, CredentialStatus.ACTIVE, point.pk]
        rows = _rows(_PIN_LOOKUP, [*failures, *credential])
        if int(rows[0][0]) >= PIN_MAX_FAILURES:
            raise _Denied(Reason.PIN_LOCKED)
        found = _found([row[1:] for row in rows])
        if found is None:
            raise _Denied(Reason.WRONG_PIN)
    elif method in BIOMETRIC_KINDS:
        if presented.credential_id:
            params = [presented.credential_id, community_id, method, point.pk]
            found = _found(_rows(_BY_ID_LOOKUP, params))  # matched by the engine
    else:
        raise _Denied(Reason.MALFORMED)
    if found is None:
        raise _Denied(Reason.UNKNOWN_CREDENTIAL)
    return found


_EVENT_COLUMNS = (
    "community_id, at, point_id, device_id, person_id, visitor_id, credential_id, method,"
    " direction, score, snapshot, mode, msg_id, result, reason"
)
_EVENT_INSERT = (
    f"INSERT INTO access_accessevent ({_EVENT_COLUMNS})"  # noqa: S608
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id, reason"
)
_NONCE_INSERT = (
    "INSERT INTO access_passuse (key_id, nonce, expires_at) VALUES (%s, %s, %s)"
    " ON CONFLICT (key_id, nonce) DO NOTHING"
)
# PostgreSQL records a pass's nonce and logs the attempt in one statement: the log entry
# says ``replayed`` when the nonce was already there.
_PASS_EVENT_INSERT = (
    f"WITH used AS ({_NONCE_INSERT} RETURNING 1),"  # noqa: S608
    " fresh AS (SELECT EXISTS (SELECT 1 FROM used) AS first)"
    f" INSERT INTO access_accessevent ({_EVENT_COLUMNS})"
    " SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
    " CASE WHEN fresh.first THEN %s ELSE %s END, CASE WHEN fresh.first THEN %s ELSE %s END"
    " FROM fresh RETURNING id, reason"
)


def _log(
    point: AccessPoint,
    presented: Presented,
    credential: _Held | None,
    device_id: int | None,
    reason: str,
    now: dt.datetime,
    claims: passes.Claims | None,
    msg_id: str,
) -> tuple[int, str]:
    """Record a pass's nonce (a second use turns the reason into ``replayed``) and insert
    the attempt's access-log entry; return its id and final reason."""
    allowed = reason in (Reason.ALLOWED, Reason.VISITOR_ALLOWED)
    fields = [
        point.community_id,
        _adapt(now),
        point.pk,
        device_id,
        credential.person_id if credential else None,
        credential.visitor_id if credential else None,
        credential.pk if credential else None,
        presented.method if presented.method in _METHODS else "",
        presented.direction if presented.direction in ("in", "out") else "",
        presented.score,
        presented.snapshot[:200],
        Mode.ONLINE,
        msg_id,
    ]
    result = Result.ALLOW if allowed else Result.DENY
    with sql.bound_cursor() as cursor:
        if claims is None:
            cursor.execute(_EVENT_INSERT, [*fields, result, reason])
            event_id, final = cursor.fetchone()
        else:
            expires = dt.datetime.fromtimestamp(claims.expires_at + passes.CLOCK_SKEW, dt.UTC)
            nonce = [claims.key_id, claims.nonce, _adapt(expires)]
            if connection.vendor == "postgresql":
                replayed = [Result.DENY, Reason.REPLAYED]
                cursor.execute(
                    _PASS_EVENT_INSERT,
                    [*nonce, *fields, result, replayed[0], reason, replayed[1]],
                )
                event_id, final = cursor.fetchone()
            else:
                with transaction.atomic():
                    cursor.execute(_NONCE_INSERT, nonce)
                    if cursor.rowcount != 1:
                        result, reason = Result.DENY, Reason.REPLAYED
                    cursor.execute(_EVENT_INSERT, [*fields, result, reason])
                    event_id, final = cursor.fetchone()  # SQLite: before the RELEASE
    return int(event_id), str(final)


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


def _check_credential(credential: _Held, now: dt.datetime) -> str | None:
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
    if credential.kind in BIOMETRIC_KINDS and not (
        credential.consent_id is not None
        and Consent.objects.filter(pk=credential.consent_id, revoked_at__isnull=True).exists()
    ):
        return Reason.NO_CONSENT
    return None


def _check_holder(point: AccessPoint, found: _Found, now: dt.datetime) -> str:
    credential = found.credential
    if credential.visitor_id is not None:
        return _check_visitor(point, credential.visitor_id, now)
    if credential.person_id is None:
        return Reason.UNKNOWN_CREDENTIAL
    if not found.rights:
        return Reason.NO_PERMISSION
    applying = [
        effect
        for effect, schedule_id, valid_from, valid_until in found.rights
        if open_now(point.community_id, schedule_id, valid_from, valid_until, now)
    ]
    if Effect.DENY in applying:
        return Reason.DENIED_BY_POLICY
    if Effect.ALLOW in applying:
        return Reason.ALLOWED
    return Reason.OUTSIDE_SCHEDULE


def _check_visitor(point: AccessPoint, visitor_id: int, now: dt.datetime) -> str:
    visitor = Visitor.objects.filter(pk=visitor_id).first()
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


def _visitor_arrived(visitor_id: int, now: dt.datetime) -> None:
    Visitor.objects.filter(pk=visitor_id, status=VisitorStatus.INVITED).update(
        status=VisitorStatus.ARRIVED, arrived_at=now
    )


__all__ = ["Decision", "Presented", "Reason", "card_hash", "decide", "open_now", "pin_hash"]
