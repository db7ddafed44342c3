"""Every API endpoint keeps tenants apart: B's objects are invisible (404) and unwritable to A.

``CASES`` holds one check per operation of the OpenAPI document, and
``test_every_endpoint_has_a_tenancy_case`` fails when an endpoint is added without one.
Each check acts as A's property manager (full rights on A, none on B).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from stdnum.cn import ric

from linli.core.actions import do_create_api_token, do_create_organisation, do_give_grant
from linli.core.choices import OrganisationType, Role
from linli.core.models import ApiToken, AuditLog, Grant
from linli.core.tenancy import Actor
from linli.people.actions import (
    do_add_care_tag,
    do_register_person,
    do_register_vehicle,
    do_set_photo,
    do_start_residency,
)
from linli.people.models import (
    CareRecord,
    Household,
    Person,
    PersonPhoto,
    Residency,
    Tenancy,
    Vehicle,
)
from linli.people.tenancies import do_register_tenancy
from linli.places.actions import do_create_building, do_create_rooms, do_create_unit
from linli.places.models import Community
from tests.conftest import World
from tests.tenancy_access import ACCESS_CASES
from tests.tenancy_biometrics import BIOMETRIC_CASES
from tests.tenancy_devices import DEVICE_CASES
from tests.tenancy_places import PLACE_CASES

Check = Callable[[Client, World], None]


def js(response: object) -> object:
    return json.loads(response.content)  # type: ignore[attr-defined]


def post(c: Client, url: str, data: object) -> object:
    return c.post(url, data=json.dumps(data), content_type="application/json")


def expect_404(response: object) -> None:
    assert response.status_code == 404, response.content  # type: ignore[attr-defined]
    assert js(response)["code"] == "not_found"  # type: ignore[index]


def only_a(items: list[dict[str, object]], w: World, key: str = "community_id") -> None:
    assert items, "the list shows A's own rows"
    assert {i[key] for i in items} == {w.a.pk}


@pytest.fixture
def b_side(world: World) -> dict[str, object]:
    """Give B an organisation, a grant and a token of its own."""
    system = Actor.system("test")
    org_b = do_create_organisation(system, name="金桂物业", type=OrganisationType.PROPERTY_COMPANY)
    grant_b = do_give_grant(
        system, community_id=world.b.pk, role=Role.FRONT_DESK, organisation=org_b
    )
    token_b, _ = do_create_api_token(Actor.for_user(world.manager_b), name="b")
    return {"org": org_b, "grant": grant_b, "token": token_b}


def case_me(c: Client, w: World, b: dict[str, object]) -> None:
    grants = js(c.get("/api/v1/me"))["grants"]  # type: ignore[index]
    assert [g["community_id"] for g in grants] == [w.a.pk]


def case_list_organisations(c: Client, w: World, b: dict[str, object]) -> None:
    names = [o["name"] for o in js(c.get("/api/v1/organisations"))["items"]]  # type: ignore[index]
    assert "金桂物业" not in names


def case_get_organisation(c: Client, w: World, b: dict[str, object]) -> None:
    expect_404(c.get(f"/api/v1/organisations/{b['org'].pk}"))  # type: ignore[attr-defined]


def case_create_organisation(c: Client, w: World, b: dict[str, object]) -> None:
    r = post(c, "/api/v1/organisations", {"name": "x", "type": "property_company"})
    assert r.status_code == 403  # type: ignore[attr-defined]


def case_list_grants(c: Client, w: World, b: dict[str, object]) -> None:
    only_a(js(c.get("/api/v1/grants"))["items"], w)  # type: ignore[index]
    assert js(c.get(f"/api/v1/grants?community_id={w.b.pk}"))["items"] == []  # type: ignore[index]


def case_give_grant(c: Client, w: World, b: dict[str, object]) -> None:
    body = {"community_id": w.b.pk, "role": "front_desk", "user_id": w.guard_a.pk}
    expect_404(post(c, "/api/v1/grants", body))
    assert not Grant.objects.filter(community=w.b, user=w.guard_a).exists()


def case_withdraw_grant(c: Client, w: World, b: dict[str, object]) -> None:
    expect_404(c.delete(f"/api/v1/grants/{b['grant'].pk}"))  # type: ignore[attr-defined]
    assert Grant.objects.filter(pk=b["grant"].pk).exists()  # type: ignore[attr-defined]


def case_audit(c: Client, w: World, b: dict[str, object]) -> None:
    only_a(js(c.get("/api/v1/audit"))["items"], w)  # type: ignore[index]
    assert js(c.get(f"/api/v1/audit?community_id={w.b.pk}"))["items"] == []  # type: ignore[index]
    assert AuditLog.objects.filter(community_id=w.b.pk).exists()


def case_list_tokens(c: Client, w: World, b: dict[str, object]) -> None:
    names = [t["name"] for t in js(c.get("/api/v1/tokens"))]  # type: ignore[attr-defined]
    assert "b" not in names


def case_create_token(c: Client, w: World, b: dict[str, object]) -> None:
    r = post(c, "/api/v1/tokens", {"name": "mine"})
    assert r.status_code == 201  # type: ignore[attr-defined]
    assert ApiToken.objects.get(pk=js(r)["id"]).user == w.manager_a  # type: ignore[index]


def case_revoke_token(c: Client, w: World, b: dict[str, object]) -> None:
    expect_404(c.delete(f"/api/v1/tokens/{b['token'].pk}"))  # type: ignore[attr-defined]
    assert ApiToken.objects.get(pk=b["token"].pk).revoked_at is None  # type: ignore[attr-defined]


def case_list_communities(c: Client, w: World, b: dict[str, object]) -> None:
    only_a(js(c.get("/api/v1/communities"))["items"], w, key="id")  # type: ignore[index]


def case_create_community(c: Client, w: World, b: dict[str, object]) -> None:
    assert post(c, "/api/v1/communities", {"name": "n", "code": "n"}).status_code == 403  # type: ignore[attr-defined]


def case_get_community(c: Client, w: World, b: dict[str, object]) -> None:
    expect_404(c.get(f"/api/v1/communities/{w.b.pk}"))


def case_update_community(c: Client, w: World, b: dict[str, object]) -> None:
    r = c.patch(
        f"/api/v1/communities/{w.b.pk}",
        data=json.dumps({"name": "hijacked"}),
        content_type="application/json",
    )
    expect_404(r)
    assert Community.objects.get(pk=w.b.pk).name == "金桂二区"


def case_buildings(c: Client, w: World, b: dict[str, object]) -> None:
    expect_404(c.get(f"/api/v1/communities/{w.b.pk}/buildings"))


def case_stats(c: Client, w: World, b: dict[str, object]) -> None:
    expect_404(c.get(f"/api/v1/communities/{w.b.pk}/stats"))


def case_list_people(c: Client, w: World, b: dict[str, object]) -> None:
    only_a(js(c.get("/api/v1/people"))["items"], w)  # type: ignore[index]
    assert js(c.get(f"/api/v1/people?community_id={w.b.pk}"))["items"] == []  # type: ignore[index]


def case_get_person(c: Client, w: World, b: dict[str, object]) -> None:
    expect_404(c.get(f"/api/v1/people/{w.person_b.pk}"))


def case_reveal_person(c: Client, w: World, b: dict[str, object]) -> None:
    expect_404(c.post(f"/api/v1/people/{w.person_b.pk}/reveal"))
    assert not AuditLog.objects.filter(action="people.person.reveal").exists()


def case_population_feed(c: Client, w: World, b: dict[str, object]) -> None:
    expect_404(c.get(f"/api/v1/communities/{w.b.pk}/population-changes"))


# -- people: residencies, households, rentals, vehicles, care tags -------------------------

DAY = dt.date(2026, 3, 1)
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60


def _rid(n: int) -> str:
    body = f"3301061990010{n}00{n}"
    return body + ric.calc_check_digit(body + "0")


def _people(w: World) -> dict[str, dict[str, Any]]:
    """Give A and B each a room with its owner's household, a rental, a car and a care tag."""
    s = Actor.system("test")
    out: dict[str, dict[str, Any]] = {}
    for n, (side, community, person) in enumerate((("a", w.a, w.person_a), ("b", w.b, w.person_b))):
        building = do_create_building(s, community, number=f"P{side}", floors_above=2)
        unit = do_create_unit(s, building, number="1")
        room, spare = do_create_rooms(
            s, unit, [("101", 1, None, "residential"), ("102", 1, None, "residential")]
        )
        residency = do_start_residency(s, person, room, relation="owner", date_from=DAY)
        tenant = do_register_person(s, community, name=f"租客{side}", id_number=_rid(n + 1))
        tenancy = do_register_tenancy(
            s,
            spare,
            landlord=person,
            tenants=[(tenant, "floating")],
            date_from=DAY,
            date_to=dt.date(2027, 3, 1),
        )
        out[side] = {
            "room": room,
            "spare": spare,
            "residency": residency,
            "household": residency.household,
            "tenancy": tenancy,
            "vehicle": do_register_vehicle(s, person, community, f"浙A1234{n}"),
            "care": do_add_care_tag(s, person, community, tag="veteran"),
        }
    do_set_photo(s, w.person_b, JPEG)
    return out


def _send(c: Client, method: str, url: str, data: object) -> object:
    return getattr(c, method)(url, data=json.dumps(data), content_type="application/json")


def case_register_person(c: Client, w: World, b: dict[str, object]) -> None:
    body = {"community_id": w.b.pk, "name": "赵敏", "id_number": _rid(7)}
    expect_404(post(c, "/api/v1/people", body))
    assert not Person.objects.filter(name="赵敏").exists()


def case_update_person(c: Client, w: World, b: dict[str, object]) -> None:
    expect_404(_send(c, "patch", f"/api/v1/people/{w.person_b.pk}", {"name": "hijacked"}))
    assert Person.objects.get(pk=w.person_b.pk).name == "李强"


def case_upload_photo(c: Client, w: World, b: dict[str, object]) -> None:
    photo = SimpleUploadedFile("p.jpg", JPEG, "image/jpeg")
    expect_404(c.post(f"/api/v1/people/{w.person_b.pk}/photo", {"photo": photo}))
    assert not PersonPhoto.objects.exists()


def case_get_photo(c: Client, w: World, b: dict[str, object]) -> None:
    _people(w)
    expect_404(c.get(f"/api/v1/people/{w.person_b.pk}/photo"))
    assert not AuditLog.objects.filter(action="people.person.photo_read").exists()


def case_person_residencies(c: Client, w: World, b: dict[str, object]) -> None:
    _people(w)
    only_a(js(c.get(f"/api/v1/people/{w.person_a.pk}/residencies")), w)  # type: ignore[arg-type]
    expect_404(c.get(f"/api/v1/people/{w.person_b.pk}/residencies"))


def case_start_residency(c: Client, w: World, b: dict[str, object]) -> None:
    p = _people(w)
    before = Residency.objects.count()
    into_b = {"person_id": w.person_a.pk, "room_id": p["b"]["spare"].pk, "relation": "owner"}
    expect_404(post(c, "/api/v1/residencies", {**into_b, "date_from": "2026-04-01"}))
    b_into_a = {"person_id": w.person_b.pk, "room_id": p["a"]["spare"].pk, "relation": "family"}
    expect_404(post(c, "/api/v1/residencies", {**b_into_a, "date_from": "2026-04-01"}))
    assert Residency.objects.count() == before


def case_end_residency(c: Client, w: World, b: dict[str, object]) -> None:
    residency = _people(w)["b"]["residency"]
    expect_404(post(c, f"/api/v1/residencies/{residency.pk}/end", {"date_to": "2026-04-01"}))
    assert Residency.objects.get(pk=residency.pk).date_to is None


def case_transfer_household(c: Client, w: World, b: dict[str, object]) -> None:
    p = _people(w)
    url = f"/api/v1/residencies/{p['b']['residency'].pk}/household"
    expect_404(post(c, url, {"household_id": None, "occurred_on": "2026-04-01"}))
    url = f"/api/v1/residencies/{p['a']['residency'].pk}/household"
    expect_404(post(c, url, {"household_id": p["b"]["household"].pk, "occurred_on": "2026-04-01"}))
    assert Household.objects.count() == 4


def case_set_kinship(c: Client, w: World, b: dict[str, object]) -> None:
    residency = _people(w)["b"]["residency"]
    url = f"/api/v1/residencies/{residency.pk}/kinship"
    expect_404(post(c, url, {"kinship": "20", "occurred_on": "2026-04-01"}))
    assert Residency.objects.get(pk=residency.pk).kinship == "02"


def case_list_households(c: Client, w: World, b: dict[str, object]) -> None:
    _people(w)
    only_a(js(c.get("/api/v1/households"))["items"], w)  # type: ignore[index]
    assert js(c.get(f"/api/v1/households?community_id={w.b.pk}"))["items"] == []  # type: ignore[index]


def case_get_household(c: Client, w: World, b: dict[str, object]) -> None:
    expect_404(c.get(f"/api/v1/households/{_people(w)['b']['household'].pk}"))


def case_household_head(c: Client, w: World, b: dict[str, object]) -> None:
    p = _people(w)
    url = f"/api/v1/households/{p['b']['household'].pk}/head"
    body = {"residency_id": p["b"]["residency"].pk, "former_head_kinship": "10"}
    expect_404(post(c, url, {**body, "occurred_on": "2026-04-01"}))
    url = f"/api/v1/households/{p['a']['household'].pk}/head"
    expect_404(post(c, url, {**body, "occurred_on": "2026-04-01"}))
    assert Household.objects.get(pk=p["b"]["household"].pk).head == w.person_b


def case_list_tenancies(c: Client, w: World, b: dict[str, object]) -> None:
    _people(w)
    only_a(js(c.get("/api/v1/tenancies"))["items"], w)  # type: ignore[index]
    assert js(c.get(f"/api/v1/tenancies?community_id={w.b.pk}"))["items"] == []  # type: ignore[index]


def case_get_tenancy(c: Client, w: World, b: dict[str, object]) -> None:
    expect_404(c.get(f"/api/v1/tenancies/{_people(w)['b']['tenancy'].pk}"))


def case_register_tenancy(c: Client, w: World, b: dict[str, object]) -> None:
    p = _people(w)
    before = Tenancy.objects.count()
    body = {"date_from": "2027-04-01", "date_to": "2028-04-01", "tenants": []}
    expect_404(post(c, "/api/v1/tenancies", {**body, "room_id": p["b"]["room"].pk}))
    mixed = {"room_id": p["a"]["room"].pk, "landlord_id": w.person_b.pk}
    expect_404(post(c, "/api/v1/tenancies", {**body, **mixed}))
    tenant_b = {"room_id": p["a"]["room"].pk, "tenants": [{"person_id": w.person_b.pk}]}
    expect_404(post(c, "/api/v1/tenancies", {**body, **tenant_b}))
    assert Tenancy.objects.count() == before


def case_extend_tenancy(c: Client, w: World, b: dict[str, object]) -> None:
    tenancy = _people(w)["b"]["tenancy"]
    expect_404(post(c, f"/api/v1/tenancies/{tenancy.pk}/extend", {"date_to": "2029-01-01"}))
    assert Tenancy.objects.get(pk=tenancy.pk).date_to == dt.date(2027, 3, 1)


def case_end_tenancy(c: Client, w: World, b: dict[str, object]) -> None:
    tenancy = _people(w)["b"]["tenancy"]
    expect_404(post(c, f"/api/v1/tenancies/{tenancy.pk}/end", {"ended_on": "2026-04-01"}))
    assert Tenancy.objects.get(pk=tenancy.pk).ended_on is None


def case_add_tenant(c: Client, w: World, b: dict[str, object]) -> None:
    p = _people(w)
    before = Residency.objects.count()
    url = f"/api/v1/tenancies/{p['b']['tenancy'].pk}/tenants"
    expect_404(post(c, url, {"person_id": w.person_a.pk, "date_from": "2026-04-01"}))
    url = f"/api/v1/tenancies/{p['a']['tenancy'].pk}/tenants"
    expect_404(post(c, url, {"person_id": w.person_b.pk, "date_from": "2026-04-01"}))
    assert Residency.objects.count() == before


def case_list_vehicles(c: Client, w: World, b: dict[str, object]) -> None:
    _people(w)
    only_a(js(c.get("/api/v1/vehicles"))["items"], w)  # type: ignore[index]
    assert js(c.get(f"/api/v1/vehicles?community_id={w.b.pk}"))["items"] == []  # type: ignore[index]


def case_register_vehicle(c: Client, w: World, b: dict[str, object]) -> None:
    body = {"community_id": w.b.pk, "owner_id": w.person_b.pk, "plate": "浙B12345"}
    expect_404(post(c, "/api/v1/vehicles", body))
    expect_404(post(c, "/api/v1/vehicles", {**body, "community_id": w.a.pk}))
    assert not Vehicle.objects.exists()


def case_remove_vehicle(c: Client, w: World, b: dict[str, object]) -> None:
    vehicle = _people(w)["b"]["vehicle"]
    expect_404(c.delete(f"/api/v1/vehicles/{vehicle.pk}"))
    assert Vehicle.objects.filter(pk=vehicle.pk).exists()


def case_list_care_tags(c: Client, w: World, b: dict[str, object]) -> None:
    _people(w)
    only_a(js(c.get("/api/v1/care-tags"))["items"], w)  # type: ignore[index]
    expect_404(c.get(f"/api/v1/care-tags?community_id={w.b.pk}"))
    assert js(c.get(f"/api/v1/care-tags?person_id={w.person_b.pk}"))["items"] == []  # type: ignore[index]


def case_add_care_tag(c: Client, w: World, b: dict[str, object]) -> None:
    body = {"community_id": w.b.pk, "person_id": w.person_b.pk, "tag": "disabled"}
    expect_404(post(c, "/api/v1/care-tags", body))
    assert not CareRecord.objects.exists()


def case_remove_care_tag(c: Client, w: World, b: dict[str, object]) -> None:
    record = _people(w)["b"]["care"]
    expect_404(c.delete(f"/api/v1/care-tags/{record.pk}"))
    assert CareRecord.objects.filter(pk=record.pk).exists()


PEOPLE_CASES: dict[tuple[str, str], Callable[[Client, World, dict[str, object]], None]] = {
    ("post", "/api/v1/people"): case_register_person,
    ("patch", "/api/v1/people/{person_id}"): case_update_person,
    ("post", "/api/v1/people/{person_id}/photo"): case_upload_photo,
    ("get", "/api/v1/people/{person_id}/photo"): case_get_photo,
    ("get", "/api/v1/people/{person_id}/residencies"): case_person_residencies,
    ("post", "/api/v1/residencies"): case_start_residency,
    ("post", "/api/v1/residencies/{residency_id}/end"): case_end_residency,
    ("post", "/api/v1/residencies/{residency_id}/household"): case_transfer_household,
    ("post", "/api/v1/residencies/{residency_id}/kinship"): case_set_kinship,
    ("get", "/api/v1/households"): case_list_households,
    ("get", "/api/v1/households/{household_id}"): case_get_household,
    ("post", "/api/v1/households/{household_id}/head"): case_household_head,
    ("get", "/api/v1/tenancies"): case_list_tenancies,
    ("get", "/api/v1/tenancies/{tenancy_id}"): case_get_tenancy,
    ("post", "/api/v1/tenancies"): case_register_tenancy,
    ("post", "/api/v1/tenancies/{tenancy_id}/extend"): case_extend_tenancy,
    ("post", "/api/v1/tenancies/{tenancy_id}/end"): case_end_tenancy,
    ("post", "/api/v1/tenancies/{tenancy_id}/tenants"): case_add_tenant,
    ("get", "/api/v1/vehicles"): case_list_vehicles,
    ("post", "/api/v1/vehicles"): case_register_vehicle,
    ("delete", "/api/v1/vehicles/{vehicle_id}"): case_remove_vehicle,
    ("get", "/api/v1/care-tags"): case_list_care_tags,
    ("post", "/api/v1/care-tags"): case_add_care_tag,
    ("delete", "/api/v1/care-tags/{record_id}"): case_remove_care_tag,
}


CASES: dict[tuple[str, str], Callable[[Client, World, dict[str, object]], None]] = {
    ("get", "/api/v1/me"): case_me,
    ("get", "/api/v1/organisations"): case_list_organisations,
    ("post", "/api/v1/organisations"): case_create_organisation,
    ("get", "/api/v1/organisations/{organisation_id}"): case_get_organisation,
    ("get", "/api/v1/grants"): case_list_grants,
    ("post", "/api/v1/grants"): case_give_grant,
    ("delete", "/api/v1/grants/{grant_id}"): case_withdraw_grant,
    ("get", "/api/v1/audit"): case_audit,
    ("get", "/api/v1/tokens"): case_list_tokens,
    ("post", "/api/v1/tokens"): case_create_token,
    ("delete", "/api/v1/tokens/{token_id}"): case_revoke_token,
    ("get", "/api/v1/communities"): case_list_communities,
    ("post", "/api/v1/communities"): case_create_community,
    ("get", "/api/v1/communities/{community_id}"): case_get_community,
    ("patch", "/api/v1/communities/{community_id}"): case_update_community,
    ("get", "/api/v1/communities/{community_id}/buildings"): case_buildings,
    ("get", "/api/v1/communities/{community_id}/stats"): case_stats,
    ("get", "/api/v1/people"): case_list_people,
    ("get", "/api/v1/people/{person_id}"): case_get_person,
    ("post", "/api/v1/people/{person_id}/reveal"): case_reveal_person,
    ("get", "/api/v1/communities/{community_id}/population-changes"): case_population_feed,
}
CASES.update(PLACE_CASES)
CASES.update(PEOPLE_CASES)
CASES.update(DEVICE_CASES)
CASES.update(ACCESS_CASES)
CASES.update(BIOMETRIC_CASES)


def test_every_endpoint_has_a_tenancy_case(db: None, client: Client) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    operations = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert operations == set(CASES), (
        f"endpoints without a tenancy case: {sorted(operations - set(CASES))}; "
        f"cases without an endpoint: {sorted(set(CASES) - operations)}"
    )


@pytest.mark.parametrize("operation", sorted(CASES), ids=lambda o: f"{o[0]} {o[1]}")
def test_tenant_b_is_invisible_and_unwritable_to_a(
    world: World,
    b_side: dict[str, object],
    token_client,
    operation: tuple[str, str],  # type: ignore[no-untyped-def]
) -> None:
    CASES[operation](token_client(world.manager_a), world, b_side)
