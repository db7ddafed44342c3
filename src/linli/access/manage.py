"""The only writers of access control's configuration: points, schedules, holidays, groups,
policies.

Every change is checked (relations from the same community, kind-specific rules, windows
that parse), authorised with ``access.manage`` on the community, written in one
transaction with its audit row, and keeps the compiled rights true in that transaction:
a policy is recompiled when it or its group changes, and the ``all_points`` policies of a
community when an access point is added. Changes a terminal must learn about (a point's
code, its terminals, a schedule's windows) append allowlist changes for the people
concerned (:func:`linli.access.sync.touch`). Deleting a schedule or group a policy still
uses is refused (``in_use``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from linli.access import compile, schedules, sync
from linli.access.choices import DayKind, Direction, Effect, GroupKind, HolidayRule, PointKind
from linli.access.decisions import calendars
from linli.access.models import AccessPoint, AccessRight, Group, Holiday, Policy, Schedule
from linli.core import audit, errors
from linli.core.choices import Role
from linli.core.tenancy import Actor
from linli.devices.actions import check_location
from linli.devices.models import Device
from linli.people.models import Membership
from linli.places.models import Community

MAX_NAME = 100
MAX_DEVICES = 50
MAX_MEMBERS = 5000

Details = dict[str, list[str]]


def _elsewhere() -> str:
    return _("不存在或不属于该社区。")


def _name(details: Details, name: str, field: str = "name") -> str:
    clean = name.strip()
    if not clean or len(clean) > MAX_NAME:
        details[field] = [_("请填写名称（不超过100字）。")]
    return clean


def _raise(details: Details) -> None:
    if details:
        raise errors.ValidationFailed(details=details)


def _unknown(values: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = set(values) - set(allowed)
    if unknown:
        raise errors.ValidationFailed(details={k: [_("不可修改。")] for k in sorted(unknown)})


def _ids(values: Iterable[int] | None) -> list[int]:
    return sorted(set(values or ()))


def _touch_point(point: AccessPoint) -> None:
    """Tell terminals that everyone with a right at ``point`` (or a pass for it) changed."""
    people = AccessRight.objects.filter(point=point).values_list("person_id", flat=True)
    visitors = point.visitors.values_list("pk", flat=True)
    sync.touch(point.community_id, people=set(people), visitors=set(visitors))


def _forget_calendars() -> None:
    # Decisions cache schedules and holidays for a few seconds; this process forgets at once.
    transaction.on_commit(calendars.forget)


# Access points ------------------------------------------------------------------------

POINT_FIELDS = ("code", "name", "kind", "direction", "building", "unit", "area", "enabled")
POINT_UPDATABLE = (
    "code",
    "name",
    "kind",
    "direction",
    "building_id",
    "unit_id",
    "area_id",
    "enabled",
    "device_ids",
)


def _check_point_values(details: Details, values: dict[str, Any]) -> None:
    if "kind" in values and values["kind"] not in PointKind.values:
        details["kind"] = [_("未知的通行点类型。")]
    if "direction" in values and values["direction"] not in Direction.values:
        details["direction"] = [_("未知的通行方向。")]
    if "code" in values:
        code = values["code"]
        if (
            not code
            or len(code) > 40
            or not all(c.isascii() and (c.isalnum() or c in "-_") for c in code)
        ):
            details["code"] = [_("编号须为1–40位字母、数字、“-”或“_”。")]


def _devices(community_id: int, device_ids: list[int]) -> list[Device]:
    if len(device_ids) > MAX_DEVICES:
        raise errors.ValidationFailed(
            details={"device_ids": [_("一个通行点最多 %(n)d 台终端。") % {"n": MAX_DEVICES}]}
        )
    devices = list(Device.objects.filter(pk__in=device_ids, community_id=community_id))
    if len(devices) != len(device_ids):
        raise errors.ValidationFailed(details={"device_ids": [_elsewhere()]})
    return devices


def _check_point_code(community_id: int, code: str, exclude: int | None) -> None:
    others = AccessPoint.objects.filter(community_id=community_id, code=code)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    if others.exists():
        raise _duplicate_code(code)


def _duplicate_code(code: str) -> errors.Conflict:
    return errors.Conflict(
        _("该社区已有此编号的通行点。"), code="duplicate_point_code", details={"code": [code]}
    )


def _save_point(point: AccessPoint, **kwargs: Any) -> None:
    try:
        with transaction.atomic():
            point.save(**kwargs)
    except IntegrityError as exc:  # a concurrent writer took the code first
        raise _duplicate_code(point.code) from exc


def do_create_access_point(
    actor: Actor,
    community: Community,
    *,
    code: str,
    name: str,
    kind: str,
    direction: str = Direction.BOTH,
    building_id: int | None = None,
    unit_id: int | None = None,
    area_id: int | None = None,
    device_ids: Iterable[int] = (),
    enabled: bool = True,
) -> AccessPoint:
    """Create an access point (通行点) with its terminals; ``all_points`` policies cover it."""
    actor.require("access.manage", community.pk)
    details: Details = {}
    name = _name(details, name)
    _check_point_values(details, {"code": code, "kind": kind, "direction": direction})
    _raise(details)
    building_id, unit_id, area_id = check_location(community.pk, building_id, unit_id, area_id)
    devices = _devices(community.pk, _ids(device_ids))
    _check_point_code(community.pk, code, None)
    point = AccessPoint(
        community=community,
        code=code,
        name=name,
        kind=kind,
        direction=direction,
        building_id=building_id,
        unit_id=unit_id,
        area_id=area_id,
        enabled=enabled,
    )
    with transaction.atomic():
        _save_point(point, force_insert=True)
        point.devices.set(devices)
        rights = _recompile(Policy.objects.filter(community_id=community.pk, all_points=True))
        audit.record(
            actor,
            "access.point.create",
            point,
            community_id=community.pk,
            changes=audit.diff({}, audit.snapshot(point, POINT_FIELDS))
            | {"devices": [None, sorted(d.pk for d in devices)], "rights": [None, rights]},
        )
    return point


def do_update_access_point(actor: Actor, point: AccessPoint, **values: Any) -> AccessPoint:
    """Change an access point's code, name, kind, place, terminals or whether it is enabled."""
    actor.require("access.manage", point.community_id)
    _unknown(values, POINT_UPDATABLE)
    details: Details = {}
    if "name" in values:
        values["name"] = _name(details, values["name"] or "")
    _check_point_values(details, values)
    if "enabled" in values and values["enabled"] is None:
        details["enabled"] = [_("不能为空。")]
    _raise(details)
    if {"building_id", "unit_id", "area_id"} & set(values):
        building_id, unit_id, area_id = check_location(
            point.community_id,
            values.get("building_id", point.building_id),
            values.get("unit_id", point.unit_id),
            values.get("area_id", point.area_id),
        )
        values.update(building_id=building_id, unit_id=unit_id, area_id=area_id)
    devices: list[Device] | None = None
    if "device_ids" in values:
        devices = _devices(point.community_id, _ids(values.pop("device_ids")))
    if "code" in values:
        _check_point_code(point.community_id, values["code"], point.pk)
    fields = [k.removesuffix("_id") for k in values]
    before = audit.snapshot(point, fields)
    for field, value in values.items():
        setattr(point, field, value)
    changes = audit.diff(before, audit.snapshot(point, fields))
    with transaction.atomic():
        if devices is not None:
            old = sorted(point.devices.values_list("pk", flat=True))
            new = sorted(d.pk for d in devices)
            if old != new:
                point.devices.set(devices)
                changes["devices"] = [old, new]
        if not changes:
            return point
        if values:
            _save_point(point, update_fields=list(values))
        if {"code", "enabled", "devices"} & set(changes):
            _touch_point(point)
        audit.record(
            actor, "access.point.update", point, community_id=point.community_id, changes=changes
        )
    return point


def do_delete_access_point(actor: Actor, point: AccessPoint) -> None:
    """Delete an access point; its rights go with it and the access log keeps its entries."""
    actor.require("access.manage", point.community_id)
    with transaction.atomic():
        _touch_point(point)
        snapshot = audit.snapshot(point, POINT_FIELDS)
        audit.record(
            actor,
            "access.point.delete",
            point,
            community_id=point.community_id,
            changes=audit.diff(snapshot, {}),
        )
        point.delete()


# Schedules ----------------------------------------------------------------------------

SCHEDULE_FIELDS = ("name", "windows", "holiday_rule", "holiday_windows", "date_from", "date_to")


def _check_schedule(values: dict[str, Any]) -> None:
    """Check a schedule's complete values; raise with the offending field named."""
    details: Details = {}
    values["name"] = _name(details, values.get("name") or "")
    for field, with_days in (("windows", True), ("holiday_windows", False)):
        try:
            schedules.parse_windows(values[field], field, with_days=with_days)
        except schedules.ScheduleError as exc:
            details[exc.field] = [_("时段有误：%(reason)s") % {"reason": exc.message}]
    rule = values["holiday_rule"]
    if rule not in HolidayRule.values:
        details["holiday_rule"] = [_("未知的节假日规则。")]
    elif rule == HolidayRule.HOLIDAY_WINDOWS and not values["holiday_windows"]:
        details.setdefault("holiday_windows", [_("按节假日时段开放时，请填写节假日时段。")])
    date_from, date_to = values["date_from"], values["date_to"]
    if date_from is not None and date_to is not None and date_to < date_from:
        details["date_to"] = [_("结束日期不能早于起始日期。")]
    _raise(details)


def do_create_schedule(
    actor: Actor,
    community: Community,
    *,
    name: str,
    windows: list[Any],
    holiday_rule: str = HolidayRule.AS_USUAL,
    holiday_windows: list[Any] | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> Schedule:
    """Create a schedule (时间表): weekly windows, a holiday rule and an optional date range."""
    actor.require("access.manage", community.pk)
    values: dict[str, Any] = {
        "name": name,
        "windows": windows,
        "holiday_rule": holiday_rule,
        "holiday_windows": holiday_windows or [],
        "date_from": date_from,
        "date_to": date_to,
    }
    _check_schedule(values)
    with transaction.atomic():
        schedule = Schedule.objects.create(community=community, **values)
        audit.record(
            actor,
            "access.schedule.create",
            schedule,
            community_id=community.pk,
            changes=audit.diff({}, audit.snapshot(schedule, SCHEDULE_FIELDS)),
        )
    return schedule


def do_update_schedule(actor: Actor, schedule: Schedule, **values: Any) -> Schedule:
    """Change a schedule; terminals holding rights under it are told to sync again."""
    actor.require("access.manage", schedule.community_id)
    _unknown(values, SCHEDULE_FIELDS)
    if "holiday_windows" in values and values["holiday_windows"] is None:
        values["holiday_windows"] = []
    merged = audit.snapshot(schedule, SCHEDULE_FIELDS)
    merged.update(date_from=schedule.date_from, date_to=schedule.date_to)
    merged.update(values)
    _check_schedule(merged)
    values = {k: merged[k] for k in values}
    before = audit.snapshot(schedule, list(values))
    for field, value in values.items():
        setattr(schedule, field, value)
    changes = audit.diff(before, audit.snapshot(schedule, list(values)))
    if not changes:
        return schedule
    with transaction.atomic():
        schedule.save(update_fields=list(changes))
        people = AccessRight.objects.filter(schedule=schedule).values_list("person_id", flat=True)
        sync.touch(schedule.community_id, people=set(people))
        _forget_calendars()
        audit.record(
            actor,
            "access.schedule.update",
            schedule,
            community_id=schedule.community_id,
            changes=changes,
        )
    return schedule


def do_delete_schedule(actor: Actor, schedule: Schedule) -> None:
    """Delete a schedule no policy uses (else ``in_use``)."""
    actor.require("access.manage", schedule.community_id)
    with transaction.atomic():
        if Policy.objects.filter(schedule=schedule).exists():
            raise errors.Conflict(
                _("仍有通行策略使用该时间表，不能删除。"),
                code="in_use",
                details={"policies": sorted(schedule.policies.values_list("pk", flat=True))},
            )
        audit.record(
            actor,
            "access.schedule.delete",
            schedule,
            community_id=schedule.community_id,
            changes=audit.diff(audit.snapshot(schedule, SCHEDULE_FIELDS), {}),
        )
        schedule.delete()
        _forget_calendars()


# Holidays -----------------------------------------------------------------------------

HOLIDAY_FIELDS = ("community", "date", "kind", "name")


def _require_holiday(actor: Actor, community_id: int | None) -> None:
    # A deployment-wide holiday changes every community: only a platform administrator.
    actor.require("access.manage", community_id)


def _check_holiday(kind: str, name: str) -> str:
    details: Details = {}
    if kind not in DayKind.values:
        details["kind"] = [_("未知的日期类型。")]
    clean = name.strip()
    if len(clean) > 50:
        details["name"] = [_("名称不超过50字。")]
    _raise(details)
    return clean


def do_create_holiday(
    actor: Actor, community_id: int | None, *, date: dt.date, kind: str, name: str = ""
) -> Holiday:
    """Mark a public holiday or a 调休 workday, for one community or (``None``) every one."""
    _require_holiday(actor, community_id)
    name = _check_holiday(kind, name)
    same = Q(community__isnull=True) if community_id is None else Q(community_id=community_id)
    if Holiday.objects.filter(same, date=date).exists():
        raise _duplicate_holiday(date)
    holiday = Holiday(community_id=community_id, date=date, kind=kind, name=name)
    with transaction.atomic():
        try:
            with transaction.atomic():
                holiday.save(force_insert=True)
        except IntegrityError as exc:
            raise _duplicate_holiday(date) from exc
        _forget_calendars()
        audit.record(
            actor,
            "access.holiday.create",
            holiday,
            community_id=community_id,
            changes=audit.diff({}, audit.snapshot(holiday, HOLIDAY_FIELDS)),
        )
    return holiday


def _duplicate_holiday(date: dt.date) -> errors.Conflict:
    return errors.Conflict(
        _("该日期已设置。"), code="duplicate_holiday", details={"date": [date.isoformat()]}
    )


def do_update_holiday(actor: Actor, holiday: Holiday, **values: Any) -> Holiday:
    """Change a holiday's kind or name (the date is its identity: delete and add instead)."""
    _require_holiday(actor, holiday.community_id)
    _unknown(values, ("kind", "name"))
    values["name"] = _check_holiday(
        values.get("kind", holiday.kind), values.get("name", holiday.name)
    )
    before = audit.snapshot(holiday, list(values))
    for field, value in values.items():
        setattr(holiday, field, value)
    changes = audit.diff(before, audit.snapshot(holiday, list(values)))
    if not changes:
        return holiday
    with transaction.atomic():
        holiday.save(update_fields=list(changes))
        _forget_calendars()
        audit.record(
            actor,
            "access.holiday.update",
            holiday,
            community_id=holiday.community_id,
            changes=changes,
        )
    return holiday


def do_delete_holiday(actor: Actor, holiday: Holiday) -> None:
    """Remove a holiday or 调休 workday."""
    _require_holiday(actor, holiday.community_id)
    with transaction.atomic():
        audit.record(
            actor,
            "access.holiday.delete",
            holiday,
            community_id=holiday.community_id,
            changes=audit.diff(audit.snapshot(holiday, HOLIDAY_FIELDS), {}),
        )
        holiday.delete()
        _forget_calendars()


# Groups -------------------------------------------------------------------------------

GROUP_FIELDS = ("name", "kind", "building", "unit", "roles")
GROUP_UPDATABLE = ("name", "kind", "building_id", "unit_id", "roles", "member_ids")
STAFF_ROLES = frozenset(Role.values) - {Role.RESIDENT}


def _recompile(policies: Iterable[Policy]) -> int:
    """Recompile these policies' rights; return how many rows they now have."""
    return sum(compile.compile_policy(p) for p in policies)


def _check_group(community_id: int, values: dict[str, Any]) -> list[int] | None:
    """Check a group's complete values (ids resolved); return its list members, if a list."""
    details: Details = {}
    values["name"] = _name(details, values.get("name") or "")
    kind = values["kind"]
    if kind not in GroupKind.values:
        details["kind"] = [_("未知的人员组类型。")]
        _raise(details)
    if kind != GroupKind.RESIDENTS:
        only = [_("只有住户组可以限定楼栋或单元。")]
        for field in ("building_id", "unit_id"):
            if values.get(field) is not None:
                details[field] = only
    roles = values.get("roles") or []
    if kind != GroupKind.STAFF:
        if roles:
            details["roles"] = [_("只有工作人员组可以指定角色。")]
    elif not roles:
        details["roles"] = [_("请至少选择一个角色。")]
    elif not all(isinstance(r, str) and r in STAFF_ROLES for r in roles):
        details["roles"] = [_("未知的角色或不适用于工作人员组。")]
    member_ids = values.get("member_ids")
    members: list[int] | None = None
    if kind != GroupKind.LIST:
        if member_ids:
            details["member_ids"] = [_("只有指定名单可以添加成员。")]
    else:
        members = _ids(member_ids)
        if len(members) > MAX_MEMBERS:
            details["member_ids"] = [_("名单最多 %(n)d 人。") % {"n": MAX_MEMBERS}]
        elif Membership.objects.filter(community_id=community_id, person_id__in=members).values(
            "person_id"
        ).distinct().count() != len(members):
            details["member_ids"] = [_("有人员不存在或不属于该社区。")]
    _raise(details)
    if kind == GroupKind.RESIDENTS:
        values["building_id"], values["unit_id"], _area = check_location(
            community_id, values.get("building_id"), values.get("unit_id"), None
        )
    values["roles"] = sorted(set(roles))
    return members


def do_create_group(
    actor: Actor,
    community: Community,
    *,
    name: str,
    kind: str,
    building_id: int | None = None,
    unit_id: int | None = None,
    roles: Iterable[str] = (),
    member_ids: Iterable[int] = (),
) -> Group:
    """Create a group (人员组): residents (of a building or unit), staff by role, a list, …"""
    actor.require("access.manage", community.pk)
    values: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "building_id": building_id,
        "unit_id": unit_id,
        "roles": list(roles),
        "member_ids": list(member_ids),
    }
    members = _check_group(community.pk, values)
    with transaction.atomic():
        group = Group.objects.create(
            community=community,
            name=values["name"],
            kind=kind,
            building_id=values["building_id"],
            unit_id=values["unit_id"],
            roles=values["roles"],
        )
        if members:
            group.members.set(members)
        audit.record(
            actor,
            "access.group.create",
            group,
            community_id=community.pk,
            changes=audit.diff({}, audit.snapshot(group, GROUP_FIELDS))
            | ({"members": [None, members]} if members else {}),
        )
    return group


def do_update_group(actor: Actor, group: Group, **values: Any) -> Group:
    """Change a group; every policy naming it is recompiled in the same transaction."""
    actor.require("access.manage", group.community_id)
    _unknown(values, GROUP_UPDATABLE)
    old_members = sorted(group.members.values_list("pk", flat=True))
    merged: dict[str, Any] = {
        "name": group.name,
        "kind": group.kind,
        "building_id": group.building_id,
        "unit_id": group.unit_id,
        "roles": group.roles,
        "member_ids": old_members,
    }
    if values.get("kind", group.kind) != group.kind:
        # A new kind starts from its own defaults rather than the old kind's settings.
        merged.update(building_id=None, unit_id=None, roles=[], member_ids=[])
    merged.update(values)
    members = _check_group(group.community_id, merged)
    fields = ["name", "kind", "building", "unit", "roles"]
    before = audit.snapshot(group, fields)
    for field in ("name", "kind", "building_id", "unit_id", "roles"):
        setattr(group, field, merged[field])
    changes = audit.diff(before, audit.snapshot(group, fields))
    new_members = members or []
    if new_members != old_members:
        changes["members"] = [old_members, new_members]
    if not changes:
        return group
    with transaction.atomic():
        group.save(update_fields=[f"{f}_id" if f in ("building", "unit") else f for f in fields])
        if "members" in changes:
            group.members.set(new_members)
        rights = _recompile(group.policies.select_related("group"))
        audit.record(
            actor,
            "access.group.update",
            group,
            community_id=group.community_id,
            changes=changes | {"rights": [None, rights]},
        )
    return group


def do_add_group_member(actor: Actor, group: Group, person_id: int) -> Group:
    """Put a person of the community on a named list (rights recompiled at once)."""
    members = set(group.members.values_list("pk", flat=True))
    return do_update_group(actor, group, member_ids=sorted(members | {person_id}))


def do_remove_group_member(actor: Actor, group: Group, person_id: int) -> Group:
    """Take a person off a named list (rights recompiled at once)."""
    members = set(group.members.values_list("pk", flat=True))
    return do_update_group(actor, group, member_ids=sorted(members - {person_id}))


def do_delete_group(actor: Actor, group: Group) -> None:
    """Delete a group no policy uses (else ``in_use``)."""
    actor.require("access.manage", group.community_id)
    with transaction.atomic():
        if group.policies.exists():
            raise errors.Conflict(
                _("仍有通行策略使用该人员组，不能删除。"),
                code="in_use",
                details={"policies": sorted(group.policies.values_list("pk", flat=True))},
            )
        audit.record(
            actor,
            "access.group.delete",
            group,
            community_id=group.community_id,
            changes=audit.diff(audit.snapshot(group, GROUP_FIELDS), {}),
        )
        group.delete()


# Policies -----------------------------------------------------------------------------

POLICY_FIELDS = (
    "name",
    "effect",
    "group",
    "all_points",
    "schedule",
    "valid_from",
    "valid_until",
    "enabled",
)
POLICY_UPDATABLE = (
    "name",
    "effect",
    "group_id",
    "point_ids",
    "all_points",
    "schedule_id",
    "valid_from",
    "valid_until",
    "enabled",
)


def _check_policy(community_id: int, values: dict[str, Any]) -> list[int]:
    """Check a policy's complete values; return its access point ids (none for all points)."""
    details: Details = {}
    values["name"] = _name(details, values.get("name") or "")
    if values["effect"] not in Effect.values:
        details["effect"] = [_("未知的策略效果。")]
    if not Group.objects.filter(pk=values["group_id"], community_id=community_id).exists():
        details["group_id"] = [_elsewhere()]
    schedule_id = values.get("schedule_id")
    if (
        schedule_id is not None
        and not Schedule.objects.filter(pk=schedule_id, community_id=community_id).exists()
    ):
        details["schedule_id"] = [_elsewhere()]
    point_ids = _ids(values.get("point_ids"))
    if values["all_points"]:
        if point_ids:
            details["point_ids"] = [_("已选择全部通行点，不能再指定通行点。")]
    elif not point_ids:
        details["point_ids"] = [_("请选择通行点，或选择全部通行点。")]
    elif AccessPoint.objects.filter(pk__in=point_ids, community_id=community_id).count() != len(
        point_ids
    ):
        details["point_ids"] = [_elsewhere()]
    valid_from, valid_until = values.get("valid_from"), values.get("valid_until")
    if valid_from is not None and valid_until is not None and valid_until <= valid_from:
        details["valid_until"] = [_("失效时间须晚于生效时间。")]
    for field in ("all_points", "enabled"):
        if not isinstance(values.get(field), bool):
            details[field] = [_("不能为空。")]
    _raise(details)
    return point_ids


def do_create_policy(
    actor: Actor,
    community: Community,
    *,
    name: str,
    effect: str,
    group_id: int,
    point_ids: Iterable[int] = (),
    all_points: bool = False,
    schedule_id: int | None = None,
    valid_from: dt.datetime | None = None,
    valid_until: dt.datetime | None = None,
    enabled: bool = True,
) -> Policy:
    """Create a policy (通行策略) and compile its rights in the same transaction."""
    actor.require("access.manage", community.pk)
    values: dict[str, Any] = {
        "name": name,
        "effect": effect,
        "group_id": group_id,
        "point_ids": list(point_ids),
        "all_points": all_points,
        "schedule_id": schedule_id,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "enabled": enabled,
    }
    points = _check_policy(community.pk, values)
    values.pop("point_ids")
    with transaction.atomic():
        policy = Policy.objects.create(community=community, **values)
        policy.points.set(points)
        rights = compile.compile_policy(policy)
        audit.record(
            actor,
            "access.policy.create",
            policy,
            community_id=community.pk,
            changes=audit.diff({}, audit.snapshot(policy, POLICY_FIELDS))
            | {"points": [None, points], "rights": [None, rights]},
        )
    return policy


def do_update_policy(actor: Actor, policy: Policy, **values: Any) -> Policy:
    """Change a policy and recompile its rights in the same transaction."""
    actor.require("access.manage", policy.community_id)
    _unknown(values, POLICY_UPDATABLE)
    old_points = sorted(policy.points.values_list("pk", flat=True))
    merged: dict[str, Any] = {
        "name": policy.name,
        "effect": policy.effect,
        "group_id": policy.group_id,
        "point_ids": old_points,
        "all_points": policy.all_points,
        "schedule_id": policy.schedule_id,
        "valid_from": policy.valid_from,
        "valid_until": policy.valid_until,
        "enabled": policy.enabled,
    }
    if values.get("all_points") and "point_ids" not in values:
        merged["point_ids"] = []  # switching to every point drops the named ones
    merged.update(values)
    points = _check_policy(policy.community_id, merged)
    before = audit.snapshot(policy, POLICY_FIELDS)
    for field in POLICY_UPDATABLE:
        if field != "point_ids":
            setattr(policy, field, merged[field])
    changes = audit.diff(before, audit.snapshot(policy, POLICY_FIELDS))
    if points != old_points:
        changes["points"] = [old_points, points]
    if not changes:
        return policy
    with transaction.atomic():
        policy.save(
            update_fields=[f"{f}_id" if f in ("group", "schedule") else f for f in POLICY_FIELDS]
        )
        if "points" in changes:
            policy.points.set(points)
        rights = compile.compile_policy(policy)
        audit.record(
            actor,
            "access.policy.update",
            policy,
            community_id=policy.community_id,
            changes=changes | {"rights": [None, rights]},
        )
    return policy


def do_delete_policy(actor: Actor, policy: Policy) -> None:
    """Delete a policy and the rights it gave (or took away)."""
    actor.require("access.manage", policy.community_id)
    with transaction.atomic():
        people = set(policy.rights.values_list("person_id", flat=True))
        audit.record(
            actor,
            "access.policy.delete",
            policy,
            community_id=policy.community_id,
            changes=audit.diff(audit.snapshot(policy, POLICY_FIELDS), {})
            | {"rights": [policy.rights.count(), 0]},
        )
        policy.delete()
        sync.touch(policy.community_id, people=people)
