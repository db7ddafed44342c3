"""Typed domain events, published after commit and dispatched to handlers by type.

An app declares its events as frozen dataclasses decorated with :func:`event` in its own
``events.py``; other apps subscribe with :func:`handles` in their ``handlers.py``.
:func:`publish` never runs a handler before the surrounding transaction commits.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import transaction

log = logging.getLogger(__name__)

E = TypeVar("E")
Handler = Callable[[Any], None]

_types: dict[str, type] = {}
_handlers: dict[type, list[Handler]] = defaultdict(list)


def event(name: str) -> Callable[[type[E]], type[E]]:
    """Register a dataclass as the event type called ``name``."""

    def wrap(cls: type[E]) -> type[E]:
        if name in _types and _types[name] is not cls:
            raise ValueError(f"event name {name!r} is already registered")
        cls.event_name = name  # type: ignore[attr-defined]
        _types[name] = cls
        return cls

    return wrap


def handles(*types: type) -> Callable[[Handler], Handler]:
    """Subscribe a function to events of the given types."""

    def wrap(fn: Handler) -> Handler:
        for t in types:
            if fn not in _handlers[t]:
                _handlers[t].append(fn)
        return fn

    return wrap


def dispatch(evt: Any) -> None:
    """Call every handler of ``evt``'s type now; one failing handler does not stop others."""
    for fn in list(_handlers.get(type(evt), ())):
        try:
            fn(evt)
        except Exception:
            log.exception("event handler %s failed on %s", fn.__qualname__, evt)


def publish(evt: Any) -> None:
    """Dispatch ``evt`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: dispatch(evt), robust=True)


def registered() -> dict[str, type]:
    """Return the registered event types by name."""
    return dict(_types)


@event("core.grant_changed")
@dataclass(frozen=True)
class GrantChanged:
    """A role was given or withdrawn on a community."""

    grant_id: int
    community_id: int | None
    role: str
    user_id: int | None
    organisation_id: int | None
    given: bool
