"""API schemas of people. Sealed values never appear; ID and phone are masked."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class PersonOut(Schema):
    """A person, masked."""

    id: int
    community_id: int
    name: str
    id_type: str
    id_number_masked: str
    phone_masked: str
    birth_date: dt.date | None
    sex: str


class RevealOut(Schema):
    """A person's full ID number and phone (an audited read)."""

    id_number: str
    phone: str


class PopulationChangeOut(Schema):
    """One population change; the person's ID number is masked."""

    id: int
    community_id: int
    person_id: int
    person_name: str = Field(alias="person.name")
    id_number_masked: str = Field(alias="person.id_number_masked")
    room_id: int | None
    kind: str
    occurred_on: dt.date
    source: str
    actor_label: str
    details: dict[str, object]
    recorded_at: dt.datetime


class PopulationFeedOut(Schema):
    """A page of the population-change feed; pass ``next_cursor`` to continue."""

    items: list[PopulationChangeOut]
    next_cursor: str
