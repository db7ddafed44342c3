"""Console pages of places and people: community tree, room, person, rentals, export, 我的家庭."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone, translation
from stdnum.cn import ric

from linli.console import components
from linli.core.actions import do_create_user, do_give_grant
from linli.core.choices import Role
from linli.core.models import AuditLog, User
from linli.core.tenancy import Actor
from linli.people.actions import (
    do_add_care_tag,
    do_end_residency,
    do_register_person,
    do_register_vehicle,
    do_set_photo,
    do_start_residency,
    do_update_person,
)
from linli.people.browse import RoomNode
from linli.people.choices import CareTag, Kinship, RegistrationCategory, Relation
from linli.people.models import Person, Tenancy
from linli.people.tenancies import do_register_tenancy
from linli.places.actions import do_create_building, do_create_rooms, do_create_unit
from linli.places.models import Room
from tests.conftest import PASSWORD, World

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
START = dt.date(2020, 5, 1)


def resident_id(birth: dt.date, seq: int, area: str = "110105") -> str:
    """Return a valid 18-digit resident ID number (GB 11643) born on ``birth``."""
    body = f"{area}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def html(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _forget_the_language() -> Iterator[None]:
    yield
    translation.deactivate()


@dataclass
class Estate:
    """Community A furnished: rooms, a household, a past resident, a rental, a B room."""

    w: World
    room_101: Room
    room_102: Room
    room_201: Room
    room_b: Room
    spouse: Person
    past: Person
    tenant: Person
    resident: User
    outsider: Person


def make_rooms(system: Actor, community, building: str, numbers):  # type: ignore[no-untyped-def]
    b = do_create_building(system, community, number=building, floors_above=6)
    unit = do_create_unit(system, b, number="1")
    return do_create_rooms(system, unit, [(n, int(n[0]), Decimal("80"), use) for n, use in numbers])


@pytest.fixture
def estate(world: World, system: Actor) -> Estate:
    a, b = world.a, world.b
    today = timezone.localdate()
    r101, r102, r201 = make_rooms(
        system, a, "3", [("101", "residential"), ("102", "rental"), ("201", "commercial")]
    )
    (room_b,) = make_rooms(system, b, "9", [("901", "residential")])
    owner = do_start_residency(
        system, world.person_a, r101, relation=Relation.OWNER, date_from=START
    )
    spouse = do_register_person(
        system, a, name="张伟", id_number=resident_id(dt.date(1950, 3, 2), 11)
    )
    do_start_residency(
        system, spouse, r101, relation=Relation.FAMILY, date_from=START, kinship=Kinship.SPOUSE
    )
    past = do_register_person(
        system, a, name="赵六", id_number=resident_id(dt.date(1990, 1, 1), 13)
    )
    moved = do_start_residency(system, past, r102, relation=Relation.OWNER, date_from=START)
    do_end_residency(system, moved, date_to=dt.date(2021, 6, 30))
    tenant = do_register_person(
        system, a, name="孙七", id_number=resident_id(dt.date(1995, 7, 7), 15)
    )
    do_register_tenancy(
        system,
        r102,
        landlord=world.person_a,
        tenants=[(tenant, RegistrationCategory.FLOATING)],
        date_from=today - dt.timedelta(days=300),
        date_to=today + dt.timedelta(days=20),
    )
    do_register_vehicle(system, world.person_a, a, "浙A12345", "白色轿车")
    do_add_care_tag(system, world.person_a, a, tag=CareTag.ELDERLY_ALONE, note="子女在外地")
    do_set_photo(system, world.person_a, PNG)
    do_update_person(system, world.person_a, ethnicity="汉族")
    do_start_residency(system, world.person_b, room_b, relation=Relation.OWNER, date_from=START)
    outsider = do_register_person(
        system, a, name="钱八", id_number=resident_id(dt.date(1980, 2, 2), 17)
    )
    do_start_residency(system, outsider, r201, relation=Relation.OWNER, date_from=START)
    # A resident account linked to 张伟 (no action links accounts yet; set it directly).
    resident = do_create_user(system, username="resident-a", password=PASSWORD)
    do_give_grant(system, community_id=a.pk, role=Role.RESIDENT, user=resident)
    Person.objects.filter(pk=spouse.pk).update(user=resident)
    assert owner.household is not None
    return Estate(world, r101, r102, r201, room_b, spouse, past, tenant, resident, outsider)


def staff(system: Actor, username: str, role: Role, community_id: int) -> User:
    user = do_create_user(system, username=username, password=PASSWORD)
    do_give_grant(system, community_id=community_id, role=role, user=user)
    return user


# -- the community tree -------------------------------------------------------------------


def test_tree_shows_buildings_units_rooms_with_occupancy(estate: Estate, login) -> None:  # type: ignore[no-untyped-def]
    page = html(
        login(estate.w.manager_a).get(reverse("console:community_tree", args=[estate.w.a.pk]))
    )
    tree = page.split('id="community-tree"')[1]
    assert "3号楼" in tree and "1单元" in tree
    rooms = re.findall(r'data-room="(\d+)"', tree)
    assert rooms == ["201", "101", "102"]  # top floor first
    room_101 = tree.split('data-room="101"')[1].split("</a>")[0]
    assert 'data-count="residents"' in room_101 and ">2</span>" in room_101
    assert f'href="/rooms/{estate.room_101.pk}/"' in tree
    assert 'data-use="rental"' in tree and 'data-use="commercial"' in tree
    # 101: 2, 102: 1 tenant, 201: 1 → 4 people in 3 occupied rooms.
    assert "3 套有人 · 4 人" in tree
    assert "金桂二区" not in page.split('id="main"')[1] and "901" not in tree


def test_tree_without_person_view_hides_occupancy(estate: Estate, login, system: Actor) -> None:  # type: ignore[no-untyped-def]
    tech = staff(system, "tech-a", Role.TECHNICIAN, estate.w.a.pk)
    response = login(tech).get(reverse("console:community_tree", args=[estate.w.a.pk]))
    assert response.status_code == 200
    assert 'data-count="residents"' not in html(response)


def test_tree_and_room_of_another_community_are_404(estate: Estate, login) -> None:  # type: ignore[no-untyped-def]
    client = login(estate.w.manager_a)
    assert client.get(reverse("console:community_tree", args=[estate.w.b.pk])).status_code == 404
    response = client.get(reverse("console:room", args=[estate.room_b.pk]))
    assert response.status_code == 404 and "李强" not in html(response)
    assert client.get(reverse("console:person", args=[estate.w.person_b.pk])).status_code == 404
    assert (
        client.get(reverse("console:person_photo", args=[estate.w.person_b.pk])).status_code == 404
    )


# -- a room -------------------------------------------------------------------------------


def test_room_shows_household_head_first_past_residents_and_tenancy(  # type: ignore[no-untyped-def]
    estate: Estate, login, django_assert_max_num_queries
) -> None:
    client = login(estate.w.manager_a)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("console:room", args=[estate.room_101.pk]))
    page = html(response)
    assert response.status_code == 200
    current = page.split('id="current-residents"')[1].split('id="past-residents"')[0]
    assert current.index("王芳") < current.index("张伟")
    assert "户主 王芳" in current and "配偶" in current
    assert f'href="/people/{estate.spouse.pk}/"' in current
    assert "没有曾住人员记录" in page

    rental = html(client.get(reverse("console:room", args=[estate.room_102.pk])))
    past = rental.split('id="past-residents"')[1]
    assert "赵六" in past and "2021-06-30" in past
    assert "孙七" in rental.split('id="current-residents"')[1].split('id="past-residents"')[0]
    tenancy = rental.split('id="room-tenancies"')[1].split("</section>")[0]
    assert "王芳" in tenancy and 'data-state="expiring"' in tenancy


def test_room_hides_residents_from_roles_without_person_view(
    estate: Estate, login, system: Actor
) -> None:  # type: ignore[no-untyped-def]
    tech = staff(system, "tech-r", Role.TECHNICIAN, estate.w.a.pk)
    page = html(login(tech).get(reverse("console:room", args=[estate.room_101.pk])))
    assert "房屋信息" in page and "王芳" not in page and "张伟" not in page


# -- a person -----------------------------------------------------------------------------


def test_person_page_shows_codes_vehicles_household_and_care(estate: Estate, login) -> None:  # type: ignore[no-untyped-def]
    page = html(
        login(estate.w.manager_a).get(reverse("console:person", args=[estate.w.person_a.pk]))
    )
    assert "1101**********002X" in page
    assert "11010519491231002X" not in page
    fields = page.split('id="person-fields"')[1].split("</section>")[0]
    assert "国籍" in fields and "中国" in fields and "CHN" not in fields
    assert "民族" in fields and "汉族" in fields
    assert "浙A12345" in page.split('id="vehicles"')[1]
    assert "独居老人" in page.split('id="care-tags"')[1]
    residencies = page.split('id="residencies"')[1].split("</section>")[0]
    assert "翠苑一区" in residencies and "户主" in residencies
    assert f'href="/rooms/{estate.room_101.pk}/"' in residencies
    assert "房东" in page.split('id="person-tenancies"')[1]
    assert 'id="show-photo"' in page


def test_person_page_hides_care_tags_from_guard_and_police(estate: Estate, login) -> None:  # type: ignore[no-untyped-def]
    for user in (estate.w.guard_a, estate.w.police_a):
        page = html(login(user).get(reverse("console:person", args=[estate.w.person_a.pk])))
        assert "浙A12345" in page, user
        assert 'id="care-tags"' not in page and "独居老人" not in page, user


def test_person_residencies_span_the_communities_the_actor_sees(  # type: ignore[no-untyped-def]
    estate: Estate, login, system: Actor
) -> None:
    # 李强 (B) also moves into A's room 201 as a family member: A's manager sees only that.
    do_start_residency(
        system,
        estate.w.person_b,
        estate.room_201,
        relation=Relation.FAMILY,
        date_from=START,
        kinship=Kinship.SIBLING,
    )
    url = reverse("console:person", args=[estate.w.person_b.pk])
    only_a = html(login(estate.w.manager_a).get(url)).split('id="residencies"')[1]
    assert "翠苑一区" in only_a and "金桂二区" not in only_a
    both = html(login(estate.w.admin).get(url)).split('id="residencies"')[1]
    assert "翠苑一区" in both and "金桂二区" in both


def test_photo_view_is_audited_and_not_cached(estate: Estate, login) -> None:  # type: ignore[no-untyped-def]
    client = login(estate.w.guard_a)
    response = client.get(reverse("console:person_photo", args=[estate.w.person_a.pk]))
    assert response.status_code == 200
    assert response.content == PNG and response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "no-store"
    entry = AuditLog.objects.get(action="people.person.photo_read")
    assert entry.sensitive and entry.actor_label == "guard-a"
    # A person without a photo: 404, and nothing audited.
    missing = client.get(reverse("console:person_photo", args=[estate.spouse.pk]))
    assert missing.status_code == 404
    assert AuditLog.objects.filter(action="people.person.photo_read").count() == 1


# -- rental registrations -----------------------------------------------------------------


def test_tenancy_list_filters_by_state(estate: Estate, login, system: Actor) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    # An overdue rental in 201 and an ended one in 101's neighbour: rewrite dates directly
    # (the actions refuse leases that already ended, as they should).
    overdue = do_register_tenancy(
        system,
        estate.room_201,
        landlord=estate.outsider,
        tenants=[],
        date_from=today - dt.timedelta(days=400),
        date_to=today + dt.timedelta(days=100),
    )
    Tenancy.objects.filter(pk=overdue.pk).update(date_to=today - dt.timedelta(days=3))
    client = login(estate.w.manager_a)

    def rooms(state: str) -> list[str]:
        page = html(client.get(reverse("console:tenancies"), {"state": state}))
        table = page.split('id="list"')[1]
        return re.findall(r"3号楼1单元(\d+)室", table)

    assert sorted(rooms("")) == ["102", "201"]
    assert rooms("expiring") == ["102"]
    assert rooms("overdue") == ["201"]
    assert rooms("open") == ["201", "102"]  # soonest lease end first
    assert rooms("ended") == []
    page = html(client.get(reverse("console:tenancies")))
    card = page.split('id="lease-alerts"')[1].split("</section>")[0]
    assert re.search(r'data-count="expiring">1<', card)
    assert re.search(r'data-count="overdue">1<', card)
    assert "王芳" in card and "钱八" in card


def test_tenancy_list_hides_other_communities(estate: Estate, login, system: Actor) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    do_register_tenancy(
        system,
        estate.room_b,
        landlord=None,
        tenants=[],
        date_from=today,
        date_to=today + dt.timedelta(days=10),
    )
    page = html(login(estate.w.manager_a).get(reverse("console:tenancies")))
    assert "9号楼" not in page and "901" not in page


# -- population change export -------------------------------------------------------------


def test_population_export_follows_filters_and_masks_ids(estate: Estate, login) -> None:  # type: ignore[no-untyped-def]
    client = login(estate.w.police_a)
    response = client.get(reverse("console:population_export"), {"kind": "move_out"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:5] == ("发生日期", "变动类型", "姓名", "证件号码（脱敏）", "房屋")
    assert len(rows) == 2
    occurred, kind, name, id_masked, room = rows[1][:5]
    assert (kind, name, room) == ("迁出", "赵六", "3号楼1单元102室")
    assert occurred.date() == dt.date(2021, 6, 30)
    assert "*" in id_masked and id_masked != resident_id(dt.date(1990, 1, 1), 13)
    everything = client.get(reverse("console:population_export"))
    all_rows = list(
        openpyxl.load_workbook(io.BytesIO(everything.content), read_only=True)
        .worksheets[0]
        .iter_rows(values_only=True)
    )
    names = {r[2] for r in all_rows[1:]}
    assert {"王芳", "张伟", "赵六", "孙七", "钱八"} <= names and "李强" not in names
    assert not any(resident_id(dt.date(1950, 3, 2), 11) in str(r) for r in all_rows)
    logged = AuditLog.objects.filter(action="people.export.population_changes").order_by("id")
    assert [e.changes["rows"][1] for e in logged] == [1, len(all_rows) - 1]
    assert logged[0].changes["filters"][1] == {"kind": "move_out"}


def test_population_export_needs_population_view(estate: Estate, login, system: Actor) -> None:  # type: ignore[no-untyped-def]
    tech = staff(system, "tech-x", Role.TECHNICIAN, estate.w.a.pk)
    assert login(tech).get(reverse("console:population_export")).status_code == 403
    assert login(estate.resident).get(reverse("console:population_export")).status_code == 403


def test_population_page_links_the_export_with_its_filter(estate: Estate, login) -> None:  # type: ignore[no-untyped-def]
    page = html(login(estate.w.manager_a).get("/population/?kind=move_in"))
    assert 'href="/population/export.xlsx?kind=move_in"' in page


# -- the resident's own household ---------------------------------------------------------


def test_resident_sees_only_their_own_household(estate: Estate, login) -> None:  # type: ignore[no-untyped-def]
    response = login(estate.resident).get(reverse("console:my_household"))
    page = html(response)
    assert response.status_code == 200
    main = page.split('id="main"')[1]
    assert "张伟" in main and "王芳" in main and "配偶" in main and "户主" in main
    assert "3号楼1单元101室" in main and "浙A12345" in main
    for other in ("孙七", "钱八", "赵六", "李强"):
        assert other not in main
    assert "002X" not in main and "****" not in main  # no ID or phone, not even masked


def test_resident_without_a_person_gets_a_friendly_page(world: World, login, system: Actor) -> None:  # type: ignore[no-untyped-def]
    lonely = staff(system, "resident-x", Role.RESIDENT, world.a.pk)
    response = login(lonely).get(reverse("console:my_household"))
    assert response.status_code == 200
    assert 'id="no-person"' in html(response)


def test_resident_cannot_reach_staff_pages(estate: Estate, login) -> None:  # type: ignore[no-untyped-def]
    client = login(estate.resident)
    refused = [
        reverse("console:people"),
        reverse("console:population"),
        reverse("console:population_stats"),
        reverse("console:tenancies"),
        reverse("console:community_tree", args=[estate.w.a.pk]),
        reverse("console:room", args=[estate.room_101.pk]),
        reverse("console:person", args=[estate.spouse.pk]),
        reverse("console:person_photo", args=[estate.w.person_a.pk]),
    ]
    for url in refused:
        assert client.get(url).status_code in (403, 404), url
    assert not AuditLog.objects.filter(action="people.person.photo_read").exists()


def test_staff_without_household_view_own_are_refused(estate: Estate, login) -> None:  # type: ignore[no-untyped-def]
    assert login(estate.w.guard_a).get(reverse("console:my_household")).status_code == 403


def test_navigation_offers_statistics_and_rentals_to_staff(estate: Estate, login) -> None:  # type: ignore[no-untyped-def]
    page = html(login(estate.w.guard_a).get("/"))
    assert 'id="nav-statistics"' in page and 'id="nav-tenancies"' in page
    page = html(login(estate.resident).get("/"))
    assert 'id="nav-statistics"' not in page and 'id="nav-tenancies"' not in page


def test_room_tiles_escape_room_numbers(world: World) -> None:
    room = Room(pk=7, number='<b onclick="x">1</b>', floor=1, use="rental")
    ((floor, tiles),) = components.room_floors([RoomNode(room, 3)], lambda pk: f"/rooms/{pk}/")
    assert floor == 1
    assert "<b onclick" not in tiles and "&lt;b onclick=&quot;x&quot;&gt;" in tiles
    assert 'href="/rooms/7/"' in tiles and 'data-use="rental"' in tiles and ">3</span>" in tiles


def test_the_dashboard_warns_of_leases_ending_soon(estate: Estate, login) -> None:  # type: ignore[no-untyped-def]
    page = html(login(estate.w.manager_a).get(reverse("console:dashboard")))
    card = page.split('id="lease-alerts"')[1].split("</section>")[0]
    assert re.search(r'data-count="expiring">1<', card) and "102" in card
    resident = html(login(estate.resident).get(reverse("console:dashboard")))
    assert 'id="lease-alerts"' not in resident
    assert 'id="nav-household"' in resident and 'id="nav-tenancies"' not in resident
