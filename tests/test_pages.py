"""Console pages: render for their owner, hide other tenants, refuse, write through actions."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from linli.core.actions import do_create_api_token
from linli.core.auth import authenticate_token
from linli.core.choices import Role
from linli.core.models import ApiToken, AuditLog, Grant
from linli.core.tenancy import Actor
from linli.people.actions import do_register_person, do_start_residency
from linli.places.actions import do_create_building, do_create_rooms, do_create_unit
from linli.places.geometry import rectangle
from tests.conftest import World, make_user


@pytest.fixture(autouse=True)
def _forget_the_language() -> Iterator[None]:
    """Drop the language a request activated, so it does not leak into later tests."""
    yield
    translation.deactivate()


def html(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def grant_on(community_id: int) -> Grant:
    grant = Grant.objects.filter(community_id=community_id).first()
    assert grant is not None
    return grant


def audit_on(community_id: int) -> AuditLog:
    entry = AuditLog.objects.filter(community_id=community_id).first()
    assert entry is not None
    return entry


@pytest.fixture
def furnished(world: World, system: Actor) -> World:
    """Give community A a building with rooms and a resident, so maps and charts have data."""
    building = do_create_building(
        system, world.a, number="3", footprint=rectangle(120.1303, 30.2703, 32, 14)
    )
    unit = do_create_unit(system, building, number="1")
    rooms = do_create_rooms(
        system,
        unit,
        [("101", 1, Decimal("89"), "residential"), ("102", 1, Decimal("56"), "commercial")],
    )
    do_start_residency(
        system, world.person_a, rooms[0], relation="owner", date_from=dt.date(2020, 5, 1)
    )
    return world


# -- every page renders for its owner --------------------------------------------------


def owner_pages(w: World) -> list[tuple[str, str]]:
    """Return ``(url, text the page must show)`` for every console page of manager A."""
    return [
        (reverse("console:dashboard"), "概览"),
        (reverse("console:communities"), "翠苑一区"),
        (reverse("console:community", args=[w.a.pk]), "基本信息"),
        (reverse("console:community_edit", args=[w.a.pk]), "边界 (GeoJSON)"),
        (reverse("console:people"), "王芳"),
        (reverse("console:person", args=[w.person_a.pk]), "居住情况"),
        (reverse("console:community_tree", args=[w.a.pk]), "楼栋房屋"),
        (reverse("console:population_stats"), "在住人口"),
        (reverse("console:tenancies"), "出租屋登记"),
        (reverse("console:organisations"), "文新派出所"),
        (reverse("console:grants"), "新增授权"),
        (reverse("console:grant", args=[grant_on(w.a.pk).pk]), "授权详情"),
        (reverse("console:audit"), "places.community.create"),
        (reverse("console:audit_entry", args=[audit_on(w.a.pk).pk]), "变更"),
        (reverse("console:tokens"), "创建令牌"),
    ]


def test_every_page_renders_for_its_owner(furnished: World, login) -> None:  # type: ignore[no-untyped-def]
    client = login(furnished.manager_a)
    for url, text in owner_pages(furnished):
        response = client.get(url)
        assert response.status_code == 200, url
        page = html(response)
        assert text in page, (url, text)
        assert '<html lang="zh-hans">' in page
        assert "金桂二区" not in page.split('id="main"')[1], f"{url} leaks tenant B"


def test_pages_need_a_signed_in_user(world: World, client: Client) -> None:
    for url, _ in owner_pages(world):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next=")


def test_dashboard_shows_counts_map_and_charts(furnished: World, login) -> None:  # type: ignore[no-untyped-def]
    page = html(login(furnished.manager_a).get("/"))
    assert re.search(r'data-count="buildings">1<', page)
    assert re.search(r'data-count="rooms">2<', page)
    assert re.search(r'data-count="people">1<', page)
    map_svg = page.split('id="community-map"')[1]
    assert 'class="linli-map"' in map_svg and 'role="img"' in map_svg
    assert "3号楼 · 1 个单元 · 2 套房屋 · 1 位住户" in map_svg  # hover text of the building
    assert "各楼栋住户" in page and 'class="linli-bar-chart"' in page
    assert "房屋用途" in page and 'class="linli-donut-chart"' in page


def test_side_navigation_marks_the_current_section(world: World, login) -> None:  # type: ignore[no-untyped-def]
    page = html(login(world.manager_a).get(reverse("console:community", args=[world.a.pk])))
    active = re.findall(r'<a class="nav-link active" href="([^"]+)"', page)
    assert active == [reverse("console:communities")]


# -- list pages: query budget, search, filters, pagination -------------------------------


@pytest.fixture
def crowded(world: World, system: Actor) -> World:
    """Add 30 more people, 8 more grants and their audit rows to community A."""
    for i in range(30):
        do_register_person(
            system, world.a, name=f"张{i:02d}", id_type="passport", id_number=f"E{i:07d}"
        )
    for i in range(8):
        make_user(system, f"desk-{i}", Role.FRONT_DESK, world.a)
    return world


@pytest.mark.parametrize(
    ("url_name", "budget"),
    [
        ("dashboard", 16),  # 15, and one for the people with face data stored
        ("communities", 10),
        ("people", 10),
        ("organisations", 10),
        ("grants", 10),
        ("audit", 10),
        ("tokens", 10),
    ],
)
def test_list_pages_stay_within_a_query_budget(  # type: ignore[no-untyped-def]
    crowded: World, login, django_assert_max_num_queries, url_name: str, budget: int
) -> None:
    client = login(crowded.manager_a)
    for i in range(3):
        do_create_api_token(Actor.for_user(crowded.manager_a), name=f"t{i}")
    client.post(reverse("console:switch_community"), {"community": crowded.a.pk})
    with django_assert_max_num_queries(budget):
        response = client.get(reverse(f"console:{url_name}"))
    assert response.status_code == 200


def test_people_list_paginates_and_searches(crowded: World, login) -> None:  # type: ignore[no-untyped-def]
    client = login(crowded.manager_a)
    first = html(client.get("/people/"))
    assert "共 31 条" in first and "第 1 / 2 页" in first
    assert 'href="?page=2"' in first
    second = html(client.get("/people/?page=2"))
    assert len(re.findall(r'href="/people/\d+/"', second)) == 31 - 25
    found = html(client.get("/people/?q=王"))
    assert "王芳" in found and "张00" not in found and "共 1 条" in found
    assert "李强" not in html(client.get("/people/?q=李"))  # tenant B's person
    assert "没有符合条件的记录" in html(client.get("/people/?q=nobody"))
    assert client.get("/people/?page=999").status_code == 200  # the last page, not an error


def test_people_list_shows_only_masked_identity(world: World, login) -> None:  # type: ignore[no-untyped-def]
    page = html(login(world.manager_a).get("/people/"))
    assert world.person_a.id_number_masked in page and world.person_a.phone_masked in page
    assert "11010519491231002X" not in page and "13800138000" not in page


def test_audit_filters(world: World, login) -> None:  # type: ignore[no-untyped-def]
    client = login(world.police_a)
    client.post(reverse("console:person_reveal", args=[world.person_a.pk]))
    client = login(world.manager_a)
    sensitive = html(client.get("/audit/?sensitive=1"))
    assert "people.person.reveal" in sensitive and "places.community.create" not in sensitive
    places = html(client.get("/audit/?action=places."))
    assert "places.community.create" in places and "core.grant.give" not in places
    # a value that is not on offer is ignored rather than used as a raw prefix
    assert "core.grant.give" in html(client.get("/audit/?action=core.g"))


def test_grants_list_filters_by_role(world: World, login) -> None:  # type: ignore[no-untyped-def]
    page = html(login(world.manager_a).get("/grants/?role=security_guard"))
    assert "guard-a" in page and "manager-a" not in page.split('id="list"')[1].split("</table>")[0]


# -- tenancy: another community's objects are 404 ----------------------------------------


def test_other_tenants_objects_are_404(world: World, login) -> None:  # type: ignore[no-untyped-def]
    client = login(world.manager_a)
    b = world.b.pk
    for url in [
        reverse("console:community", args=[b]),
        reverse("console:community_edit", args=[b]),
        reverse("console:person", args=[world.person_b.pk]),
        reverse("console:grant", args=[grant_on(b).pk]),
        reverse("console:audit_entry", args=[audit_on(b).pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert 'id="error-page"' in html(response)
    for url in [
        reverse("console:community_edit", args=[b]),
        reverse("console:person_reveal", args=[world.person_b.pk]),
        reverse("console:grant_withdraw", args=[grant_on(b).pk]),
    ]:
        assert client.post(url, {"name": "hijacked"}).status_code == 404, url
    world.b.refresh_from_db()
    assert world.b.name == "金桂二区"
    assert Grant.objects.filter(community_id=b).count() == 1
    assert not AuditLog.objects.filter(sensitive=True).exists()


def test_another_users_token_is_404(world: World, login) -> None:  # type: ignore[no-untyped-def]
    token, _ = do_create_api_token(Actor.for_user(world.manager_b), name="b's")
    client = login(world.manager_a)
    assert client.post(reverse("console:token_revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert "b&#x27;s" not in html(client.get("/tokens/"))


def test_switcher_refuses_a_community_the_user_cannot_see(world: World, login) -> None:  # type: ignore[no-untyped-def]
    client = login(world.manager_a)
    url = reverse("console:switch_community")
    assert client.post(url, {"community": world.b.pk, "next": "/people/"}).status_code == 404
    assert client.post(url, {"community": "nonsense"}).status_code == 404
    ok = client.post(url, {"community": world.a.pk, "next": "/people/"})
    assert ok.status_code == 302 and ok["Location"] == "/people/"


def test_switcher_changes_what_lists_show(world: World, login) -> None:  # type: ignore[no-untyped-def]
    client = login(world.admin)
    client.post(reverse("console:switch_community"), {"community": world.b.pk})
    page = html(client.get("/people/"))
    assert "李强" in page and "王芳" not in page


# -- permissions: the right tenant but the wrong role is 403 ------------------------------


def test_edit_needs_community_change(world: World, login) -> None:  # type: ignore[no-untyped-def]
    client = login(world.guard_a)
    url = reverse("console:community_edit", args=[world.a.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"name": "guarded"}).status_code == 403
    world.a.refresh_from_db()
    assert world.a.name == "翠苑一区"
    detail = html(client.get(reverse("console:community", args=[world.a.pk])))
    assert 'id="edit-community"' not in detail


def test_reveal_needs_person_reveal(world: World, login) -> None:  # type: ignore[no-untyped-def]
    client = login(world.guard_a)
    assert 'id="reveal-identity"' not in html(
        client.get(reverse("console:person", args=[world.person_a.pk]))
    )
    response = client.post(reverse("console:person_reveal", args=[world.person_a.pk]))
    assert response.status_code == 403
    assert "11010519491231002X" not in html(response)
    assert not AuditLog.objects.filter(action="people.person.reveal").exists()


def test_giving_grants_needs_grant_manage(world: World, login, system: Actor) -> None:  # type: ignore[no-untyped-def]
    data = {"community": world.a.pk, "role": "front_desk", "username": "guard-a"}
    # no grant.view at all: the whole section is refused
    assert login(world.guard_a).post("/grants/", data).status_code == 403
    assert login(world.guard_a).get("/grants/").status_code == 403
    # may see grants but not give them: no form, and a POST is refused
    officer = make_user(system, "officer-a", Role.COMMITTEE_OFFICER, world.a)
    client = login(officer)
    assert 'id="grant-form"' not in html(client.get("/grants/"))
    assert client.post("/grants/", data).status_code == 403
    assert not Grant.objects.filter(user=world.guard_a, role="front_desk").exists()


# -- forms: field errors, domain errors, successful writes -------------------------------


def edit(client: Client, community_id: int, **values: str) -> object:
    data = {"name": "翠苑一区", "address": "", "division_code": "330106", "boundary": ""}
    data.update(values)
    return client.post(reverse("console:community_edit", args=[community_id]), data)


def field_error(page: str, field: str) -> str:
    match = re.search(
        rf'<div class="invalid-feedback d-block" id="id_{field}_error">(.*?)</div>\s*</div>',
        page,
        re.S,
    )
    assert match, f"no error shown next to {field}"
    return re.sub(r"<[^>]+>", "", match.group(1))


def test_edit_form_shows_field_errors_for_a_bad_boundary(world: World, login) -> None:  # type: ignore[no-untyped-def]
    client = login(world.manager_a)
    not_json = edit(client, world.a.pk, boundary="{not json")
    assert not_json.status_code == 422
    page = html(not_json)
    assert "不是有效的 JSON" in field_error(page, "boundary")
    assert 'id="form-errors"' in page and 'aria-invalid="true"' in page
    assert "{not json" in page  # what the user typed is kept

    ring = [[120.13, 30.27], [120.14, 30.27], [120.14, 30.28], [120.13, 30.28]]  # not closed
    open_ring = edit(
        client, world.a.pk, boundary=json.dumps({"type": "Polygon", "coordinates": [ring]})
    )
    assert open_ring.status_code == 422
    assert "首尾闭合" in field_error(html(open_ring), "boundary")

    bad_code = edit(client, world.a.pk, division_code="12ab")
    assert bad_code.status_code == 422
    assert "6 位数字" in field_error(html(bad_code), "division_code")

    world.a.refresh_from_db()
    assert world.a.division_code == "330106" and world.a.boundary is not None
    assert not AuditLog.objects.filter(action="places.community.update").exists()


def test_edit_form_saves_a_good_change(world: World, login) -> None:  # type: ignore[no-untyped-def]
    client = login(world.manager_a)
    boundary = rectangle(120.131, 30.271, 120, 90)
    response = edit(
        client,
        world.a.pk,
        name="翠苑一区（东）",
        address="文三路 1 号",
        boundary=json.dumps(boundary),
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("console:community", args=[world.a.pk])
    world.a.refresh_from_db()
    assert world.a.name == "翠苑一区（东）" and world.a.boundary == boundary
    entry = AuditLog.objects.get(action="places.community.update")
    assert entry.actor == world.manager_a and entry.community_id == world.a.pk
    assert entry.changes["name"] == ["翠苑一区", "翠苑一区（东）"]
    assert "社区信息已保存" in html(client.get(response["Location"]))
    # the edit form shows the saved boundary back as GeoJSON text
    form = html(client.get(reverse("console:community_edit", args=[world.a.pk])))
    assert "[120.131, 30.271]" in form


def test_reveal_shows_the_identity_once_and_audits_it(world: World, login) -> None:  # type: ignore[no-untyped-def]
    client = login(world.police_a)
    url = reverse("console:person", args=[world.person_a.pk])
    assert "11010519491231002X" not in html(client.get(url))
    response = client.post(reverse("console:person_reveal", args=[world.person_a.pk]))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    page = html(response)
    assert "11010519491231002X" in page and "13800138000" in page
    entry = AuditLog.objects.get(action="people.person.reveal")
    assert entry.sensitive and entry.actor == world.police_a
    assert "11010519491231002X" not in html(client.get(url))


def test_give_and_withdraw_a_grant(world: World, login) -> None:  # type: ignore[no-untyped-def]
    client = login(world.manager_a)
    data = {"community": world.a.pk, "role": "front_desk", "username": "guard-a"}
    response = client.post("/grants/", data)
    assert response.status_code == 302
    grant = Grant.objects.get(user=world.guard_a, role="front_desk")
    assert AuditLog.objects.filter(action="core.grant.give", object_id=str(grant.pk)).exists()

    again = client.post("/grants/", data)  # a duplicate: the action's conflict, on the form
    assert again.status_code == 409
    assert "该授权已存在" in html(again).split('id="form-errors"')[1]

    nobody = client.post("/grants/", {**data, "username": "nobody"})
    assert nobody.status_code == 422
    assert "没有这个用户" in field_error(html(nobody), "username")

    neither = client.post("/grants/", {"community": world.a.pk, "role": "front_desk"})
    assert neither.status_code == 422 and "二者选一" in html(neither)

    other = client.post("/grants/", {**data, "community": world.b.pk})  # not on offer
    assert other.status_code == 422
    assert not Grant.objects.filter(community=world.b, user=world.guard_a).exists()

    withdrawn = client.post(reverse("console:grant_withdraw", args=[grant.pk]))
    assert withdrawn.status_code == 302
    assert not Grant.objects.filter(pk=grant.pk).exists()


def test_withdraw_needs_grant_manage(world: World, login, system: Actor) -> None:  # type: ignore[no-untyped-def]
    officer = make_user(system, "officer-a", Role.COMMITTEE_OFFICER, world.a)
    grant = grant_on(world.a.pk)
    client = login(officer)
    assert 'id="withdraw-grant"' not in html(client.get(reverse("console:grant", args=[grant.pk])))
    assert client.post(reverse("console:grant_withdraw", args=[grant.pk])).status_code == 403
    assert Grant.objects.filter(pk=grant.pk).exists()


def test_token_secret_is_shown_once(world: World, login) -> None:  # type: ignore[no-untyped-def]
    client = login(world.manager_a)
    response = client.post("/tokens/", {"name": "门禁同步", "read_only": "on"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    secret = re.search(r'id="token-secret" value="(lnl_[^"]+)"', html(response))
    assert secret, "the new token's secret is shown"
    token = authenticate_token(secret.group(1))
    assert token is not None and token.name == "门禁同步" and token.read_only
    listing = html(client.get("/tokens/"))
    assert secret.group(1) not in listing and "门禁同步" in listing and token.prefix in listing

    revoked = client.post(reverse("console:token_revoke", args=[token.pk]))
    assert revoked.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert authenticate_token(secret.group(1)) is None


def test_token_form_shows_errors(world: World, login) -> None:  # type: ignore[no-untyped-def]
    client = login(world.manager_a)
    blank = client.post("/tokens/", {"name": ""})
    assert blank.status_code == 422 and "id_name_error" in html(blank)
    past = client.post("/tokens/", {"name": "old", "expires_on": "2001-01-01"})
    assert past.status_code == 422
    assert "过期时间必须晚于现在" in field_error(html(past), "expires_on")
    assert not ApiToken.objects.exists()


def test_audit_entry_shows_before_and_after(world: World, login) -> None:  # type: ignore[no-untyped-def]
    client = login(world.manager_a)
    edit(client, world.a.pk, name="新名字", boundary=json.dumps(world.a.boundary))
    entry = AuditLog.objects.get(action="places.community.update")
    assert set(entry.changes) == {"name"}
    page = html(client.get(reverse("console:audit_entry", args=[entry.pk])))
    row = page.split('id="entry-changes"')[1].split("<code>name</code>")[1].split("</tr>")[0]
    assert "翠苑一区" in row.split("linli-after")[0] and "新名字" in row.split("linli-after")[1]


# -- language -------------------------------------------------------------------------------


def test_language_switch_sets_the_cookie_and_redirects(world: World, login) -> None:  # type: ignore[no-untyped-def]
    client = login(world.manager_a)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/people/"})
    assert response.status_code == 302 and response["Location"] == "/people/"
    assert response.cookies["django_language"].value == "en"
    assert '<html lang="en">' in html(client.get("/people/"))
