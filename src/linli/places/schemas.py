"""API schemas of places."""

from __future__ import annotations

import datetime as dt
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
    created_at: dt.datetime
    updated_at: dt.datetime


class CommunityIn(Schema):
    """A new community."""

    name: str = Field(min_length=1, max_length=100)
    code: str = Field(min_length=1, max_length=50, pattern=r"^[-a-zA-Z0-9_]+$")
    address: str = Field("", max_length=200)
    division_code: str = Field("", max_length=6)
    boundary: dict[str, Any] | None = None


class CommunityPatch(Schema):
    """Changes to a community; omitted fields stay as they are."""

    name: str | None = Field(None, min_length=1, max_length=100)
    address: str | None = Field(None, max_length=200)
    division_code: str | None = Field(None, max_length=6)
    boundary: dict[str, Any] | None = None


class BuildingOut(Schema):
    """A building with its counts."""

    id: int
    community_id: int
    number: str
    name: str
    floors_above: int
    floors_below: int
    unit_count: int
    room_count: int


class CommunityStatsOut(Schema):
    """Counts for a community's dashboard."""

    buildings: int
    rooms: int
    people: int
    residencies: int
    grants: int
