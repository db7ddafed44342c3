"""Console pages that change places: a building from a pattern, and areas."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.console import components
from linli.console.forms import AreaForm, BuildingGenerateForm
from linli.console.views.common import console_actor
from linli.core import errors
from linli.places import actions, selectors
from linli.places.choices import AreaKind


@login_required
def building_generate(request: HttpRequest, community_id: int) -> HttpResponse:
    """Create a building with its units and rooms from a pattern (needs ``place.manage``)."""
    actor = console_actor(request)
    community = selectors.get_community(actor, community_id, perm="place.manage")
    form = BuildingGenerateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        building = form.attempt(
            lambda: actions.do_generate_building(actor, community, **form.cleaned_data)
        )
        if building is not None:
            messages.success(
                request, _("已生成 %(building)s 及其单元和房屋。") % {"building": building}
            )
            return redirect("console:community", community_id=community.pk)
    return render(
        request,
        "console/places/building_generate.html",
        {"community": community, "form": form},
        status=form.error_status,
    )


@login_required
def area_list(request: HttpRequest, community_id: int) -> HttpResponse:
    """List a community's areas (gates, parking lots, gardens, public spaces)."""
    actor = console_actor(request)
    community = selectors.get_community(actor, community_id, perm="place.view")
    listing = components.ListPage(
        request,
        search=_("名称"),
        filters=[components.Filter("kind", _("类型"), AreaKind.choices)],
    )
    listing.paginate(
        selectors.list_areas(
            actor, community_id=community.pk, kind=listing.value("kind"), q=listing.q
        )
    )
    return render(
        request,
        "console/places/areas.html",
        {
            "community": community,
            "listing": listing,
            "can_manage": actor.can("place.manage", community.pk),
        },
    )


@login_required
def area_edit(request: HttpRequest, community_id: int, area_id: int | None = None) -> HttpResponse:
    """Add an area, or edit one (needs ``place.manage``)."""
    actor = console_actor(request)
    community = selectors.get_community(actor, community_id, perm="place.manage")
    area = selectors.get_area(actor, area_id) if area_id is not None else None
    if area is not None and area.community_id != community.pk:
        raise errors.NotFound()
    if request.method == "POST":
        form = AreaForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            saved = form.attempt(
                lambda: (
                    actions.do_update_area(actor, area, **data)
                    if area is not None
                    else actions.do_create_area(actor, community, **data)
                )
            )
            if saved is not None:
                messages.success(request, _("区域已保存。"))
                return redirect("console:areas", community_id=community.pk)
    else:
        form = AreaForm(
            initial={
                "kind": area.kind,
                "name": area.name,
                "geometry": components.pretty_json(area.geometry) if area.geometry else "",
                "note": area.note,
            }
            if area is not None
            else None
        )
    return render(
        request,
        "console/places/area_form.html",
        {"community": community, "area": area, "form": form},
        status=form.error_status,
    )


@login_required
@require_POST
def area_delete(request: HttpRequest, community_id: int, area_id: int) -> HttpResponse:
    """Delete an area (needs ``place.manage``)."""
    actor = console_actor(request)
    area = selectors.get_area(actor, area_id)
    actions.do_delete_area(actor, area)
    messages.success(request, _("区域已删除。"))
    return redirect("console:areas", community_id=area.community_id)
