"""Linli's PostgreSQL backend: a reused connection is checked without a round trip while in
steady use, and a connection the server dropped is replaced before a request uses it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections
from django.db.backends.signals import connection_created

from linli.core.pgbackend import base

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="PostgreSQL only (LINLI_TEST_DATABASE_URL)"
    ),
]


@pytest.fixture
def own() -> Iterator[Any]:
    """A connection of its own to the test database (outside the test's transaction)."""
    wrapper = connections.create_connection("default")
    wrapper.settings_dict = {**connection.settings_dict}
    try:
        yield wrapper
    finally:
        wrapper.close()


def _request(wrapper: Any) -> int:
    """What a request does to the connection: start (which may check it), one query, end."""
    wrapper.close_if_unusable_or_obsolete()  # request_started
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = int(cursor.fetchone()[0])
    wrapper.close_if_unusable_or_obsolete()  # request_finished
    return pid


def _terminate(pid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_a_busy_connection_is_checked_without_a_round_trip(
    own: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(own, base.DatabaseWrapper)
    pid = _request(own)
    round_trips: list[str] = []
    monkeypatch.setattr(own, "is_usable", lambda: round_trips.append("SELECT 1") or True)
    for _ in range(3):
        assert _request(own) == pid  # the same connection, reused
    assert round_trips == []


def test_a_connection_idle_for_long_gets_the_full_check(
    own: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _request(own)
    monkeypatch.setattr(base, "IDLE_CHECK_SECONDS", 0.0)
    checked: list[bool] = []
    real = own.is_usable
    monkeypatch.setattr(own, "is_usable", lambda: checked.append(real()) or checked[-1])
    _request(own)
    assert checked == [True]


@pytest.mark.parametrize("idle_window", [base.IDLE_CHECK_SECONDS, 0.0])
def test_a_connection_the_server_dropped_is_replaced_before_use(
    own: Any, monkeypatch: pytest.MonkeyPatch, idle_window: float
) -> None:
    """A restart, an idle timeout or an administrator ends the server's side: the next
    request runs on a new connection instead of failing, whether the old one was busy
    (seen locally) or idle for long (seen by the full check)."""
    monkeypatch.setattr(base, "IDLE_CHECK_SECONDS", idle_window)
    old = _request(own)
    _terminate(old)
    time.sleep(0.2)  # the server's farewell reaches the socket
    opened: list[object] = []

    def created(sender: object, connection: object, **kwargs: object) -> None:
        opened.append(connection)

    connection_created.connect(created)
    try:
        new = _request(own)
    finally:
        connection_created.disconnect(created)
    assert new != old
    assert opened == [own]
