"""Excel import and export of rooms (房屋导入导出), on the engine of :mod:`linli.core.tabular`.

A row names a building, a unit and a room. Missing buildings and units are created;
an existing room with the same floor, area and use is left alone (so re-importing a
file creates nothing twice), and one that differs is updated. Every write goes through
the places actions, so each leaves its audit row.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any, BinaryIO

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from linli.core.tabular import (
    CellError,
    Column,
    ImportResult,
    Kind,
    Outcome,
    Row,
    RowError,
    Sheet,
    run_import,
    write_xlsx,
)
from linli.core.tenancy import Actor
from linli.places import actions
from linli.places.choices import RoomUse
from linli.places.models import Building, Community, Room, Unit


@functools.cache
def _use_names() -> dict[str, str]:
    """Map every accepted spelling of a room use (code, Chinese, English) to its code."""
    names: dict[str, str] = {}
    for use in RoomUse:
        names[use.value] = use.value
        for language in ("zh-hans", "en"):
            with translation.override(language):
                names[str(use.label).lower()] = use.value
    return names


def parse_use(value: str) -> str:
    """Accept a room use by code (``residential``) or label in Chinese or English (住宅)."""
    if not value:
        return RoomUse.RESIDENTIAL
    use = _use_names().get(value.strip().lower())
    if use is None:
        raise CellError(_("未知的房屋用途，可填：住宅、商业、出租、空置。"), "unknown_room_use")
    return use


def parse_floor(value: int) -> int:
    """Accept a floor between -10 and 200 (basements are negative)."""
    if not -10 <= value <= 200 or value == 0:
        raise CellError(_("楼层应在 -10 到 200 之间，且不为 0。"), "floor_out_of_range")
    return value


def parse_area(value: Decimal | None) -> Decimal | None:
    """Accept an area in m² between 1 and 10,000 with at most two decimals."""
    if value is None:
        return None
    if not Decimal(1) <= value <= Decimal(10000):
        raise CellError(_("面积应在 1 到 10000 平方米之间。"), "area_out_of_range")
    return value.quantize(Decimal("0.01"))


ROOM_SHEET = Sheet(
    name=_("房屋"),
    name_en="Rooms",
    columns=(
        Column(
            "building", _("楼号"), "Building", required=True, max_length=20, numbers_as_text=True
        ),
        Column("unit", _("单元号"), "Unit", required=True, max_length=20, numbers_as_text=True),
        Column("room", _("房号"), "Room", required=True, max_length=20, numbers_as_text=True),
        Column("floor", _("楼层"), "Floor", kind=Kind.INT, required=True, parse=parse_floor),
        Column("area", _("面积 (m²)"), "Area (m2)", kind=Kind.DECIMAL, parse=parse_area),
        Column(
            "use",
            _("用途"),
            "Use",
            parse=parse_use,
            hint=_("住宅、商业、出租或空置"),
            to_cell=lambda v: str(RoomUse(v).label),
        ),
    ),
    key=lambda v: (v["building"], v["unit"], v["room"]),
    key_columns=("building", "unit", "room"),
)


class _RoomWriter:
    """Apply rows of ROOM_SHEET to one community, caching its buildings and units."""

    def __init__(self, actor: Actor, community: Community) -> None:
        self.actor = actor
        self.community = community
        self.stale = False
        self.load()

    def load(self) -> None:
        """Read the community's buildings, units and rooms (again after a rollback)."""
        community = self.community
        self.buildings = {b.number: b for b in Building.objects.filter(community=community)}
        self.units = {
            (u.building.number, u.number): u
            for u in Unit.objects.filter(community=community).select_related("building")
        }
        # One read of the community's rooms instead of one query per row.
        self.rooms = {(r.unit_id, r.number): r for r in Room.objects.filter(community=community)}

    def unit(self, row: Row) -> Unit:
        building = self.buildings.get(row["building"])
        if building is None:
            building = actions.do_create_building(
                self.actor,
                self.community,
                number=row["building"],
                floors_above=max(1, row["floor"]),
            )
            self.buildings[building.number] = building
        key = (building.number, row["unit"])
        unit = self.units.get(key)
        if unit is None:
            unit = actions.do_create_unit(self.actor, building, number=row["unit"])
            self.units[key] = unit
        return unit

    def __call__(self, rows: list[Row]) -> Sequence[Outcome | RowError]:
        if self.stale:
            self.load()
            self.stale = False
        try:
            return self.apply(rows)
        except Exception:
            # The batch's savepoint is about to roll back what it created: read the
            # caches again at the next call, once the rollback has happened.
            self.stale = True
            raise

    def apply(self, rows: list[Row]) -> Sequence[Outcome | RowError]:
        """Create or update the rooms of ``rows``; report each row's outcome."""
        outcomes: list[Outcome | RowError] = []
        new: dict[int, list[tuple[str, int, Decimal | None, str]]] = {}
        units: dict[int, Unit] = {}
        for row in rows:
            unit = self.unit(row)
            units[unit.pk] = unit
            existing = self.rooms.get((unit.pk, row["room"]))
            use = row["use"] or RoomUse.RESIDENTIAL  # a blank optional cell gives ""
            values = {"floor": row["floor"], "area": row["area"], "use": use}
            if existing is None:
                new.setdefault(unit.pk, []).append((row["room"], row["floor"], row["area"], use))
                outcomes.append(Outcome.APPLIED)
            elif all(getattr(existing, k) == v for k, v in values.items()):
                outcomes.append(Outcome.UNCHANGED)
            else:
                actions.do_update_room(self.actor, existing, **values)
                outcomes.append(Outcome.APPLIED)
        for unit_pk, specs in new.items():
            for room in actions.do_create_rooms(self.actor, units[unit_pk], specs):
                self.rooms[(unit_pk, room.number)] = room
        return outcomes


def import_rooms(
    actor: Actor,
    community: Community,
    source: str | bytes | BinaryIO,
    *,
    mode: str = "all_or_nothing",
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import rooms from an xlsx file into a community, all or nothing unless told otherwise."""
    actor.require("place.manage", community.pk)
    with transaction.atomic():
        return run_import(
            source,
            ROOM_SHEET,
            _RoomWriter(actor, community),
            mode=mode,  # type: ignore[arg-type]
            progress=progress,
        )


def export_rooms(actor: Actor, community: Community, *, language: str = "zh-hans") -> bytes:
    """Return the community's rooms as an xlsx file that :func:`import_rooms` reads back."""
    actor.require("place.view", community.pk)

    def rows() -> Iterator[dict[str, Any]]:
        qs = (
            Room.objects.restrict(actor, "place.view")
            .filter(community=community)
            .select_related("unit__building")
            .order_by("unit__building__number", "unit__number", "floor", "number")
        )
        for room in qs.iterator(chunk_size=2000):
            yield {
                "building": room.unit.building.number,
                "unit": room.unit.number,
                "room": room.number,
                "floor": room.floor,
                "area": room.area,
                "use": room.use,
            }

    data = write_xlsx(ROOM_SHEET, rows(), language=language)
    if data is None:  # only when a target file is given, which this function never does
        raise RuntimeError("write_xlsx returned no bytes")
    return data
