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


class PersonIn(Schema):
    """A person to register in a community (ID number and phone are sealed on arrival)."""

    community_id: int
    name: str = Field(max_length=100)
    id_type: str = "resident_id"
    id_number: str
    phone: str = Field("", max_length=20)
    ethnicity: str = Field("", max_length=20)
    nationality: str = Field("", max_length=60)


class PersonCreatedOut(PersonOut):
    """A registered person; ``linked`` when another community had registered them already."""

    linked: bool


class PersonPatch(Schema):
    """Changes to a person; omitted fields stay as they are, an empty phone clears it."""

    name: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, max_length=20)
    ethnicity: str | None = Field(None, max_length=20)
    nationality: str | None = Field(None, max_length=60)


class PhotoOut(Schema):
    """A stored photo's type and size (the image itself is a separate, audited read)."""

    content_type: str
    size: int
    uploaded_at: dt.datetime


class ResidencyOut(Schema):
    """A person living in a room."""

    id: int
    community_id: int
    person_id: int
    room_id: int
    relation: str
    category: str
    date_from: dt.date
    date_to: dt.date | None
    household_id: int | None
    kinship: str
    tenancy_id: int | None


class ResidencyIn(Schema):
    """A move-in (or a tenant's start outside a registered rental)."""

    person_id: int
    room_id: int
    relation: str
    category: str = "permanent"
    date_from: dt.date
    kinship: str = ""
    household_id: int | None = None
    new_household: bool = False
    joint_owner: bool = False


class ResidencyEndIn(Schema):
    """A move-out date."""

    date_to: dt.date


class HouseholdOut(Schema):
    """A household (户) in a room."""

    id: int
    community_id: int
    room_id: int
    head_id: int
    head_name: str = Field(alias="head.name")
    number: str
    created_on: dt.date
    dissolved_on: dt.date | None


class MemberOut(Schema):
    """A current member of a household: their residency and who they are (masked)."""

    residency_id: int = Field(alias="id")
    person_id: int
    name: str = Field(alias="person.name")
    id_number_masked: str = Field(alias="person.id_number_masked")
    relation: str
    kinship: str
    date_from: dt.date
    date_to: dt.date | None


class HouseholdDetailOut(HouseholdOut):
    """A household with its current members, head first."""

    members: list[MemberOut]


class HouseholdTransferIn(Schema):
    """Move a resident to another household of the room, or split off (``household_id`` null)."""

    household_id: int | None = None
    kinship: str = ""
    occurred_on: dt.date


class HouseholdHeadIn(Schema):
    """Make a member the head; the former head's new relation to them."""

    residency_id: int
    former_head_kinship: str
    occurred_on: dt.date


class KinshipIn(Schema):
    """A member's corrected relation to the household head (GB/T 4761)."""

    kinship: str
    occurred_on: dt.date


class TenantIn(Schema):
    """A tenant of a rental registration."""

    person_id: int
    category: str = "floating"


class TenancyIn(Schema):
    """A rental registration (出租屋登记) and its tenants."""

    room_id: int
    landlord_id: int | None = None
    tenants: list[TenantIn] = Field(default_factory=list, max_length=50)
    date_from: dt.date
    date_to: dt.date
    purpose: str = "residential"
    note: str = Field("", max_length=200)


class TenancyOut(Schema):
    """A rental registration."""

    id: int
    community_id: int
    room_id: int
    landlord_id: int | None
    purpose: str
    date_from: dt.date
    date_to: dt.date
    ended_on: dt.date | None
    reminded_on: dt.date | None
    note: str


class TenancyDetailOut(TenancyOut):
    """A rental registration with its tenants' residencies, current and past."""

    tenants: list[MemberOut]


class TenancyExtendIn(Schema):
    """A renewal: the new lease end (and optionally a new note)."""

    date_to: dt.date
    note: str | None = Field(None, max_length=200)


class TenancyEndIn(Schema):
    """The day the tenants moved out (退租)."""

    ended_on: dt.date


class AddTenantIn(Schema):
    """Another tenant moving into a registered rental."""

    person_id: int
    date_from: dt.date
    category: str = "floating"
    kinship: str = ""


class VehicleIn(Schema):
    """A resident's vehicle; the plate is validated (GA 36) and normalised."""

    community_id: int
    owner_id: int
    plate: str
    description: str = Field("", max_length=100)


class VehicleOut(Schema):
    """A registered vehicle."""

    id: int
    community_id: int
    owner_id: int
    owner_name: str = Field(alias="owner.name")
    plate: str
    plate_kind: str
    description: str
    created_at: dt.datetime


class CareTagIn(Schema):
    """A special-care tag to put on a person in a community."""

    community_id: int
    person_id: int
    tag: str
    note: str = Field("", max_length=200)


class CareTagOut(Schema):
    """A special-care tag (only for ``person.care_view`` holders)."""

    id: int
    community_id: int
    person_id: int
    person_name: str = Field(alias="person.name")
    tag: str
    note: str
    created_at: dt.datetime
