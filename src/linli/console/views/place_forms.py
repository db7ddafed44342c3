"""Console pages that change places: a building from a pattern, and areas."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.console import components
from linli.console.forms import AreaForm, BuildingForm, BuildingGenerateForm, RoomForm, geojson_text
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


@login_required
def building_edit(request: HttpRequest, building_id: int) -> HttpResponse:
    """Change a building (needs ``place.manage``)."""
    actor = console_actor(request)
    building = selectors.get_building(actor, building_id)
    actor.require("place.manage", building.community_id)
    if request.method == "POST":
        form = BuildingForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            if form.attempt(lambda: actions.do_update_building(actor, building, **data)):
                messages.success(request, _("楼栋已保存。"))
                return redirect("console:community", community_id=building.community_id)
            building = selectors.get_building(actor, building_id)
    else:
        form = BuildingForm(
            initial={
                "name": building.name,
                "floors_above": building.floors_above,
                "floors_below": building.floors_below,
                "footprint": geojson_text(building.footprint),
            }
        )
    return render(
        request,
        "console/places/place_form.html",
        {
            "form": form,
            "community": selectors.get_community(actor, building.community_id),
            "title": _("编辑楼栋"),
            "subject": str(building),
            "delete_url": "console:building_delete",
            "delete_id": building.pk,
        },
        status=form.error_status,
    )


@login_required
@require_POST
def building_delete(request: HttpRequest, building_id: int) -> HttpResponse:
    """Delete a building with its units and rooms, unless anyone's records use them."""
    actor = console_actor(request)
    building = selectors.get_building(actor, building_id)
    try:
        actions.do_delete_building(actor, building)
    except errors.Conflict as exc:
        messages.error(request, str(exc.message))
        return redirect("console:building_edit", building_id=building.pk)
    messages.success(request, _("楼栋已删除。"))
    return redirect("console:community", community_id=building.community_id)


@login_required
def room_edit(request: HttpRequest, room_id: int) -> HttpResponse:
    """Change a room's floor, area and use (needs ``place.manage``)."""
    actor = console_actor(request)
    room = selectors.get_room(actor, room_id)
    actor.require("place.manage", room.community_id)
    if request.method == "POST":
        form = RoomForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            if form.attempt(lambda: actions.do_update_room(actor, room, **data)) is not None:
                messages.success(request, _("房屋已保存。"))
                return redirect("console:room", room_id=room.pk)
            room = selectors.get_room(actor, room_id)
    else:
        form = RoomForm(initial={"floor": room.floor, "area": room.area, "use": room.use})
    return render(
        request,
        "console/places/place_form.html",
        {
            "form": form,
            "community": selectors.get_community(actor, room.community_id),
            "title": _("编辑房屋"),
            "subject": _("%(building)s号楼%(unit)s单元%(room)s室")
            % {
                "building": room.unit.building.number,
                "unit": room.unit.number,
                "room": room.number,
            },
            "delete_url": "console:room_delete",
            "delete_id": room.pk,
        },
        status=form.error_status,
    )


@login_required
@require_POST
def room_delete(request: HttpRequest, room_id: int) -> HttpResponse:
    """Delete a room, unless anyone's records use it."""
    actor = console_actor(request)
    room = selectors.get_room(actor, room_id)
    try:
        actions.do_delete_room(actor, room)
    except errors.Conflict as exc:
        messages.error(request, str(exc.message))
        return redirect("console:room_edit", room_id=room.pk)
    messages.success(request, _("房屋已删除。"))
    return redirect("console:community", community_id=room.community_id)
