"""Raw SQL for hot paths."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

_FORMAT_PLACEHOLDER = re.compile(r"(?<!%)%s")


@functools.lru_cache(maxsize=256)
def _qmark(statement: str) -> str:
    """A statement written with ``%s`` placeholders in SQLite's ``?`` style (as Django's
    SQLite backend converts it, once per statement instead of on every run)."""
    return _FORMAT_PLACEHOLDER.sub("?", statement).replace("%%", "%")


class _SQLiteCursor:
    """The driver's cursor, taking ``%s`` statements like every Django cursor."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(_qmark(statement), params)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)


@contextmanager
def bound_cursor() -> Iterator[Any]:
    """A cursor whose statements' parameters the database binds, for the hot paths.

    Django's PostgreSQL cursor writes the parameters into the statement's text on the
    client, so PostgreSQL parses and plans the literals every time: for the access
    decision's join that cost about 180 µs a statement more than binding them on the server
    (docs/benchmarks.md, ``access``), and only such statements are prepared once run a few
    times (``LINLI_DATABASE_PREPARE``).

    Django's cursor wrapper (placeholder rewriting for SQLite, execute wrappers, query
    logging, the connection lookups behind them) cost as much again as running the access
    decision's two statements, so this is the driver's own cursor, with the driver's errors
    turned into Django's as usual. While anything watches the queries (an execute wrapper
    installed, query logging in ``DEBUG`` or a test's query capture), it is Django's cursor
    instead, so nothing runs unseen.
    """
    connection = connections[DEFAULT_DB_ALIAS]  # the proxy would look it up on every use
    vendor = connection.vendor
    watched = bool(connection.execute_wrappers) or connection.queries_logged
    if vendor == "postgresql":
        connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    if vendor == "postgresql" and watched:
        wrapper = CursorDebugWrapper if connection.queries_logged else CursorWrapper
        with wrapper(psycopg.Cursor(raw), connection) as watched_cursor:
            yield watched_cursor
    elif vendor not in ("postgresql", "sqlite") or watched:
        with connection.cursor() as django_cursor:
            yield django_cursor
    elif vendor == "postgresql":
        with connection.wrap_database_errors, psycopg.Cursor(raw) as pg_cursor:
            yield pg_cursor
    else:
        sqlite_cursor = raw.cursor()
        try:
            with connection.wrap_database_errors:
                yield _SQLiteCursor(sqlite_cursor)
        finally:
            sqlite_cursor.close()
