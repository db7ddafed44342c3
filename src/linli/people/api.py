"""API of people (thin; see actions, tenancies and selectors)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import File, Query, Router, UploadedFile
from ninja.pagination import paginate

from linli.api.base import ERRORS, PagePagination, actor
from linli.core.tenancy import Actor
from linli.people import actions, selectors, tenancies
from linli.people.choices import ChangeSource
from linli.people.models import Household, Person, PersonPhoto, Residency, Tenancy
from linli.people.schemas import (
    AddTenantIn,
    CareTagIn,
    CareTagOut,
    HouseholdDetailOut,
    HouseholdHeadIn,
    HouseholdOut,
    HouseholdTransferIn,
    KinshipIn,
    PersonCreatedOut,
    PersonIn,
    PersonOut,
    PersonPatch,
    PhotoOut,
    PopulationFeedOut,
    ResidencyEndIn,
    ResidencyIn,
    ResidencyOut,
    RevealOut,
    TenancyDetailOut,
    TenancyEndIn,
    TenancyExtendIn,
    TenancyIn,
    TenancyOut,
    VehicleIn,
    VehicleOut,
)
from linli.places import selectors as place_selectors

router = Router(tags=["people"])

API = ChangeSource.API


@router.get("/people", response={200: list[PersonOut], **ERRORS})
@paginate(PagePagination)
def list_people(request: HttpRequest, community_id: int | None = None, q: str = "") -> object:
    """List people (ID numbers and phones masked)."""
    return selectors.list_people(actor(request), community_id=community_id, q=q)


@router.post("/people", response={200: PersonCreatedOut, 201: PersonCreatedOut, **ERRORS})
def register_person(request: HttpRequest, body: PersonIn) -> tuple[int, dict[str, Any]]:
    """Register a person in a community (201); an ID number another community registered
    links that person instead (200, ``linked``). 409 ``duplicate_id_number`` if this
    community has it already."""
    a = actor(request)
    community = place_selectors.get_community(a, body.community_id)
    person = actions.do_register_person(a, community, **body.dict(exclude={"community_id"}))
    # A new person is registered by this community; a linked one by the first community.
    linked = person.community_id != community.pk
    out = {**PersonOut.from_orm(person).model_dump(), "linked": linked}
    return (200 if linked else 201), out


@router.get("/people/{person_id}", response={200: PersonOut, **ERRORS})
def get_person(request: HttpRequest, person_id: int) -> Person:
    """Return one person, masked."""
    return selectors.get_person(actor(request), person_id)


@router.patch("/people/{person_id}", response={200: PersonOut, **ERRORS})
def update_person(request: HttpRequest, person_id: int, body: PersonPatch) -> Person:
    """Change a person's name, phone, ethnicity or nationality (an empty phone clears it)."""
    a = actor(request)
    person = selectors.get_person(a, person_id)
    actions.do_update_person(a, person, **body.dict(exclude_unset=True))
    return person


@router.post("/people/{person_id}/reveal", response={200: RevealOut, **ERRORS})
def reveal_person(request: HttpRequest, person_id: int) -> dict[str, str]:
    """Reveal a person's full ID number and phone; needs ``person.reveal``; audited."""
    a = actor(request)
    return actions.do_reveal_identity(a, selectors.get_person(a, person_id))


@router.post("/people/{person_id}/photo", response={200: PhotoOut, **ERRORS})
def upload_photo(request: HttpRequest, person_id: int, photo: File[UploadedFile]) -> PersonPhoto:
    """Store a person's photo (multipart ``photo``: JPEG or PNG, at most 2 MB), sealed."""
    a = actor(request)
    person = selectors.get_person(a, person_id)
    # One byte past the limit is enough to refuse; never read a huge upload whole.
    return actions.do_set_photo(a, person, photo.read(actions.PHOTO_MAX_BYTES + 1))


@router.get(
    "/people/{person_id}/photo",
    response=ERRORS,
    openapi_extra={
        "responses": {
            200: {
                "description": "The photo; every read is audited as sensitive.",
                "content": {"image/jpeg": {}, "image/png": {}},
            }
        }
    },
)
def get_photo(request: HttpRequest, person_id: int) -> HttpResponse:
    """Return a person's photo (a sensitive read, audited)."""
    a = actor(request)
    data, content_type = actions.do_read_photo(a, selectors.get_person(a, person_id))
    response = HttpResponse(data, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response


# -- residencies -------------------------------------------------------------------------


@router.get("/people/{person_id}/residencies", response={200: list[ResidencyOut], **ERRORS})
def list_residencies(request: HttpRequest, person_id: int) -> list[Residency]:
    """List a person's residencies, current first, in the communities the caller sees."""
    a = actor(request)
    person = selectors.get_person(a, person_id)
    return list(selectors.list_residencies(a, person_id=person.pk))


def _household(a: Actor, household_id: int | None) -> Household | None:
    """Return a visible household (open or not) by id, or ``None`` for no id."""
    if household_id is None:
        return None
    return selectors.list_households(a, include_dissolved=True).one_or_404(household_id)


@router.post("/residencies", response={201: ResidencyOut, **ERRORS})
def start_residency(request: HttpRequest, body: ResidencyIn) -> tuple[int, Residency]:
    """Record a move-in (or a tenant's start); households are joined or created."""
    a = actor(request)
    person = selectors.get_person(a, body.person_id)
    room = selectors.get_room(a, body.room_id)
    residency = actions.do_start_residency(
        a,
        person,
        room,
        relation=body.relation,
        date_from=body.date_from,
        category=body.category,
        kinship=body.kinship,
        household=_household(a, body.household_id),
        new_household=body.new_household,
        joint_owner=body.joint_owner,
        source=API,
    )
    return 201, residency


@router.post("/residencies/{residency_id}/end", response={200: ResidencyOut, **ERRORS})
def end_residency(request: HttpRequest, residency_id: int, body: ResidencyEndIn) -> Residency:
    """Record a move-out (or a tenant's end) on ``date_to``."""
    a = actor(request)
    residency = selectors.get_residency(a, residency_id)
    return actions.do_end_residency(a, residency, date_to=body.date_to, source=API)


@router.post("/residencies/{residency_id}/household", response={200: ResidencyOut, **ERRORS})
def transfer_household(
    request: HttpRequest, residency_id: int, body: HouseholdTransferIn
) -> Residency:
    """Move a resident to another household of the room, or split off a new one (分户)."""
    a = actor(request)
    residency = selectors.get_residency(a, residency_id)
    return actions.do_change_household(
        a,
        residency,
        household=_household(a, body.household_id),
        kinship=body.kinship,
        occurred_on=body.occurred_on,
        source=API,
    )


@router.post("/residencies/{residency_id}/kinship", response={200: ResidencyOut, **ERRORS})
def set_kinship(request: HttpRequest, residency_id: int, body: KinshipIn) -> Residency:
    """Correct a member's relation to the household head (GB/T 4761)."""
    a = actor(request)
    residency = selectors.get_residency(a, residency_id)
    return actions.do_set_kinship(
        a, residency, kinship=body.kinship, occurred_on=body.occurred_on, source=API
    )


# -- households --------------------------------------------------------------------------


@router.get("/households", response={200: list[HouseholdOut], **ERRORS})
@paginate(PagePagination)
def list_households(
    request: HttpRequest,
    community_id: int | None = None,
    room_id: int | None = None,
    include_dissolved: bool = False,
) -> object:
    """List households of a community or a room (open ones unless ``include_dissolved``)."""
    return selectors.list_households(
        actor(request),
        community_id=community_id,
        room_id=room_id,
        include_dissolved=include_dissolved,
    )


@router.get("/households/{household_id}", response={200: HouseholdDetailOut, **ERRORS})
def get_household(request: HttpRequest, household_id: int) -> Household:
    """Return a household with its current members."""
    return selectors.get_household(actor(request), household_id)


@router.post("/households/{household_id}/head", response={200: HouseholdOut, **ERRORS})
def set_household_head(request: HttpRequest, household_id: int, body: HouseholdHeadIn) -> Household:
    """Make a member the household head (变更户主)."""
    a = actor(request)
    household = selectors.get_household(a, household_id)
    residency = selectors.get_residency(a, body.residency_id)
    return actions.do_set_household_head(
        a,
        household,
        residency,
        former_head_kinship=body.former_head_kinship,
        occurred_on=body.occurred_on,
        source=API,
    )


# -- rental registration (出租屋登记) ----------------------------------------------------


@router.get("/tenancies", response={200: list[TenancyOut], **ERRORS})
@paginate(PagePagination)
def list_tenancies(
    request: HttpRequest,
    community_id: int | None = None,
    room_id: int | None = None,
    status: str = "",
    within_days: int = Query(30, ge=0, le=366),
) -> object:
    """List rental registrations: ``status`` open, expiring (within ``within_days``),
    overdue or ended."""
    return selectors.list_tenancies(
        actor(request),
        community_id=community_id,
        room_id=room_id,
        status=status,
        within_days=within_days,
    )


@router.get("/tenancies/{tenancy_id}", response={200: TenancyDetailOut, **ERRORS})
def get_tenancy(request: HttpRequest, tenancy_id: int) -> Tenancy:
    """Return a rental registration with its tenants."""
    return selectors.get_tenancy(actor(request), tenancy_id)


@router.post("/tenancies", response={201: TenancyDetailOut, **ERRORS})
def register_tenancy(request: HttpRequest, body: TenancyIn) -> tuple[int, Tenancy]:
    """Register a rental and move its tenants in, all or nothing."""
    a = actor(request)
    room = selectors.get_room(a, body.room_id)
    landlord = selectors.get_person(a, body.landlord_id) if body.landlord_id else None
    tenants = [(selectors.get_person(a, t.person_id), t.category) for t in body.tenants]
    tenancy = tenancies.do_register_tenancy(
        a,
        room,
        landlord=landlord,
        tenants=tenants,
        date_from=body.date_from,
        date_to=body.date_to,
        purpose=body.purpose,
        note=body.note,
        source=API,
    )
    return 201, selectors.get_tenancy(a, tenancy.pk)


@router.post("/tenancies/{tenancy_id}/extend", response={200: TenancyOut, **ERRORS})
def extend_tenancy(request: HttpRequest, tenancy_id: int, body: TenancyExtendIn) -> Tenancy:
    """Renew a lease to a later end (续租)."""
    a = actor(request)
    tenancy = selectors.get_tenancy(a, tenancy_id)
    return tenancies.do_extend_tenancy(a, tenancy, date_to=body.date_to, note=body.note)


@router.post("/tenancies/{tenancy_id}/end", response={200: TenancyOut, **ERRORS})
def end_tenancy(request: HttpRequest, tenancy_id: int, body: TenancyEndIn) -> Tenancy:
    """End a rental (退租): every tenant still there moves out on ``ended_on``."""
    a = actor(request)
    tenancy = selectors.get_tenancy(a, tenancy_id)
    return tenancies.do_end_tenancy(a, tenancy, ended_on=body.ended_on, source=API)


@router.post("/tenancies/{tenancy_id}/tenants", response={201: ResidencyOut, **ERRORS})
def add_tenant(request: HttpRequest, tenancy_id: int, body: AddTenantIn) -> tuple[int, Residency]:
    """Move another tenant into a registered rental."""
    a = actor(request)
    tenancy = selectors.get_tenancy(a, tenancy_id)
    person = selectors.get_person(a, body.person_id)
    residency = tenancies.do_add_tenant(
        a,
        tenancy,
        person,
        date_from=body.date_from,
        category=body.category,
        kinship=body.kinship,
        source=API,
    )
    return 201, residency


# -- vehicles ------------------------------------------------------------------------------


@router.get("/vehicles", response={200: list[VehicleOut], **ERRORS})
@paginate(PagePagination)
def list_vehicles(
    request: HttpRequest, community_id: int | None = None, owner_id: int | None = None, q: str = ""
) -> object:
    """List registered vehicles; ``q`` matches part of the plate."""
    return selectors.list_vehicles(
        actor(request), community_id=community_id, owner_id=owner_id, q=q
    )


@router.post("/vehicles", response={201: VehicleOut, **ERRORS})
def register_vehicle(request: HttpRequest, body: VehicleIn) -> tuple[int, object]:
    """Register a resident's vehicle; 409 ``duplicate_plate`` if the community has the plate."""
    a = actor(request)
    community = place_selectors.get_community(a, body.community_id)
    owner = selectors.get_person(a, body.owner_id)
    return 201, actions.do_register_vehicle(a, owner, community, body.plate, body.description)


@router.delete("/vehicles/{vehicle_id}", response={204: None, **ERRORS})
def remove_vehicle(request: HttpRequest, vehicle_id: int) -> tuple[int, None]:
    """Remove a vehicle record."""
    a = actor(request)
    actions.do_remove_vehicle(a, selectors.get_vehicle(a, vehicle_id))
    return 204, None


# -- special-care tags (重点关爱) -----------------------------------------------------------


@router.get("/care-tags", response={200: list[CareTagOut], **ERRORS})
@paginate(PagePagination)
def list_care_tags(
    request: HttpRequest,
    community_id: int | None = None,
    person_id: int | None = None,
    tag: str = "",
) -> object:
    """List special-care tags; only roles holding ``person.care_view`` (others get 403)."""
    return selectors.list_care_records(
        actor(request), community_id=community_id, person_id=person_id, tag=tag
    )


@router.post("/care-tags", response={201: CareTagOut, **ERRORS})
def add_care_tag(request: HttpRequest, body: CareTagIn) -> tuple[int, object]:
    """Tag a person for special care; needs ``person.care_manage``."""
    a = actor(request)
    community = place_selectors.get_community(a, body.community_id)
    person = selectors.get_person(a, body.person_id)
    return 201, actions.do_add_care_tag(a, person, community, tag=body.tag, note=body.note)


@router.delete("/care-tags/{record_id}", response={204: None, **ERRORS})
def remove_care_tag(request: HttpRequest, record_id: int) -> tuple[int, None]:
    """Remove a special-care tag; needs ``person.care_manage``."""
    a = actor(request)
    actions.do_remove_care_tag(a, selectors.get_care_record(a, record_id))
    return 204, None


# -- population changes ------------------------------------------------------------------


@router.get(
    "/communities/{community_id}/population-changes",
    response={200: PopulationFeedOut, **ERRORS},
)
def population_changes(
    request: HttpRequest,
    community_id: int,
    cursor: str = "",
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, object]:
    """Follow a community's population changes (人口动态) from an opaque cursor."""
    items, next_cursor = selectors.population_feed(
        actor(request), community_id, cursor=cursor, limit=limit
    )
    return {"items": items, "next_cursor": next_cursor}
