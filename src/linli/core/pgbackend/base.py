"""Django's PostgreSQL backend, with a cheaper check of a reused connection.

Django's ``CONN_HEALTH_CHECKS`` sends ``SELECT 1`` at the start of every request that uses
the database. On this platform's hot path (a terminal's access decision: one read, one
write) that round trip cost about 190 µs of CPU, as much as the decision's own read
(docs/benchmarks.md, ``access``). Here a connection used within the last
:data:`IDLE_CHECK_SECONDS` is checked locally instead: if the server sent anything while it
sat idle between statements (the error and end of file of a restart, an idle timeout, a
terminated backend), it is closed and the request opens a new one. A connection idle for
longer gets Django's full check, which also finds a peer gone without a word (a NAT or
firewall timeout).
"""

from __future__ import annotations

import select
import time
from typing import Any

from django.db.backends.postgresql import base

IDLE_CHECK_SECONDS = 10.0


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's PostgreSQL wrapper with :func:`close_if_health_check_failed` made cheap for
    a connection in steady use."""

    health_check_enabled: bool  # set by Django (its type stubs leave these out)
    health_check_done: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.used_at: float | None = None  # monotonic time of the last check

    def connect(self) -> None:
        super().connect()
        self.used_at = time.monotonic()

    def close_if_health_check_failed(self) -> None:
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        now = time.monotonic()
        recent = self.used_at is not None and now - self.used_at < IDLE_CHECK_SECONDS
        self.used_at = now
        if not recent:
            super().close_if_health_check_failed()
            return
        self.health_check_done = True
        if self.server_spoke():
            self.close()

    def server_spoke(self) -> bool:
        """Whether the server sent something to this idle connection (an error before it
        closed, or the end of the stream), seen without waiting and without a round trip."""
        try:
            readable, _w, _x = select.select([self.connection.pgconn.socket], [], [], 0)
        except (OSError, ValueError):  # the socket is already gone
            return True
        return bool(readable)
