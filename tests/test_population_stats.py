"""Population statistics (人口统计): the numbers on a small community, the page and its rights."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from stdnum.cn import ric

from linli.core.actions import do_create_user, do_give_grant
from linli.core.choices import Role
from linli.core.tenancy import Actor
from linli.people import stats
from linli.people.actions import (
    do_add_care_tag,
    do_end_residency,
    do_register_person,
    do_start_residency,
)
from linli.people.choices import CareTag, Kinship, RegistrationCategory, Relation
from linli.people.models import Person
from linli.places.actions import do_create_building, do_create_rooms, do_create_unit
from linli.places.models import Room
from tests.conftest import PASSWORD, World


def resident_id(birth: dt.date, seq: int) -> str:
    """Return a valid resident ID number born on ``birth``; odd ``seq`` is male."""
    body = f"110105{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture(autouse=True)
def _forget_the_language() -> Iterator[None]:
    yield
    translation.deactivate()


@dataclass
class Town:
    """Community A with two buildings and residents of known ages, sexes and categories."""

    w: World
    today: dt.date
    rooms: list[Room]


def register(system: Actor, w: World, name: str, birth: dt.date | None, seq: int) -> Person:
    if birth is None:
        return do_register_person(
            system, w.a, name=name, id_type="passport", id_number=f"E{seq:07d}"
        )
    return do_register_person(system, w.a, name=name, id_number=resident_id(birth, seq))


@pytest.fixture
def town(world: World, system: Actor) -> Town:
    today = timezone.localdate()
    rooms = []
    for number in ("1", "2", "10"):
        building = do_create_building(system, world.a, number=number)
        unit = do_create_unit(system, building, number="1")
        rooms += do_create_rooms(system, unit, [("101", 1, Decimal("80"), "residential")])
    r1, r2, r10 = rooms
    years = stats.years_before
    # name, birth, seq (odd male), room, relation, category
    people = [
        ("甲", years(today, 18), 11, r1, Relation.OWNER, RegistrationCategory.REGISTERED),
        ("乙", years(today, 18) + dt.timedelta(days=1), 12, r1, Relation.FAMILY, "registered"),
        ("丙", years(today, 35), 13, r1, Relation.FAMILY, RegistrationCategory.PERMANENT),
        ("丁", years(today, 60) + dt.timedelta(days=1), 14, r2, Relation.OWNER, "permanent"),
        ("戊", years(today, 80), 15, r2, Relation.TENANT, RegistrationCategory.FLOATING),
        ("己", years(today, 79) - dt.timedelta(days=300), 16, r10, Relation.TENANT, "floating"),
        ("庚", None, 17, r10, Relation.OTHER, RegistrationCategory.OVERSEAS),
    ]
    made = {}
    for name, birth, seq, room, relation, category in people:
        person = register(system, world, name, birth, seq)
        made[name] = person
        kinship = "" if relation == Relation.OWNER else Kinship.OTHER_RELATIVE
        do_start_residency(
            system,
            person,
            room,
            relation=relation,
            category=category,
            date_from=today - dt.timedelta(days=400),
            kinship=kinship,
        )
    # 甲 also lives in building 10: still one resident, counted once in the total.
    do_start_residency(
        system,
        made["甲"],
        r10,
        relation=Relation.OWNER,
        date_from=today - dt.timedelta(days=400),
        category=RegistrationCategory.REGISTERED,
    )
    # A former resident (moved out) and B's residents do not count.
    gone = register(system, world, "辛", dt.date(1990, 1, 1), 19)
    r = do_start_residency(
        system,
        gone,
        r2,
        relation=Relation.FAMILY,
        date_from=today - dt.timedelta(days=500),
        kinship=Kinship.OTHER_RELATIVE,
    )
    do_end_residency(system, r, date_to=today)
    b_building = do_create_building(system, world.b, number="1")
    (b_room,) = do_create_rooms(
        system,
        do_create_unit(system, b_building, number="1"),
        [("101", 1, Decimal("80"), "residential")],
    )
    do_start_residency(system, world.person_b, b_room, relation=Relation.OWNER, date_from=today)
    do_add_care_tag(system, made["戊"], world.a, tag=CareTag.ELDERLY_ALONE)
    do_add_care_tag(system, made["戊"], world.a, tag=CareTag.DISABLED)
    do_add_care_tag(system, made["己"], world.a, tag=CareTag.DISABLED)
    return Town(world, today, rooms)


def as_dict(rows: list[tuple[str, int]]) -> dict[str, int]:
    return dict(rows)


def test_counts_by_category_age_sex_building_relation(town: Town, system: Actor) -> None:
    figures = stats.population_stats(system, town.w.a.pk, today=town.today)
    assert figures.total == 7
    assert as_dict(figures.by_category) == {"户籍": 2, "常住": 2, "流动": 2, "境外": 1}
    assert figures.by_age == [
        ("0–17 岁", 1),  # 乙 turns 18 tomorrow
        ("18–34 岁", 1),  # 甲 turned 18 today
        ("35–59 岁", 2),  # 丙 turned 35 today; 丁 turns 60 tomorrow
        ("60–79 岁", 1),  # 己
        ("80 岁及以上", 1),  # 戊 turned 80 today
        ("出生日期不详", 1),  # 庚 has a passport
    ]
    sexes = as_dict(figures.by_sex)
    assert sexes["男"] == 3 and sexes["女"] == 3 and sexes["未知的性别"] == 1
    # Buildings in number order (10 after 2); 甲 counts in both 1 and 10.
    assert figures.by_building == [("1号楼", 3), ("2号楼", 2), ("10号楼", 3)]
    assert as_dict(figures.by_relation) == {"业主": 2, "家庭成员": 2, "租户": 2, "其他": 1}
    assert figures.by_care is not None
    care = as_dict(figures.by_care)
    assert care["独居老人"] == 1 and care["残疾人"] == 2 and care["低保户"] == 0


def test_changes_per_month_cover_the_last_twelve_months(town: Town, system: Actor) -> None:
    figures = stats.population_stats(system, town.w.a.pk, today=town.today)
    assert figures.months is not None
    assert len(figures.months) == 12
    assert figures.months[-1].month == town.today.replace(day=1)
    this_month = figures.months[-1]
    # 辛 moved out today; everyone else moved in 400 days ago, before the window.
    assert (this_month.arrivals, this_month.departures) == (0, 1)
    assert sum(m.total for m in figures.months) == 1


def test_month_starts_cross_the_year() -> None:
    starts = stats.month_starts(dt.date(2025, 2, 14))
    assert starts[0] == dt.date(2024, 3, 1) and starts[-1] == dt.date(2025, 2, 1)
    assert len(set(starts)) == 12


def test_leap_day_birthdays() -> None:
    assert stats.years_before(dt.date(2024, 2, 29), 18) == dt.date(2006, 2, 28)


def test_parts_hidden_without_their_permissions(town: Town) -> None:
    guard = Actor.for_user(town.w.guard_a)
    figures = stats.population_stats(guard, town.w.a.pk, today=town.today)
    assert figures.total == 7
    assert figures.by_care is None and figures.months is not None


def test_statistics_page_draws_charts_with_tables(  # type: ignore[no-untyped-def]
    town: Town, login, django_assert_max_num_queries
) -> None:
    client = login(town.w.manager_a)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("console:population_stats"))
    page = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'data-count="total">7<', page)
    assert page.count('class="linli-donut-chart"') == 3
    assert page.count('class="linli-bar-chart"') == 3  # age, building, care
    assert 'class="linli-line-chart"' in page
    assert "重点关爱对象" in page and "独居老人" in page
    assert "查看数据表" in page
    assert "<td>10号楼</td><td>3 人</td>" in page
    month = town.today.strftime("%Y-%m")
    row = page.split(f'data-month="{month}"')[1].split("</tr>")[0]
    assert re.findall(r">(\d+)</td>", row) == ["0", "1", "0", "1"]
    assert "金桂二区" not in page.split('id="main"')[1]


def test_statistics_page_hides_care_tags_from_the_guard(town: Town, login) -> None:  # type: ignore[no-untyped-def]
    page = login(town.w.guard_a).get(reverse("console:population_stats")).content.decode()
    assert "重点关爱对象" not in page and "独居老人" not in page
    assert 'data-count="total">7<' in page


def test_statistics_page_query_count_does_not_grow(  # type: ignore[no-untyped-def]
    town: Town, login, system: Actor, django_assert_max_num_queries
) -> None:
    for i in range(20):
        person = register(
            system, town.w, f"新{i}", dt.date(1980, 1, 1) + dt.timedelta(days=i), 100 + i
        )
        do_start_residency(
            system, person, town.rooms[1], relation=Relation.OTHER, date_from=town.today
        )
    client = login(town.w.manager_a)
    with django_assert_max_num_queries(16):
        page = client.get(reverse("console:population_stats")).content.decode()
    assert 'data-count="total">27<' in page


def test_statistics_need_person_view(town: Town, login, system: Actor) -> None:  # type: ignore[no-untyped-def]
    tech = do_create_user(system, username="tech-s", password=PASSWORD)
    do_give_grant(system, community_id=town.w.a.pk, role=Role.TECHNICIAN, user=tech)
    assert login(tech).get(reverse("console:population_stats")).status_code == 403
    resident = do_create_user(system, username="resident-s", password=PASSWORD)
    do_give_grant(system, community_id=town.w.a.pk, role=Role.RESIDENT, user=resident)
    assert login(resident).get(reverse("console:population_stats")).status_code == 403
