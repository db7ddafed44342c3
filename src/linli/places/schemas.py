"""API schemas of places."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Field, Schema


class CommunityOut(Schema):
    """A community."""

    id: int
    name: str
    code: str
    address: str
    division_code: str
    boundary: dict[str, Any] | None
    address_code: str
    face_photo_retention_days: int
    created_at: dt.datetime
    updated_at: dt.datetime


class CommunityIn(Schema):
    """A new community."""

    name: str = Field(min_length=1, max_length=100)
    code: str = Field(min_length=1, max_length=50, pattern=r"^[-a-zA-Z0-9_]+$")
    address: str = Field("", max_length=200)
    division_code: str = Field("", max_length=6)
    boundary: dict[str, Any] | None = None
    address_code: str = Field("", max_length=64)


class CommunityPatch(Schema):
    """Changes to a community; omitted fields stay as they are."""

    name: str | None = Field(None, min_length=1, max_length=100)
    address: str | None = Field(None, max_length=200)
    division_code: str | None = Field(None, max_length=6)
    boundary: dict[str, Any] | None = None
    address_code: str | None = Field(None, max_length=64)
    face_photo_retention_days: int | None = Field(None, ge=0, le=3650)


class BuildingOut(Schema):
    """A building with its counts."""

    id: int
    community_id: int
    number: str
    name: str
    floors_above: int
    floors_below: int
    footprint: dict[str, Any] | None = None
    unit_count: int = 0
    room_count: int = 0


class BuildingIn(Schema):
    """A new building (its units and rooms are added separately, or use ``generate``)."""

    number: str = Field(min_length=1, max_length=20)
    name: str = Field("", max_length=100)
    floors_above: int = Field(1, ge=1, le=200)
    floors_below: int = Field(0, ge=0, le=20)
    footprint: dict[str, Any] | None = None


class BuildingPatch(Schema):
    """Changes to a building; omitted fields stay as they are."""

    name: str | None = Field(None, max_length=100)
    floors_above: int | None = Field(None, ge=1, le=200)
    floors_below: int | None = Field(None, ge=0, le=20)
    footprint: dict[str, Any] | None = None


class BuildingGenerateIn(Schema):
    """A building with units and rooms made from a room-number pattern."""

    number: str = Field(min_length=1, max_length=20)
    name: str = Field("", max_length=100)
    floors_above: int
    floors_below: int = Field(0, ge=0, le=20)
    units: int
    rooms_per_floor: int
    pattern: str = Field("{floor}{index:02d}", min_length=1, max_length=40)
    first_floor: int = 1
    area: Decimal | None = Field(None, ge=0, le=100000, max_digits=8, decimal_places=2)
    use: str = "residential"


class UnitOut(Schema):
    """A unit (单元) with its room count."""

    id: int
    building_id: int
    number: str
    room_count: int = 0


class UnitIn(Schema):
    """A new unit."""

    number: str = Field(min_length=1, max_length=20)


class RoomOut(Schema):
    """A room (房屋)."""

    id: int
    community_id: int
    building_id: int = Field(alias="unit.building_id")
    unit_id: int
    number: str
    floor: int
    area: Decimal | None
    use: str


class RoomIn(Schema):
    """A new room."""

    number: str = Field(min_length=1, max_length=20)
    floor: int = Field(ge=-20, le=200)
    area: Decimal | None = Field(None, ge=0, le=100000, max_digits=8, decimal_places=2)
    use: str = "residential"


class RoomPatch(Schema):
    """Changes to a room; omitted fields stay as they are."""

    floor: int | None = Field(None, ge=-20, le=200)
    area: Decimal | None = Field(None, ge=0, le=100000, max_digits=8, decimal_places=2)
    use: str | None = None


class AreaOut(Schema):
    """An area of a community (gate, parking lot, garden, public space)."""

    id: int
    community_id: int
    kind: str
    name: str
    geometry: dict[str, Any] | None
    note: str


class AreaIn(Schema):
    """A new area."""

    kind: str
    name: str = Field(min_length=1, max_length=100)
    geometry: dict[str, Any] | None = None
    note: str = Field("", max_length=200)


class AreaPatch(Schema):
    """Changes to an area; omitted fields stay as they are."""

    kind: str | None = None
    name: str | None = Field(None, min_length=1, max_length=100)
    geometry: dict[str, Any] | None = None
    note: str | None = Field(None, max_length=200)


class CommunityStatsOut(Schema):
    """Counts for a community's dashboard."""

    buildings: int
    rooms: int
    people: int
    residencies: int
    grants: int
