"""Helpers shared by the console's views."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from linli.core import errors
from linli.core.auth import request_actor
from linli.core.tenancy import Actor


def console_actor(request: HttpRequest) -> Actor:
    """Return the signed-in actor (pages are behind ``login_required``)."""
    actor = request_actor(request)
    if actor is None:
        raise errors.NotAuthenticated()
    return actor


def require_somewhere(actor: Actor, perm: str) -> None:
    """Refuse a whole section (403) to an actor holding ``perm`` on no community at all."""
    scope = actor.scope(perm)
    if not (scope.everywhere or scope.community_ids):
        raise errors.PermissionDenied()


def no_store(response: HttpResponse) -> HttpResponse:
    """Keep a page showing a secret out of every cache and the browser's history."""
    response["Cache-Control"] = "no-store"
    return response
