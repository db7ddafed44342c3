"""Console pages of rental registration (出租屋登记): register, renew, end."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from linli.console.forms import TenancyEndForm, TenancyExtendForm, TenancyForm, TenantFormSet
from linli.console.views.common import console_actor
from linli.core.tenancy import Actor
from linli.people import actions, browse, identity, selectors, tenancies
from linli.people.choices import Relation
from linli.people.models import Person, Tenancy
from linli.places.models import Community, Room


def _tenant(actor: Actor, community: Community, data: dict[str, Any]) -> Person:
    """Return the tenant a form row names: the person with that ID number, or a new one."""
    number = identity.normalise_id(data["id_type"], data["id_number"])
    existing = actions.find_by_id_number(data["id_type"], number)
    if existing is not None and actions.is_member(existing, community.pk):
        return existing
    return actions.do_register_person(
        actor,
        community,
        name=data["name"],
        id_type=data["id_type"],
        id_number=number,
        phone=data["phone"],
    )


@login_required
def tenancy_new(request: HttpRequest, room_id: int) -> HttpResponse:
    """Register a rental of a room with its tenants, all at once or not at all."""
    actor = console_actor(request)
    room = browse.get_room(actor, room_id)
    actor.require("person.manage", room.community_id)
    owners = [
        (r.person_id, r.person.name)
        for g in browse.room_residents(actor, room).current
        for r in g.members
        if r.relation == Relation.OWNER
    ]
    post = request.POST if request.method == "POST" else None
    form = TenancyForm(post, landlords=owners)
    tenants = TenantFormSet(post, prefix="tenant")
    if post is not None and form.is_valid() and tenants.is_valid():
        data = form.cleaned_data
        rows = [t.cleaned_data for t in tenants if t.cleaned_data]

        def register() -> Tenancy:
            with transaction.atomic():
                people = [(_tenant(actor, room.community, row), row["category"]) for row in rows]
                landlord = (
                    selectors.get_person(actor, int(data["landlord"])) if data["landlord"] else None
                )
                return tenancies.do_register_tenancy(
                    actor,
                    room,
                    landlord=landlord,
                    tenants=people,
                    date_from=data["date_from"],
                    date_to=data["date_to"],
                    purpose=data["purpose"],
                    note=data["note"],
                )

        if form.attempt(register) is not None:
            messages.success(request, _("出租屋登记已保存。"))
            return redirect("console:room", room_id=room.pk)
    elif post is not None:
        form.error_status = 422
    return render(
        request,
        "console/tenancies/form.html",
        {"room": room, "community": room.community, "form": form, "tenants": tenants},
        status=form.error_status,
    )


def _tenancy_page(
    request: HttpRequest, tenancy_id: int, form_class: Any, title: str, apply: Any
) -> HttpResponse:
    actor = console_actor(request)
    tenancy = selectors.get_tenancy(actor, tenancy_id)
    actor.require("person.manage", tenancy.community_id)
    form = form_class(request.POST if request.method == "POST" else None)
    if (
        request.method == "POST"
        and form.is_valid()
        and form.attempt(lambda: apply(actor, tenancy, **form.cleaned_data)) is not None
    ):
        messages.success(request, _("出租屋登记已更新。"))
        return redirect("console:room", room_id=tenancy.room_id)
    room: Room = browse.get_room(actor, tenancy.room_id)
    return render(
        request,
        "console/tenancies/change.html",
        {
            "tenancy": tenancy,
            "room": room,
            "community": room.community,
            "form": form,
            "title": title,
        },
        status=form.error_status,
    )


@login_required
def tenancy_extend(request: HttpRequest, tenancy_id: int) -> HttpResponse:
    """Renew a lease to a later end (续租)."""
    return _tenancy_page(
        request, tenancy_id, TenancyExtendForm, _("续租"), tenancies.do_extend_tenancy
    )


@login_required
def tenancy_end(request: HttpRequest, tenancy_id: int) -> HttpResponse:
    """End a rental (退租); every remaining tenant moves out."""
    return _tenancy_page(request, tenancy_id, TenancyEndForm, _("退租"), tenancies.do_end_tenancy)
