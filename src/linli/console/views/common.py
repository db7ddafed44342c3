"""Helpers shared by the console's views."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from linli.console import components
from linli.console.context import current_community_id
from linli.core import errors
from linli.core.auth import request_actor
from linli.core.tenancy import Actor
from linli.people import selectors as people_selectors
from linli.places import selectors as place_selectors
from linli.places.choices import RoomUse
from linli.places.models import Building, Community


def console_actor(request: HttpRequest) -> Actor:
    """Return the signed-in actor (pages are behind ``login_required``)."""
    actor = request_actor(request)
    if actor is None:
        raise errors.NotAuthenticated()
    return actor


def person_here(request: HttpRequest, person_id: int) -> tuple[Actor, Any, int]:
    """The actor, a person they may see, and the current community (404 without one)."""
    actor = console_actor(request)
    person = people_selectors.get_person(actor, person_id)
    community_id = current_community_id(request)
    if community_id is None:
        raise errors.NotFound()
    return actor, person, community_id


def flash_error(request: HttpRequest, exc: errors.LinliError) -> None:
    """Show a refused action on the next page: its message and each field's problems."""
    detail = "; ".join(" ".join(str(m) for m in msgs) for msgs in exc.details.values())
    messages.error(request, f"{exc.message} {detail}".strip())


def require_somewhere(actor: Actor, perm: str) -> None:
    """Refuse a whole section (403) to an actor holding ``perm`` on no community at all."""
    scope = actor.scope(perm)
    if not (scope.everywhere or scope.community_ids):
        raise errors.PermissionDenied()


def no_store(response: HttpResponse) -> HttpResponse:
    """Keep a page showing a secret out of every cache and the browser's history."""
    response["Cache-Control"] = "no-store"
    return response


@dataclass
class CommunityOverview:
    """What the dashboard and the community page show of a community, per the actor's rights."""

    buildings: list[Building] = field(default_factory=list)
    residents: dict[int, int] | None = None
    map: Any = None
    residents_chart: Any = None
    rooms_by_use: Any = None

    @property
    def charts(self) -> list[Any]:
        """Return the charts the actor may see."""
        return [c for c in (self.residents_chart, self.rooms_by_use) if c is not None]


def community_overview(actor: Actor, community: Community) -> CommunityOverview:
    """Collect a community's buildings, residents per building, map and charts."""
    out = CommunityOverview()
    can_see_places = actor.can("place.view", community.pk)
    if can_see_places:
        out.buildings = list(place_selectors.list_buildings(actor, community_id=community.pk))
    if actor.can("person.view", community.pk):
        out.residents = people_selectors.count_residents_by_building(
            actor, community_id=community.pk
        )
        out.residents_chart = components.bar_chart(
            _("各楼栋住户"),
            [(components.building_label(b), out.residents.get(b.pk, 0)) for b in out.buildings],
            unit=_("人"),
        )
    if can_see_places:
        by_use = place_selectors.count_rooms_by_use(actor, community_id=community.pk)
        out.rooms_by_use = components.donut_chart(
            _("房屋用途"),
            [(str(use.label), by_use.get(use.value, 0)) for use in RoomUse],
            unit=_("套"),
            caption=_("套房屋"),
        )
    out.map = components.community_map(community, out.buildings, out.residents)
    return out


def person_community(request: HttpRequest, actor: Actor, person: Any) -> Any:
    """Return the community a person's page works in: the switcher's current community if
    the person belongs to it, else the first of the person's communities the actor sees."""
    visible = people_selectors.person_communities(actor, person)
    current = current_community_id(request)
    return place_selectors.get_community(actor, current if current in visible else visible[0])
