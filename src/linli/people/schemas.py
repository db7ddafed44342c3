"""API schemas of people. Sealed values never appear; ID and phone are masked."""

from __future__ import annotations

import datetime as dt

from ninja import Schema


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
