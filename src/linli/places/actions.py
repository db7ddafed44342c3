"""The only writers of places."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Model, ProtectedError
from django.utils.translation import gettext as _

from linli.core import audit, errors
from linli.core.tenancy import Actor
from linli.core.validation import full_clean
from linli.places.choices import AreaKind, RoomUse
from linli.places.geometry import check_area, check_place
from linli.places.models import Area, Building, Community, Room, Unit

COMMUNITY_FIELDS = (
    "name",
    "code",
    "address",
    "division_code",
    "boundary",
    "address_code",
    "face_photo_retention_days",
)


def check_create_community(actor: Actor, *, code: str) -> None:
    """Authorise a new community and refuse a duplicate code."""
    if not actor.scope("community.create").everywhere:
        raise errors.PermissionDenied()
    if Community.objects.filter(code=code).exists():
        raise errors.Conflict(
            _("社区编码已被使用。"), code="duplicate_community", details={"code": [code]}
        )


def do_create_community(
    actor: Actor,
    *,
    name: str,
    code: str,
    address: str = "",
    division_code: str = "",
    boundary: dict[str, Any] | None = None,
    address_code: str = "",
) -> Community:
    """Create a community (platform administrators)."""
    check_create_community(actor, code=code)
    community = Community(
        name=name,
        code=code,
        address=address,
        division_code=division_code,
        boundary=check_area(boundary, "boundary"),
        address_code=address_code,
    )
    with transaction.atomic():
        full_clean(community)
        community.save()
        audit.record(
            actor,
            "places.community.create",
            community,
            community_id=community.pk,
            changes=audit.diff({}, audit.snapshot(community, COMMUNITY_FIELDS[:4])),
        )
    return community


def do_update_community(actor: Actor, community: Community, **values: Any) -> Community:
    """Change a community's details; only the fields given change."""
    actor.require("community.change", community.pk)
    unknown = set(values) - set(COMMUNITY_FIELDS) - {"code"}
    if unknown:
        raise errors.ValidationFailed(details={k: [_("不可修改。")] for k in sorted(unknown)})
    if "code" in values:
        raise errors.ValidationFailed(details={"code": [_("社区编码创建后不可修改。")]})
    if "boundary" in values:
        values["boundary"] = check_area(values["boundary"], "boundary")
    with transaction.atomic():
        changes = audit.apply(community, values)
        if changes:
            audit.record(
                actor,
                "places.community.update",
                community,
                community_id=community.pk,
                changes=changes,
            )
    return community


def do_create_building(
    actor: Actor,
    community: Community,
    *,
    number: str,
    name: str = "",
    floors_above: int = 1,
    floors_below: int = 0,
    footprint: dict[str, Any] | None = None,
) -> Building:
    """Add a building to a community."""
    actor.require("place.manage", community.pk)
    if Building.objects.filter(community=community, number=number).exists():
        raise errors.Conflict(
            _("该楼号已存在。"), code="duplicate_building", details={"number": [number]}
        )
    building = Building(
        community=community,
        number=number,
        name=name,
        floors_above=floors_above,
        floors_below=floors_below,
        footprint=check_area(footprint, "footprint"),
    )
    with transaction.atomic():
        full_clean(building)
        building.save()
        audit.record(
            actor,
            "places.building.create",
            building,
            community_id=community.pk,
            changes=audit.diff({}, audit.snapshot(building, ["number", "name", "floors_above"])),
        )
    return building


def do_create_unit(actor: Actor, building: Building, *, number: str) -> Unit:
    """Add a unit (单元) to a building."""
    actor.require("place.manage", building.community_id)
    if Unit.objects.filter(building=building, number=number).exists():
        raise errors.Conflict(_("该单元已存在。"), code="duplicate_unit")
    with transaction.atomic():
        unit = Unit.objects.create(
            community_id=building.community_id, building=building, number=number
        )
        audit.record(
            actor,
            "places.unit.create",
            unit,
            community_id=building.community_id,
            changes={"number": [None, number], "building": [None, building.pk]},
        )
    return unit


def do_create_rooms(
    actor: Actor, unit: Unit, rooms: Sequence[tuple[str, int, Decimal | None, str]]
) -> list[Room]:
    """Add rooms ``(number, floor, area, use)`` to a unit in one transaction."""
    actor.require("place.manage", unit.community_id)
    numbers = [r[0] for r in rooms]
    if (
        len(set(numbers)) != len(numbers)
        or Room.objects.filter(unit=unit, number__in=numbers).exists()
    ):
        raise errors.Conflict(_("房号重复。"), code="duplicate_room")
    objs = [
        Room(community_id=unit.community_id, unit=unit, number=n, floor=f, area=a, use=u)
        for n, f, a, u in rooms
    ]
    for obj in objs:
        full_clean(obj, exclude=["unit", "community"])
    with transaction.atomic():
        created = Room.objects.bulk_create(objs)
        audit.record(
            actor,
            "places.room.create_many",
            unit,
            community_id=unit.community_id,
            changes={"rooms": [None, numbers]},
        )
    return created


def do_update_room(actor: Actor, room: Room, **values: Any) -> Room:
    """Change a room's floor, area or use; only the fields given change."""
    actor.require("place.manage", room.community_id)
    unknown = set(values) - {"floor", "area", "use"}
    if unknown:
        raise errors.ValidationFailed(details={k: [_("不可修改。")] for k in sorted(unknown)})
    with transaction.atomic():
        changes = audit.apply(room, values)
        if changes:
            audit.record(
                actor, "places.room.update", room, community_id=room.community_id, changes=changes
            )
    return room


BUILDING_FIELDS = ("name", "floors_above", "floors_below", "footprint")


def do_update_building(actor: Actor, building: Building, **values: Any) -> Building:
    """Change a building's name, floor counts or footprint; only the fields given change."""
    actor.require("place.manage", building.community_id)
    unknown = set(values) - set(BUILDING_FIELDS)
    if unknown:
        raise errors.ValidationFailed(details={k: [_("不可修改。")] for k in sorted(unknown)})
    if "footprint" in values:
        values["footprint"] = check_area(values["footprint"], "footprint")
    with transaction.atomic():
        changes = audit.apply(building, values)
        if changes:
            audit.record(
                actor,
                "places.building.update",
                building,
                community_id=building.community_id,
                changes=changes,
            )
    return building


def _delete(actor: Actor, obj: Model, community_id: int, action: str) -> None:
    """Delete a place, refusing one that residents, households or tenancies still use."""
    actor.require("place.manage", community_id)
    label = str(obj)
    try:
        with transaction.atomic():
            audit.record(actor, action, obj, community_id=community_id)
            obj.delete()
    except ProtectedError as exc:
        raise errors.Conflict(
            _("“%(place)s”仍有居住、户或出租记录，不能删除。") % {"place": label},
            code="place_in_use",
        ) from exc


def do_delete_building(actor: Actor, building: Building) -> None:
    """Delete a building with its units and rooms, unless anyone's records use them."""
    _delete(actor, building, building.community_id, "places.building.delete")


def do_delete_unit(actor: Actor, unit: Unit) -> None:
    """Delete a unit with its rooms, unless anyone's records use them."""
    _delete(actor, unit, unit.community_id, "places.unit.delete")


def do_delete_room(actor: Actor, room: Room) -> None:
    """Delete a room, unless anyone's records use it."""
    _delete(actor, room, room.community_id, "places.room.delete")


MAX_GENERATED_ROOMS = 5000


def room_numbers(
    pattern: str, *, floors: range, units: int, rooms_per_floor: int
) -> dict[int, list[tuple[str, int]]]:
    """Return ``{unit: [(number, floor), …]}`` that ``pattern`` gives, or raise.

    ``pattern`` is a Python format string over ``floor``, ``index`` (1-based position on the
    floor) and ``unit``: ``"{floor}{index:02d}"`` gives 101, 102, … 1201.
    """
    out: dict[int, list[tuple[str, int]]] = {}
    for unit in range(1, units + 1):
        numbers = []
        for floor in floors:
            for index in range(1, rooms_per_floor + 1):
                try:
                    number = pattern.format(floor=floor, index=index, unit=unit)
                except (KeyError, IndexError, ValueError) as exc:
                    raise errors.ValidationFailed(
                        details={"pattern": [_("房号规则无效，可用 {floor}、{index}、{unit}。")]},
                        code="invalid_pattern",
                    ) from exc
                if not number or len(number) > 20:
                    raise errors.ValidationFailed(
                        details={"pattern": [_("生成的房号应为 1 到 20 个字符。")]},
                        code="invalid_pattern",
                    )
                numbers.append((number, floor))
        if len({n for n, _f in numbers}) != len(numbers):
            raise errors.ValidationFailed(
                details={"pattern": [_("房号规则会生成重复的房号；请包含 {floor} 和 {index}。")]},
                code="invalid_pattern",
            )
        out[unit] = numbers
    return out


def do_generate_building(
    actor: Actor,
    community: Community,
    *,
    number: str,
    name: str = "",
    floors_above: int,
    floors_below: int = 0,
    units: int,
    rooms_per_floor: int,
    pattern: str = "{floor}{index:02d}",
    first_floor: int = 1,
    area: Decimal | None = None,
    use: str = RoomUse.RESIDENTIAL,
) -> Building:
    """Create a building with its units and rooms from a pattern (按规则批量生成), at once.

    Rooms are made on floors ``first_floor``…``floors_above`` of every unit; nothing is
    written if any part is refused.
    """
    actor.require("place.manage", community.pk)
    details: dict[str, list[str]] = {}
    if not 1 <= floors_above <= 200:
        details["floors_above"] = [_("地上层数应为 1 到 200。")]
    if not 1 <= units <= 50:
        details["units"] = [_("单元数应为 1 到 50。")]
    if not 1 <= rooms_per_floor <= 50:
        details["rooms_per_floor"] = [_("每层户数应为 1 到 50。")]
    if not 1 <= first_floor <= max(floors_above, 1):
        details["first_floor"] = [_("起始楼层应在地上层数之内。")]
    if use not in RoomUse.values:
        details["use"] = [_("未知的房屋用途。")]
    if details:
        raise errors.ValidationFailed(details=details)
    floors = range(first_floor, floors_above + 1)
    if units * len(floors) * rooms_per_floor > MAX_GENERATED_ROOMS:
        raise errors.ValidationFailed(
            details={"units": [_("一次最多生成 %(n)d 间房屋。") % {"n": MAX_GENERATED_ROOMS}]},
            code="too_many_rooms",
        )
    plan = room_numbers(pattern, floors=floors, units=units, rooms_per_floor=rooms_per_floor)
    with transaction.atomic():
        building = do_create_building(
            actor,
            community,
            number=number,
            name=name,
            floors_above=floors_above,
            floors_below=floors_below,
        )
        total = 0
        for unit_number, numbers in plan.items():
            unit = do_create_unit(actor, building, number=str(unit_number))
            created = do_create_rooms(actor, unit, [(n, f, area, use) for n, f in numbers])
            total += len(created)
        audit.record(
            actor,
            "places.building.generate",
            building,
            community_id=community.pk,
            changes={"pattern": [None, pattern], "units": [None, units], "rooms": [None, total]},
        )
    return building


AREA_FIELDS = ("kind", "name", "geometry", "note")


def _check_area_values(values: dict[str, Any]) -> dict[str, Any]:
    details: dict[str, list[str]] = {}
    if "kind" in values and values["kind"] not in AreaKind.values:
        details["kind"] = [_("未知的区域类型。")]
    if "name" in values and not str(values["name"]).strip():
        details["name"] = [_("请填写名称。")]
    if details:
        raise errors.ValidationFailed(details=details)
    if "geometry" in values:
        values["geometry"] = check_place(values["geometry"], "geometry")
    if "name" in values:
        values["name"] = str(values["name"]).strip()
    return values


def do_create_area(
    actor: Actor,
    community: Community,
    *,
    kind: str,
    name: str,
    geometry: dict[str, Any] | None = None,
    note: str = "",
) -> Area:
    """Add an area (gate, parking lot, garden, public space) to a community."""
    actor.require("place.manage", community.pk)
    values = _check_area_values({"kind": kind, "name": name, "geometry": geometry, "note": note})
    if Area.objects.filter(community=community, name=values["name"]).exists():
        raise errors.Conflict(_("该区域名称已存在。"), code="duplicate_area")
    area = Area(community=community, **values)
    with transaction.atomic():
        full_clean(area)
        area.save()
        audit.record(
            actor,
            "places.area.create",
            area,
            community_id=community.pk,
            changes=audit.diff({}, audit.snapshot(area, ["kind", "name"])),
        )
    return area


def do_update_area(actor: Actor, area: Area, **values: Any) -> Area:
    """Change an area; only the fields given change."""
    actor.require("place.manage", area.community_id)
    unknown = set(values) - set(AREA_FIELDS)
    if unknown:
        raise errors.ValidationFailed(details={k: [_("不可修改。")] for k in sorted(unknown)})
    values = _check_area_values(values)
    if (
        "name" in values
        and Area.objects.filter(community_id=area.community_id, name=values["name"])
        .exclude(pk=area.pk)
        .exists()
    ):
        raise errors.Conflict(_("该区域名称已存在。"), code="duplicate_area")
    with transaction.atomic():
        changes = audit.apply(area, values)
        if changes:
            audit.record(
                actor, "places.area.update", area, community_id=area.community_id, changes=changes
            )
    return area


def do_delete_area(actor: Actor, area: Area) -> None:
    """Delete an area."""
    _delete(actor, area, area.community_id, "places.area.delete")
