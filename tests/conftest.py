"""Shared fixtures: two communities (tenants), people holding roles on them, API clients."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import Client

from linli.core.actions import (
    do_create_api_token,
    do_create_organisation,
    do_create_user,
    do_give_grant,
)
from linli.core.choices import OrganisationType, Role
from linli.core.models import User
from linli.core.tenancy import Actor
from linli.people.actions import do_register_person
from linli.people.models import Person
from linli.places.actions import do_create_community
from linli.places.geometry import rectangle
from linli.places.models import Community

PASSWORD = "correct-horse-battery-42"


@dataclass
class World:
    """Two tenants, A and B, and users holding roles on them."""

    a: Community
    b: Community
    admin: User
    manager_a: User
    manager_b: User
    police_a: User
    guard_a: User
    person_a: Person
    person_b: Person


def make_user(system: Actor, username: str, role: Role | None, community: Community | None) -> User:
    """Create a user and give them ``role`` on ``community``."""
    user = do_create_user(system, username=username, password=PASSWORD)
    if role is not None:
        do_give_grant(
            system, community_id=community.pk if community else None, role=role, user=user
        )
    return user


@pytest.fixture
def system() -> Actor:
    """An actor with every permission (like the CLI)."""
    return Actor.system("test")


@pytest.fixture
def world(db: None, system: Actor) -> World:
    """Build two communities with a manager each, plus an admin, a police liaison and a guard."""
    a = do_create_community(
        system,
        name="翠苑一区",
        code="a",
        division_code="330106",
        boundary=rectangle(120.13, 30.27, 200, 150),
    )
    b = do_create_community(system, name="金桂二区", code="b", division_code="330106")
    police_org = do_create_organisation(
        system, name="文新派出所", type=OrganisationType.POLICE_STATION
    )
    admin = make_user(system, "admin", Role.PLATFORM_ADMIN, None)
    manager_a = make_user(system, "manager-a", Role.PROPERTY_MANAGER, a)
    manager_b = make_user(system, "manager-b", Role.PROPERTY_MANAGER, b)
    police_a = do_create_user(
        system, username="police-a", password=PASSWORD, organisation=police_org
    )
    do_give_grant(system, community_id=a.pk, role=Role.POLICE_LIAISON, organisation=police_org)
    guard_a = make_user(system, "guard-a", Role.SECURITY_GUARD, a)
    person_a = do_register_person(
        system, a, name="王芳", id_number="11010519491231002X", phone="13800138000"
    )
    person_b = do_register_person(system, b, name="李强", id_number="330106198503151238")
    return World(a, b, admin, manager_a, manager_b, police_a, guard_a, person_a, person_b)


@pytest.fixture
def login(client: Client):  # type: ignore[no-untyped-def]
    """Return a function that signs a user in on the test client."""

    def do(user: User) -> Client:
        client.force_login(user)
        return client

    return do


@pytest.fixture
def token_client(db: None):  # type: ignore[no-untyped-def]
    """Return a function giving an API client authenticated with a fresh token of ``user``."""

    def make(user: User, *, read_only: bool = False) -> Client:
        _, raw = do_create_api_token(Actor.for_user(user), name="test", read_only=read_only)
        return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    return make


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--run-slow`` for long-running tests such as benchmark smoke runs."""
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip slow tests unless ``--run-slow`` is given."""
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> Iterator[None]:
    """Forget what a process keeps between requests: device rate buckets, pass keys,
    holiday calendars and schedules (each test starts as a new process would)."""
    from linli.access import keys
    from linli.access.decisions import calendars
    from linli.access.requests import terminals
    from linli.devices import ingest

    ingest.limiter.reset()
    keys.cache.forget()
    calendars.forget()
    terminals.forget()
    yield
    ingest.limiter.reset()
    keys.cache.forget()
    calendars.forget()
    terminals.forget()
