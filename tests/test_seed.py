"""``linli seed``: a reproducible synthetic community with valid, sealed ID numbers."""

from __future__ import annotations

import pytest
from stdnum.cn import ric

from linli.core import crypto
from linli.core.models import AuditLog, Grant
from linli.people.identity import ID_PURPOSE
from linli.people.models import Person, Residency
from linli.places.models import Building, Community, Room
from linli.seed import seed_community


def people_of(code: str) -> list[tuple[str, str, str]]:
    return [
        (p.name, crypto.unseal(p.id_number_sealed, ID_PURPOSE), p.phone_masked)
        for p in Person.objects.in_community(Community.objects.get(code=code).pk).order_by("pk")
    ]


def test_seed_is_reproducible_and_valid(db: None) -> None:
    first = seed_community(residents=60, seed=7, code="s1", staff_password="a-long-pass-77")
    second = seed_community(residents=60, seed=7, code="s2")
    assert first.residents == second.residents == 60
    a, b = people_of("s1"), people_of("s2")
    assert a == b, "the same seed gives the same people"
    assert all(ric.is_valid(number) for _, number, _ in a)
    assert all(2 <= len(name) <= 3 for name, _, _ in a)
    assert Building.objects.filter(community=first.community).count() == first.buildings >= 1
    assert Room.objects.filter(community=first.community).count() == first.rooms
    assert Residency.objects.filter(community=first.community).count() == 60
    assert Grant.objects.filter(community=first.community).count() == 4  # staff of 4 orgs
    assert first.community.boundary is not None
    # the same seed draws the same ID numbers: the second community links the same people
    assert AuditLog.objects.filter(action="people.person.register").count() == 60
    assert AuditLog.objects.filter(action="people.person.link").count() == 60
    assert Person.objects.count() == 60


def test_different_seeds_differ(db: None) -> None:
    seed_community(residents=10, seed=1, code="x1")
    seed_community(residents=10, seed=2, code="x2")
    assert people_of("x1") != people_of("x2")


def test_seed_refuses_existing_code(db: None) -> None:
    seed_community(residents=1, seed=1, code="dup")
    with pytest.raises(Exception, match=r"社区编码已被使用|already"):
        seed_community(residents=1, seed=1, code="dup")
