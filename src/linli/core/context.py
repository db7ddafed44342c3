"""Per-request context (request id, client IP) carried to logs and audit rows."""

from __future__ import annotations

import contextvars
import logging
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    """Where the current unit of work came from."""

    request_id: str = "-"
    client_ip: str | None = None


_BLANK = RequestContext()
_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "linli_request_context", default=None
)


def current() -> RequestContext:
    """Return the context of the work in progress (a blank one outside requests)."""
    return _current.get() or _BLANK


def bind(ctx: RequestContext) -> contextvars.Token[RequestContext | None]:
    """Make ``ctx`` current; pass the returned token to :func:`reset`."""
    return _current.set(ctx)


def reset(token: contextvars.Token[RequestContext | None]) -> None:
    """Restore the context that was current before :func:`bind`."""
    _current.reset(token)


class RequestIdLogFilter(logging.Filter):
    """Add ``request_id`` to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach the current request id."""
        record.request_id = current().request_id
        return True
