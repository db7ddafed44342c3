"""API schemas of access control. No credential secret or hash ever appears: a card is
shown masked, and a generated PIN only in the response that issued it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema

from linli.access.choices import (
    ConsentChannel,
    CredentialKind,
    DayKind,
    Direction,
    Effect,
    GroupKind,
    HolidayRule,
    Modality,
    PointKind,
    reason_label,
)

_CODE = r"^[A-Za-z0-9_-]{1,40}$"


# Access points ------------------------------------------------------------------------


class AccessPointOut(Schema):
    """An access point (通行点) and the terminals serving it."""

    id: int
    community_id: int
    code: str
    name: str
    kind: str
    direction: str
    building_id: int | None
    unit_id: int | None
    area_id: int | None
    enabled: bool
    device_ids: list[int]
    created_at: dt.datetime

    @staticmethod
    def resolve_device_ids(obj: Any) -> list[int]:
        """List the ids of the point's terminals (prefetched)."""
        return sorted(d.pk for d in obj.devices.all())


class AccessPointIn(Schema):
    """An access point to create."""

    code: str = Field(pattern=_CODE, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    kind: PointKind
    direction: Direction = Direction.BOTH
    building_id: int | None = None
    unit_id: int | None = None
    area_id: int | None = None
    device_ids: list[int] = Field(default_factory=list)
    enabled: bool = True


class AccessPointPatch(Schema):
    """Changes to an access point; omitted fields stay as they are."""

    code: str | None = Field(None, pattern=_CODE, max_length=40)
    name: str | None = Field(None, min_length=1, max_length=100)
    kind: PointKind | None = None
    direction: Direction | None = None
    building_id: int | None = None
    unit_id: int | None = None
    area_id: int | None = None
    device_ids: list[int] | None = None
    enabled: bool | None = None


class PersonRefOut(Schema):
    """A person named in an access answer (name only; nothing sealed)."""

    id: int
    name: str


# Schedules and holidays ---------------------------------------------------------------


class ScheduleOut(Schema):
    """A schedule (时间表): weekly windows in the community's time zone, holiday rule, dates."""

    id: int
    community_id: int
    name: str
    windows: list[dict[str, Any]]
    holiday_rule: str
    holiday_windows: list[dict[str, Any]]
    date_from: dt.date | None
    date_to: dt.date | None


class ScheduleIn(Schema):
    """A schedule to create. ``windows``: ``[{"days": [1…7], "start": "HH:MM", "end": …}]``;
    ``holiday_windows`` have no ``days``. An ``end`` before ``start`` runs past midnight."""

    name: str = Field(min_length=1, max_length=100)
    windows: list[Any]
    holiday_rule: HolidayRule = HolidayRule.AS_USUAL
    holiday_windows: list[Any] = Field(default_factory=list)
    date_from: dt.date | None = None
    date_to: dt.date | None = None


class SchedulePatch(Schema):
    """Changes to a schedule; omitted fields stay as they are."""

    name: str | None = Field(None, min_length=1, max_length=100)
    windows: list[Any] | None = None
    holiday_rule: HolidayRule | None = None
    holiday_windows: list[Any] | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


class HolidayOut(Schema):
    """A public holiday or 调休 workday; ``community_id`` empty: for every community."""

    id: int
    community_id: int | None
    date: dt.date
    kind: str
    name: str


class HolidayIn(Schema):
    """A holiday or 调休 workday to add."""

    date: dt.date
    kind: DayKind
    name: str = Field("", max_length=50)


class HolidayPatch(Schema):
    """Changes to a holiday (its date stays)."""

    kind: DayKind | None = None
    name: str | None = Field(None, max_length=50)


# Groups and policies ------------------------------------------------------------------


class GroupOut(Schema):
    """A group (人员组); ``member_ids`` only for a named list."""

    id: int
    community_id: int
    name: str
    kind: str
    building_id: int | None
    unit_id: int | None
    roles: list[str]
    member_ids: list[int]

    @staticmethod
    def resolve_member_ids(obj: Any) -> list[int]:
        """List the ids of a named list's members (prefetched)."""
        return sorted(p.pk for p in obj.members.all())


class GroupIn(Schema):
    """A group to create: residents (of a building or unit), staff by role, a named list …"""

    name: str = Field(min_length=1, max_length=100)
    kind: GroupKind
    building_id: int | None = None
    unit_id: int | None = None
    roles: list[str] = Field(default_factory=list)
    member_ids: list[int] = Field(default_factory=list)


class GroupPatch(Schema):
    """Changes to a group; a new ``kind`` starts without the old kind's settings."""

    name: str | None = Field(None, min_length=1, max_length=100)
    kind: GroupKind | None = None
    building_id: int | None = None
    unit_id: int | None = None
    roles: list[str] | None = None
    member_ids: list[int] | None = None


class PolicyOut(Schema):
    """A policy (通行策略): group × access points × schedule → allow or deny."""

    id: int
    community_id: int
    name: str
    effect: str
    group_id: int
    point_ids: list[int]
    all_points: bool
    schedule_id: int | None
    valid_from: dt.datetime | None
    valid_until: dt.datetime | None
    enabled: bool
    created_at: dt.datetime

    @staticmethod
    def resolve_point_ids(obj: Any) -> list[int]:
        """List the ids of the points the policy names (prefetched)."""
        return sorted(p.pk for p in obj.points.all())


class PolicyIn(Schema):
    """A policy to create; name access points, or set ``all_points``."""

    name: str = Field(min_length=1, max_length=100)
    effect: Effect
    group_id: int
    point_ids: list[int] = Field(default_factory=list)
    all_points: bool = False
    schedule_id: int | None = None
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    enabled: bool = True


class PolicyPatch(Schema):
    """Changes to a policy; omitted fields stay as they are."""

    name: str | None = Field(None, min_length=1, max_length=100)
    effect: Effect | None = None
    group_id: int | None = None
    point_ids: list[int] | None = None
    all_points: bool | None = None
    schedule_id: int | None = None
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    enabled: bool | None = None


# Credentials and consent --------------------------------------------------------------


class CredentialOut(Schema):
    """A credential (凭证): its kind and state, a card number masked, never a secret."""

    id: int
    community_id: int
    person_id: int | None
    kind: str
    status: str
    status_reason: str
    masked: str
    consent_id: int | None
    valid_from: dt.datetime | None
    valid_until: dt.datetime | None
    issued_at: dt.datetime
    changed_at: dt.datetime


class CredentialIn(Schema):
    """A credential to issue. ``value``: a card's UID, or a chosen PIN (empty: generated)."""

    community_id: int
    kind: CredentialKind
    value: str = Field("", max_length=64)
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None


class CredentialIssuedOut(Schema):
    """An issued credential; ``pin`` is the generated PIN, shown in this response only."""

    credential: CredentialOut
    pin: str | None


class CredentialStatusIn(Schema):
    """Suspend, resume or revoke a credential."""

    action: str = Field(pattern=r"^(suspend|resume|revoke)$")
    reason: str = Field("", max_length=100)


class ConsentOut(Schema):
    """A person's consent to one biometric."""

    id: int
    community_id: int
    person_id: int
    modality: str
    text_version: str
    channel: str
    guardian_name: str
    given_at: dt.datetime
    revoked_at: dt.datetime | None


class ConsentIn(Schema):
    """A consent to record (a guardian's name for a child under 14)."""

    community_id: int
    modality: Modality
    text_version: str = Field(min_length=1, max_length=20)
    channel: ConsentChannel
    guardian_name: str = Field("", max_length=100)


# The access log and the resident's pass -----------------------------------------------


class AccessEventOut(Schema):
    """One attempt to pass (通行记录), with the reason code and its label."""

    id: int
    community_id: int
    at: dt.datetime
    point_id: int | None
    point_name: str | None
    device_id: int | None
    person_id: int | None
    person_name: str | None
    visitor_id: int | None
    visitor_name: str | None
    credential_id: int | None
    method: str
    direction: str
    result: str
    reason: str
    reason_label: str
    score: float | None
    mode: str

    @staticmethod
    def resolve_point_name(obj: Any) -> str | None:
        """Name the access point, if it still exists."""
        return obj.point.name if obj.point is not None else None

    @staticmethod
    def resolve_person_name(obj: Any) -> str | None:
        """Name the person who tried, if known."""
        return obj.person.name if obj.person is not None else None

    @staticmethod
    def resolve_visitor_name(obj: Any) -> str | None:
        """Name the visitor who tried, if one did."""
        return obj.visitor.name if obj.visitor is not None else None

    @staticmethod
    def resolve_reason_label(obj: Any) -> str:
        """Label the reason code in the request's language."""
        return reason_label(obj.reason)


class PassOut(Schema):
    """A fresh 一码通 pass to show as a QR code, and when it stops being accepted."""

    community_id: int
    text: str
    expires_at: dt.datetime
