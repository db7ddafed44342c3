"""Console pages of places: communities, their details, map and buildings."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from linli.console import components
from linli.console.forms import CommunityForm, geojson_text
from linli.console.views.common import community_overview, console_actor
from linli.core import errors
from linli.core.tabular import template_xlsx
from linli.people import browse
from linli.places import actions, imports, selectors

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
            "can_manage_places": actor.can("place.manage", community.pk),
        },
    )


@login_required
def community_tree(request: HttpRequest, community_id: int) -> HttpResponse:
    """Show a community's buildings, units and rooms as a collapsible tree with occupancy."""
    actor = console_actor(request)
    community = selectors.get_community(actor, community_id, perm="place.view")
    tree = browse.community_tree(actor, community.pk)

    def room_url(pk: int) -> str:
        return reverse("console:room", args=[pk])

    return render(
        request,
        "console/communities/tree.html",
        {
            "community": community,
            "tree": [
                (
                    node,
                    components.building_label(node.building),
                    [(unit, components.room_floors(unit.rooms, room_url)) for unit in node.units],
                )
                for node in tree
            ],
            "show_residents": actor.can("person.view", community.pk),
            "can_manage_place": actor.can("place.manage", community.pk),
            "room_count": sum(node.rooms for node in tree),
            "occupied_count": sum(node.occupied for node in tree),
            "resident_count": sum(node.residents for node in tree),
        },
    )


ROOM_FIELDS = ("number", "floor", "area", "use")


@login_required
def room_detail(request: HttpRequest, room_id: int) -> HttpResponse:
    """Show a room: its details, residents by household, past residents and tenancies."""
    actor = console_actor(request)
    room = browse.get_room(actor, room_id)
    show_people = actor.can("person.view", room.community_id)
    return render(
        request,
        "console/communities/room.html",
        {
            "room": room,
            "community": room.community,
            "building_label": components.building_label(room.unit.building),
            "fields": components.describe(room, ROOM_FIELDS),
            "show_people": show_people,
            "can_manage_place": actor.can("place.manage", room.community_id),
            "can_manage_people": actor.can("person.manage", room.community_id),
            "residents": browse.room_residents(actor, room) if show_people else None,
            "tenancies": list(browse.room_tenancies(actor, room)) if show_people else [],
            **components.lease_days(),
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
                "address_code": community.address_code,
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


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 20 * 1024 * 1024


def _xlsx_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@login_required
def room_template(request: HttpRequest, community_id: int) -> HttpResponse:
    """Download the empty rooms template in the page's language."""
    actor = console_actor(request)
    community = selectors.get_community(actor, community_id, perm="place.manage")
    language = translation.get_language() or "zh-hans"
    data = template_xlsx(imports.ROOM_SHEET, language)
    return _xlsx_response(data, f"{community.code}-{_('房屋导入模板')}.xlsx")


@login_required
def room_export(request: HttpRequest, community_id: int) -> HttpResponse:
    """Download the community's rooms as xlsx (readable by the import)."""
    actor = console_actor(request)
    community = selectors.get_community(actor, community_id, perm="place.view")
    data = imports.export_rooms(actor, community, language=translation.get_language() or "")
    return _xlsx_response(data, f"{community.code}-{_('房屋')}.xlsx")


@login_required
def room_import(request: HttpRequest, community_id: int) -> HttpResponse:
    """Upload rooms from Excel; show the counts or the row-by-row report."""
    actor = console_actor(request)
    community = selectors.get_community(actor, community_id, perm="place.manage")
    context: dict[str, object] = {"community": community, "mode": "all_or_nothing"}
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        mode = request.POST.get("mode", "all_or_nothing")
        context["mode"] = mode
        if mode not in {"all_or_nothing", "valid_only"}:
            context["file_error"] = _("请选择导入方式。")
            status = 422
        elif upload is None:
            context["file_error"] = _("请选择要上传的 .xlsx 文件。")
            status = 422
        elif upload.size is not None and upload.size > MAX_UPLOAD:
            context["file_error"] = _("文件太大，上限是 20 MB。")
            status = 413
        else:
            try:
                result = imports.import_rooms(actor, community, upload.read(), mode=mode)
            except errors.LinliError as exc:
                context["file_error"] = exc.message
                context["file_error_details"] = exc.details
                status = exc.status
            else:
                context["result"] = result
                context["problems"] = result.report.as_dicts()
                status = 200 if result.ok else 422
    return render(request, "console/communities/room_import.html", context, status=status)
