"""Template context for every console page: actor, current community, navigation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from linli.console import nav
from linli.core.auth import request_actor
from linli.places.selectors import list_communities

SESSION_KEY = "linli_community_id"


def current_community_id(request: HttpRequest) -> int | None:
    """Return the community chosen in the switcher, if the actor may still see it."""
    actor = request_actor(request)
    if actor is None:
        return None
    raw = request.session.get(SESSION_KEY)
    visible = list_communities(actor).values_list("id", flat=True)
    if raw is not None and visible.filter(pk=raw).exists():
        return int(raw)
    first = visible.first()
    return int(first) if first is not None else None


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
        "nav": nav.items_for(actor, current_id),
        "role_labels": sorted(actor.roles_on(current_id)),
    }
