"""Raw SQL for hot paths."""

from __future__ import annotations

import psycopg
from django.db import connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


def bound_cursor() -> CursorWrapper:
    """A cursor whose statements' parameters the database binds, as Django's would be
        otherwise (its execute wrappers, query logging and error translation included).

        Django's PostgreSQL cursor writes the parameters into the statement's text on the
        client, so PostgreSQL parses and plans the literals every time: for the access
        decision's join that cost about 180 µs a statement more than binding them on the server
        (docs/benchmarks.md, ``access``), and only such statements are prepared once run a few
    times (``LINLI_DATABASE_PREPARE``). Other databases get Django's own cursor.
    """
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    wrapper = CursorDebugWrapper if connection.queries_logged else CursorWrapper
    return wrapper(raw, connection)
