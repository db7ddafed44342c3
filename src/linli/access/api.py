"""API of access control (thin; see manage, actions, queries and selectors).

Configuration (access points, schedules, holidays, groups, policies) is written through
:mod:`linli.access.manage`, which recompiles the rights it affects; credentials and
consent through :mod:`linli.access.actions`. Nothing here returns a credential's secret.
"""

import datetime as dt
from typing import Any

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from ninja import Router
from ninja.pagination import paginate

from linli.access import actions, manage, passes, queries, selectors
from linli.access.models import AccessPoint, Consent, Credential, Group, Holiday, Policy, Schedule
from linli.access.schemas import (
    AccessEventOut,
    AccessPointIn,
    AccessPointOut,
    AccessPointPatch,
    ConsentIn,
    ConsentOut,
    CredentialIn,
    CredentialIssuedOut,
    CredentialOut,
    CredentialStatusIn,
    GroupIn,
    GroupOut,
    GroupPatch,
    HolidayIn,
    HolidayOut,
    HolidayPatch,
    PassOut,
    PersonRefOut,
    PolicyIn,
    PolicyOut,
    PolicyPatch,
    ScheduleIn,
    ScheduleOut,
    SchedulePatch,
)
from linli.api.base import ERRORS, PagePagination, actor
from linli.people.models import Person
from linli.places.selectors import get_community

router = Router(tags=["access"])


# Access points ------------------------------------------------------------------------


@router.get(
    "/communities/{community_id}/access-points", response={200: list[AccessPointOut], **ERRORS}
)
@paginate(PagePagination)
def list_access_points(
    request: HttpRequest,
    community_id: int,
    kind: str = "",
    building_id: int | None = None,
    enabled: bool | None = None,
    q: str = "",
) -> object:
    """List a community's access points, filtered by kind, building, state and code or name."""
    a = actor(request)
    community = get_community(a, community_id, perm="access.view")
    return queries.list_access_points(
        a, community_id=community.pk, kind=kind, building_id=building_id, enabled=enabled, q=q
    )


@router.post("/communities/{community_id}/access-points", response={201: AccessPointOut, **ERRORS})
def create_access_point(
    request: HttpRequest, community_id: int, body: AccessPointIn
) -> tuple[int, AccessPoint]:
    """Create an access point with its terminals; ``all_points`` policies cover it at once."""
    a = actor(request)
    community = get_community(a, community_id)
    point = manage.do_create_access_point(a, community, **body.dict())
    return 201, queries.get_access_point(a, point.pk)


@router.get("/access-points/{point_id}", response={200: AccessPointOut, **ERRORS})
def get_access_point(request: HttpRequest, point_id: int) -> AccessPoint:
    """Return one access point."""
    return queries.get_access_point(actor(request), point_id)


@router.patch("/access-points/{point_id}", response={200: AccessPointOut, **ERRORS})
def update_access_point(request: HttpRequest, point_id: int, body: AccessPointPatch) -> AccessPoint:
    """Change an access point's code, name, kind, place, terminals or state."""
    a = actor(request)
    point = queries.get_access_point(a, point_id)
    manage.do_update_access_point(a, point, **body.dict(exclude_unset=True))
    return queries.get_access_point(a, point_id)


@router.delete("/access-points/{point_id}", response={204: None, **ERRORS})
def delete_access_point(request: HttpRequest, point_id: int) -> tuple[int, None]:
    """Delete an access point (its rights go; the access log keeps its entries)."""
    a = actor(request)
    manage.do_delete_access_point(a, queries.get_access_point(a, point_id))
    return 204, None


@router.get("/access-points/{point_id}/who-may-open", response={200: list[PersonRefOut], **ERRORS})
@paginate(PagePagination)
def who_may_open(request: HttpRequest, point_id: int, at: dt.datetime | None = None) -> object:
    """List the people who may pass the point now (or at ``at``), by the compiled rights."""
    a = actor(request)
    people = selectors.who_may_open(a, queries.get_access_point(a, point_id), at)
    # A queryset, so the page counts and slices in the database.
    return Person.objects.filter(pk__in=[p.pk for p in people]).order_by("name", "pk")


@router.get("/people/{person_id}/doors", response={200: list[AccessPointOut], **ERRORS})
def doors_for(
    request: HttpRequest, person_id: int, community_id: int, at: dt.datetime | None = None
) -> list[AccessPoint]:
    """List the access points a person may pass in a community now (or at ``at``)."""
    a = actor(request)
    person = queries.get_member(a, person_id, community_id, "access.view")
    doors = selectors.doors_for(a, person, community_id, at)
    prefetch_related_objects(doors, "devices")
    return doors


# Schedules ----------------------------------------------------------------------------


@router.get(
    "/communities/{community_id}/access-schedules", response={200: list[ScheduleOut], **ERRORS}
)
@paginate(PagePagination)
def list_schedules(request: HttpRequest, community_id: int, q: str = "") -> object:
    """List a community's schedules, filtered by name."""
    a = actor(request)
    community = get_community(a, community_id, perm="access.view")
    return queries.list_schedules(a, community_id=community.pk, q=q)


@router.post("/communities/{community_id}/access-schedules", response={201: ScheduleOut, **ERRORS})
def create_schedule(
    request: HttpRequest, community_id: int, body: ScheduleIn
) -> tuple[int, Schedule]:
    """Create a schedule; malformed windows are refused naming the window and field."""
    a = actor(request)
    return 201, manage.do_create_schedule(a, get_community(a, community_id), **body.dict())


@router.get("/access-schedules/{schedule_id}", response={200: ScheduleOut, **ERRORS})
def get_schedule(request: HttpRequest, schedule_id: int) -> Schedule:
    """Return one schedule."""
    return queries.get_schedule(actor(request), schedule_id)


@router.patch("/access-schedules/{schedule_id}", response={200: ScheduleOut, **ERRORS})
def update_schedule(request: HttpRequest, schedule_id: int, body: SchedulePatch) -> Schedule:
    """Change a schedule; terminals relying on it are told to sync."""
    a = actor(request)
    schedule = queries.get_schedule(a, schedule_id)
    return manage.do_update_schedule(a, schedule, **body.dict(exclude_unset=True))


@router.delete("/access-schedules/{schedule_id}", response={204: None, **ERRORS})
def delete_schedule(request: HttpRequest, schedule_id: int) -> tuple[int, None]:
    """Delete a schedule no policy uses (409 ``in_use`` otherwise)."""
    a = actor(request)
    manage.do_delete_schedule(a, queries.get_schedule(a, schedule_id))
    return 204, None


# Holidays -----------------------------------------------------------------------------


@router.get("/communities/{community_id}/holidays", response={200: list[HolidayOut], **ERRORS})
@paginate(PagePagination)
def list_holidays(
    request: HttpRequest,
    community_id: int,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> object:
    """List the holidays and 调休 workdays that apply in a community (shared and its own)."""
    a = actor(request)
    community = get_community(a, community_id, perm="access.view")
    return queries.list_holidays(a, community.pk, since=since, until=until)


@router.post("/communities/{community_id}/holidays", response={201: HolidayOut, **ERRORS})
def create_community_holiday(
    request: HttpRequest, community_id: int, body: HolidayIn
) -> tuple[int, Holiday]:
    """Add a holiday or 调休 workday for one community (it overrides a shared one)."""
    a = actor(request)
    community = get_community(a, community_id)
    return 201, manage.do_create_holiday(a, community.pk, **body.dict())


@router.post("/holidays", response={201: HolidayOut, **ERRORS})
def create_shared_holiday(request: HttpRequest, body: HolidayIn) -> tuple[int, Holiday]:
    """Add a holiday or 调休 workday for every community (platform administrators)."""
    return 201, manage.do_create_holiday(actor(request), None, **body.dict())


@router.patch("/holidays/{holiday_id}", response={200: HolidayOut, **ERRORS})
def update_holiday(request: HttpRequest, holiday_id: int, body: HolidayPatch) -> Holiday:
    """Change a holiday's kind or name."""
    a = actor(request)
    holiday = queries.get_holiday(a, holiday_id)
    return manage.do_update_holiday(a, holiday, **body.dict(exclude_unset=True))


@router.delete("/holidays/{holiday_id}", response={204: None, **ERRORS})
def delete_holiday(request: HttpRequest, holiday_id: int) -> tuple[int, None]:
    """Remove a holiday or 调休 workday."""
    a = actor(request)
    manage.do_delete_holiday(a, queries.get_holiday(a, holiday_id))
    return 204, None


# Groups -------------------------------------------------------------------------------


@router.get("/communities/{community_id}/access-groups", response={200: list[GroupOut], **ERRORS})
@paginate(PagePagination)
def list_groups(request: HttpRequest, community_id: int, kind: str = "", q: str = "") -> object:
    """List a community's groups, filtered by kind and name."""
    a = actor(request)
    community = get_community(a, community_id, perm="access.view")
    return queries.list_groups(a, community_id=community.pk, kind=kind, q=q)


@router.post("/communities/{community_id}/access-groups", response={201: GroupOut, **ERRORS})
def create_group(request: HttpRequest, community_id: int, body: GroupIn) -> tuple[int, Group]:
    """Create a group: residents (of a building or unit), staff by role, or a named list."""
    a = actor(request)
    group = manage.do_create_group(a, get_community(a, community_id), **body.dict())
    return 201, queries.get_group(a, group.pk)


@router.get("/access-groups/{group_id}", response={200: GroupOut, **ERRORS})
def get_group(request: HttpRequest, group_id: int) -> Group:
    """Return one group."""
    return queries.get_group(actor(request), group_id)


@router.patch("/access-groups/{group_id}", response={200: GroupOut, **ERRORS})
def update_group(request: HttpRequest, group_id: int, body: GroupPatch) -> Group:
    """Change a group; the policies naming it are recompiled at once."""
    a = actor(request)
    manage.do_update_group(a, queries.get_group(a, group_id), **body.dict(exclude_unset=True))
    return queries.get_group(a, group_id)


@router.delete("/access-groups/{group_id}", response={204: None, **ERRORS})
def delete_group(request: HttpRequest, group_id: int) -> tuple[int, None]:
    """Delete a group no policy uses (409 ``in_use`` otherwise)."""
    a = actor(request)
    manage.do_delete_group(a, queries.get_group(a, group_id))
    return 204, None


# Policies -----------------------------------------------------------------------------


@router.get(
    "/communities/{community_id}/access-policies", response={200: list[PolicyOut], **ERRORS}
)
@paginate(PagePagination)
def list_policies(
    request: HttpRequest,
    community_id: int,
    group_id: int | None = None,
    point_id: int | None = None,
    schedule_id: int | None = None,
    effect: str = "",
    enabled: bool | None = None,
) -> object:
    """List a community's policies, filtered by group, access point, schedule, effect, state."""
    a = actor(request)
    community = get_community(a, community_id, perm="access.view")
    return queries.list_policies(
        a,
        community_id=community.pk,
        group_id=group_id,
        point_id=point_id,
        schedule_id=schedule_id,
        effect=effect,
        enabled=enabled,
    )


@router.post("/communities/{community_id}/access-policies", response={201: PolicyOut, **ERRORS})
def create_policy(request: HttpRequest, community_id: int, body: PolicyIn) -> tuple[int, Policy]:
    """Create a policy; its rights are compiled before the response."""
    a = actor(request)
    policy = manage.do_create_policy(a, get_community(a, community_id), **body.dict())
    return 201, queries.get_policy(a, policy.pk)


@router.get("/access-policies/{policy_id}", response={200: PolicyOut, **ERRORS})
def get_policy(request: HttpRequest, policy_id: int) -> Policy:
    """Return one policy."""
    return queries.get_policy(actor(request), policy_id)


@router.patch("/access-policies/{policy_id}", response={200: PolicyOut, **ERRORS})
def update_policy(request: HttpRequest, policy_id: int, body: PolicyPatch) -> Policy:
    """Change a policy; its rights are recompiled before the response."""
    a = actor(request)
    manage.do_update_policy(a, queries.get_policy(a, policy_id), **body.dict(exclude_unset=True))
    return queries.get_policy(a, policy_id)


@router.delete("/access-policies/{policy_id}", response={204: None, **ERRORS})
def delete_policy(request: HttpRequest, policy_id: int) -> tuple[int, None]:
    """Delete a policy and the rights it gave or took away."""
    a = actor(request)
    manage.do_delete_policy(a, queries.get_policy(a, policy_id))
    return 204, None


# Credentials and consent --------------------------------------------------------------


@router.get("/people/{person_id}/credentials", response={200: list[CredentialOut], **ERRORS})
def list_credentials(request: HttpRequest, person_id: int, community_id: int) -> list[Credential]:
    """List a person's credentials in a community (card numbers masked, no secrets)."""
    a = actor(request)
    person = queries.get_member(a, person_id, community_id, "credential.view")
    return list(queries.list_credentials(a, person, community_id))


@router.post("/people/{person_id}/credentials", response={201: CredentialIssuedOut, **ERRORS})
def issue_credential(
    request: HttpRequest, person_id: int, body: CredentialIn, response: HttpResponse
) -> tuple[int, dict[str, Any]]:
    """Issue a card, a PIN or a new 一码通; a generated PIN is in this response only."""
    a = actor(request)
    person = queries.get_member(a, person_id, body.community_id, "credential.view")
    credential, shown = actions.do_issue_credential(
        a,
        person,
        body.community_id,
        kind=body.kind,
        value=body.value.strip(),
        valid_from=body.valid_from,
        valid_until=body.valid_until,
    )
    response["Cache-Control"] = "no-store"
    return 201, {"credential": credential, "pin": shown or None}


@router.post("/credentials/{credential_id}/status", response={200: CredentialOut, **ERRORS})
def set_credential_status(
    request: HttpRequest, credential_id: int, body: CredentialStatusIn
) -> Credential:
    """Suspend, resume or revoke a credential."""
    a = actor(request)
    credential = queries.get_credential(a, credential_id)
    return actions.do_set_credential_status(a, credential, body.action, body.reason)


@router.get("/people/{person_id}/consents", response={200: list[ConsentOut], **ERRORS})
def list_consents(request: HttpRequest, person_id: int, community_id: int) -> list[Consent]:
    """List a person's biometric consents in a community, newest first."""
    a = actor(request)
    person = queries.get_member(a, person_id, community_id, "credential.view")
    return list(queries.list_consents(a, person, community_id))


@router.post("/people/{person_id}/consents", response={201: ConsentOut, **ERRORS})
def record_consent(request: HttpRequest, person_id: int, body: ConsentIn) -> tuple[int, Consent]:
    """Record a person's consent to face or voiceprint recognition."""
    a = actor(request)
    person = queries.get_member(a, person_id, body.community_id, "credential.view")
    data = body.dict()
    community_id = data.pop("community_id")
    return 201, actions.do_record_consent(a, person, community_id, **data)


@router.post("/consents/{consent_id}/revoke", response={200: ConsentOut, **ERRORS})
def revoke_consent(request: HttpRequest, consent_id: int) -> Consent:
    """Withdraw a consent; that biometric's credentials are revoked with it."""
    a = actor(request)
    return actions.do_revoke_consent(a, queries.get_consent(a, consent_id))


# The access log and the resident's pass -----------------------------------------------


@router.get("/access-events", response={200: list[AccessEventOut], **ERRORS})
@paginate(PagePagination)
def list_access_events(
    request: HttpRequest,
    community_id: int | None = None,
    point_id: int | None = None,
    person_id: int | None = None,
    result: str = "",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> object:
    """List the access log (通行记录), newest first; ``until`` is exclusive."""
    return queries.list_access_events(
        actor(request),
        community_id=community_id,
        point_id=point_id,
        person_id=person_id,
        result=result,
        since=since,
        until=until,
    )


@router.get("/me/pass", response={200: PassOut, **ERRORS})
def my_pass(
    request: HttpRequest, response: HttpResponse, community_id: int | None = None
) -> dict[str, Any]:
    """Return a fresh 一码通 pass of the signed-in resident (valid for 30 seconds; not cached).

    ``community_id`` is required when the resident has a pass in several communities.
    """
    a = actor(request)
    person, chosen = queries.own_pass_community(a, community_id)
    actions.ensure_pass(person.pk, chosen)
    text = actions.show_pass(person.pk, chosen)
    claims, _body, _signature = passes.read(text)
    response["Cache-Control"] = "no-store"
    return {
        "community_id": chosen,
        "text": text,
        "expires_at": dt.datetime.fromtimestamp(claims.expires_at, tz=dt.UTC),
    }
