"""The only writers of places."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from linli.core import audit, errors
from linli.core.tenancy import Actor
from linli.core.validation import full_clean
from linli.places.geometry import check_area
from linli.places.models import Building, Community, Room, Unit

COMMUNITY_FIELDS = ("name", "code", "address", "division_code", "boundary")


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
) -> Community:
    """Create a community (platform administrators)."""
    check_create_community(actor, code=code)
    community = Community(
        name=name,
        code=code,
        address=address,
        division_code=division_code,
        boundary=check_area(boundary, "boundary"),
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
