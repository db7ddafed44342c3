"""Console pages of places: communities, their details, map and buildings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from linli.console import components
from linli.console.forms import CommunityForm, geojson_text
from linli.console.views.common import community_overview, console_actor
from linli.places import actions, selectors

COMMUNITY_FIELDS = ("name", "code", "address", "division_code", "created_at", "updated_at")


@login_required
def community_list(request: HttpRequest) -> HttpResponse:
    """List the communities the user may see, with a search box."""
    actor = console_actor(request)
    listing = components.ListPage(request, search=_("名称、编码或地址"))
    listing.paginate(selectors.list_communities(actor, q=listing.q))
    return render(request, "console/communities/list.html", {"listing": listing})


@login_required
def community_detail(request: HttpRequest, community_id: int) -> HttpResponse:
    """Show a community: its details, map, buildings and rooms by use."""
    actor = console_actor(request)
    community = selectors.get_community(actor, community_id)
    overview = community_overview(actor, community)
    return render(
        request,
        "console/communities/detail.html",
        {
            "community": community,
            "fields": components.describe(community, COMMUNITY_FIELDS),
            "map": overview.map,
            "buildings": [
                (b, components.building_label(b), (overview.residents or {}).get(b.pk))
                for b in overview.buildings
            ],
            "can_see_places": actor.can("place.view", community.pk),
            "show_residents": overview.residents is not None,
            "rooms_by_use": overview.rooms_by_use,
            "can_change": actor.can("community.change", community.pk),
        },
    )


@login_required
def community_edit(request: HttpRequest, community_id: int) -> HttpResponse:
    """Edit a community's details and boundary (needs ``community.change``)."""
    actor = console_actor(request)
    community = selectors.get_community(actor, community_id, perm="community.change")
    if request.method == "POST":
        form = CommunityForm(request.POST)
        if form.is_valid() and (
            form.attempt(lambda: actions.do_update_community(actor, community, **form.cleaned_data))
            is not None
        ):
            messages.success(request, _("社区信息已保存。"))
            return redirect("console:community", community_id=community.pk)
        # The refused action may have changed the object in memory: show the stored one.
        community = selectors.get_community(actor, community_id)
    else:
        form = CommunityForm(
            initial={
                "name": community.name,
                "address": community.address,
                "division_code": community.division_code,
                "boundary": geojson_text(community.boundary),
            }
        )
    return render(
        request,
        "console/communities/edit.html",
        {
            "community": community,
            "form": form,
            "map": components.community_map(community, [], width=440),
        },
        status=form.error_status,
    )
