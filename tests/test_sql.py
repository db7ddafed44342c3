"""The hot paths' raw SQL cursor and SQLite writers' turns."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from linli.core import sql, sqlite
from linli.places.models import Community

STATEMENT = "SELECT id, name FROM places_community WHERE code = %s"


def test_the_raw_cursor_binds_parameters_and_reads_rows(db: None) -> None:
    community = Community.objects.create(name="50% 的小区", code="c-50")
    with sql.bound_cursor() as cursor:
        cursor.execute(STATEMENT, ["c-50"])
        assert cursor.fetchall() == [(community.pk, "50% 的小区")]
        # A literal %% in the statement is a %, as in Django's cursors.
        cursor.execute(
            "SELECT COUNT(*) FROM places_community WHERE name LIKE '50%%' AND code = %s",
            ["c-50"],
        )
        assert cursor.fetchone() == (1,)


def test_while_queries_are_watched_the_cursor_is_djangos(db: None) -> None:
    Community.objects.create(name="甲", code="c-a")
    seen: list[str] = []

    def watch(execute, statement, params, many, context):  # type: ignore[no-untyped-def]
        seen.append(statement)
        return execute(statement, params, many, context)

    with connection.execute_wrapper(watch), sql.bound_cursor() as cursor:
        cursor.execute(STATEMENT, ["c-a"])
        assert cursor.fetchone()[1] == "甲"
    assert seen == [STATEMENT]
    with sql.bound_cursor() as cursor:  # unwatched again: the driver's own cursor
        cursor.execute(STATEMENT, ["c-a"])
    assert seen == [STATEMENT]


def test_the_drivers_errors_become_djangos(db: None) -> None:
    community = Community.objects.create(name="甲", code="c-a")
    with pytest.raises(IntegrityError), transaction.atomic(), sql.bound_cursor() as cursor:
        cursor.execute(
            "INSERT INTO places_community (id, name, code, address, division_code, boundary,"
            " created_at, updated_at) SELECT id, name, code, address, division_code, boundary,"
            " created_at, updated_at FROM places_community WHERE id = %s",
            [community.pk],
        )
    assert Community.objects.count() == 1


HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


@pytest.mark.django_db(transaction=True)
def test_sqlite_writers_take_turns_across_processes(tmp_path: Path, monkeypatch: Any) -> None:
    """The turn is a lock on a file beside the database (here a stand-in path, so the test
    runs whatever database this run uses)."""
    monkeypatch.setattr(sqlite, "database_file", lambda: tmp_path / "linli.sqlite3")
    monkeypatch.setattr(sqlite, "_writer_files", {})
    lock = str(tmp_path / "linli.sqlite3-writer.lock")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, lock, "0.6"], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        started = time.monotonic()
        with sqlite.writer_turn():
            waited = time.monotonic() - started
        assert waited > 0.3  # it waited for the other process's turn to end
    finally:
        holder.kill()
        holder.wait()
    # Inside a transaction no turn is taken: the connection holds SQLite's lock.
    holder = subprocess.Popen([sys.executable, "-c", HOLD, lock, "5"], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        started = time.monotonic()
        with transaction.atomic(), sqlite.writer_turn():
            Community.objects.create(name="乙", code="c-b")
        assert time.monotonic() - started < 2
    finally:
        holder.kill()
        holder.wait()


def test_only_a_sqlite_file_has_writers_turns() -> None:
    pg = {"ENGINE": "django.db.backends.postgresql", "NAME": "linli"}
    assert sqlite.database_file(pg) is None
    on_disk = {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/linli/db.sqlite3"}
    assert sqlite.database_file(on_disk) == Path("/srv/linli/db.sqlite3")
    for name in ("file:memdb?mode=memory&cache=shared", ":memory:", ""):
        assert sqlite.database_file({"ENGINE": "django.db.backends.sqlite3", "NAME": name}) is None


@pytest.mark.django_db
def test_elsewhere_the_writers_turn_is_nothing(monkeypatch: Any) -> None:
    monkeypatch.setattr(sqlite, "database_file", lambda: None)
    monkeypatch.setattr(sqlite.fcntl, "flock", None)  # would fail if called
    with sqlite.writer_turn():
        pass
