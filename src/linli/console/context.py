"""Template context for every console page: actor, current community, navigation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from linli.console import nav
from linli.core.auth import request_actor
from linli.core.choices import Role
from linli.places.selectors import list_communities

SESSION_KEY = "linli_community_id"


def current_community_id(request: HttpRequest) -> int | None:
    """Return the community chosen in the switcher, if the actor may still see it."""
    if hasattr(request, "_linli_community_id"):
        cached: int | None = request._linli_community_id
        return cached
    actor = request_actor(request)
    if actor is None:
        return None
    raw = request.session.get(SESSION_KEY)
    visible = list_communities(actor).values_list("id", flat=True)
    found: int | None = None
    if raw is not None and visible.filter(pk=raw).exists():
        found = int(raw)
    else:
        first = visible.first()
        found = int(first) if first is not None else None
    request._linli_community_id = found  # type: ignore[attr-defined]
    return found


def console(request: HttpRequest) -> dict[str, Any]:
    """Add ``actor``, ``communities``, ``current_community`` and ``nav`` to the context."""
    actor = request_actor(request)
    if actor is None or request.path.startswith("/api/"):
        return {}
    communities = list(list_communities(actor).only("id", "name")[:200])
    current_id = current_community_id(request)
    current = next((c for c in communities if c.pk == current_id), None)
    return {
        "actor": actor,
        "communities": communities,
        "current_community": current,
        "nav": nav.entries_for(actor, current_id, request.path),
        "role_labels": sorted(str(Role(r).label) for r in actor.roles_on(current_id)),
    }
