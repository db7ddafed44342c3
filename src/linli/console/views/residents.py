"""Pages for residents themselves (居民): their own household (我的家庭)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from linli.console.views.common import console_actor, require_somewhere
from linli.people import browse


@login_required
def my_household(request: HttpRequest) -> HttpResponse:
    """Show the signed-in resident's households: room, members with kinship, vehicles.

    Needs ``household.view_own``. Members appear by name and kinship only, never with
    identity or phone numbers; a user not linked to a person gets an explanation.
    """
    actor = console_actor(request)
    require_somewhere(actor, "household.view_own")
    person = browse.own_person(actor)
    households = browse.own_households(actor, person) if person is not None else []
    return render(
        request,
        "console/residents/household.html",
        {"person": person, "households": households},
    )
