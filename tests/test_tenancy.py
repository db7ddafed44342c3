"""Every API endpoint keeps tenants apart: B's objects are invisible (404) and unwritable to A.

``CASES`` holds one check per operation of the OpenAPI document, and
``test_every_endpoint_has_a_tenancy_case`` fails when an endpoint is added without one.
Each check acts as A's property manager (full rights on A, none on B).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.test import Client

from linli.core.actions import do_create_api_token, do_create_organisation, do_give_grant
from linli.core.choices import OrganisationType, Role
from linli.core.models import ApiToken, AuditLog, Grant
from linli.core.tenancy import Actor
from linli.places.models import Community
from tests.conftest import World
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
