"""Console pages for a person's vehicles, care tags, household changes and resident account."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.console.forms import (
    AccountForm,
    CareForm,
    ConsoleForm,
    HouseholdHeadForm,
    HouseholdTransferForm,
    KinshipForm,
    VehicleForm,
)
from linli.console.views.common import console_actor, person_community
from linli.core import errors
from linli.people import actions, selectors
from linli.people.models import Person


def _page(
    request: HttpRequest,
    form: ConsoleForm,
    title: str,
    person: Person | None,
    **extra: Any,
) -> HttpResponse:
    return render(
        request,
        "console/people/change.html",
        {"form": form, "title": title, "person": person, **extra},
        status=form.error_status,
    )


@login_required
def vehicle_new(request: HttpRequest, person_id: int) -> HttpResponse:
    """Register a vehicle of a person in the current community."""
    actor = console_actor(request)
    person = selectors.get_person(actor, person_id)
    community = person_community(request, actor, person)
    actor.require("person.manage", community.pk)
    form = VehicleForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        vehicle = form.attempt(
            lambda: actions.do_register_vehicle(
                actor, person, community, data["plate"], data["description"]
            )
        )
        if vehicle is not None:
            messages.success(request, _("已登记车辆 %(plate)s。") % {"plate": vehicle.plate})
            return redirect("console:person", person_id=person.pk)
    return _page(request, form, _("登记车辆"), person)


@login_required
@require_POST
def vehicle_delete(request: HttpRequest, vehicle_id: int) -> HttpResponse:
    """Remove a vehicle record."""
    actor = console_actor(request)
    vehicle = selectors.get_vehicle(actor, vehicle_id)
    actions.do_remove_vehicle(actor, vehicle)
    messages.success(request, _("车辆已删除。"))
    return redirect("console:person", person_id=vehicle.owner_id)


@login_required
def care_new(request: HttpRequest, person_id: int) -> HttpResponse:
    """Add a special-care tag to a person in the current community."""
    actor = console_actor(request)
    person = selectors.get_person(actor, person_id)
    community = person_community(request, actor, person)
    actor.require("person.care_manage", community.pk)
    form = CareForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if (
            form.attempt(lambda: actions.do_add_care_tag(actor, person, community, **data))
            is not None
        ):
            messages.success(request, _("关爱标签已添加。"))
            return redirect("console:person", person_id=person.pk)
    return _page(request, form, _("添加关爱标签"), person)


@login_required
@require_POST
def care_delete(request: HttpRequest, record_id: int) -> HttpResponse:
    """Remove a special-care tag."""
    actor = console_actor(request)
    record = selectors.get_care_record(actor, record_id)
    actions.do_remove_care_tag(actor, record)
    messages.success(request, _("关爱标签已移除。"))
    return redirect("console:person", person_id=record.person_id)


@login_required
def residency_kinship(request: HttpRequest, residency_id: int) -> HttpResponse:
    """Correct a member's relation to the household head (a household change)."""
    actor = console_actor(request)
    residency = selectors.get_residency(actor, residency_id)
    actor.require("person.manage", residency.community_id)
    form = KinshipForm(
        request.POST if request.method == "POST" else None,
        initial={"kinship": residency.kinship},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if form.attempt(lambda: actions.do_set_kinship(actor, residency, **data)) is not None:
            messages.success(request, _("与户主关系已更新。"))
            return redirect("console:room", room_id=residency.room_id)
    return _page(request, form, _("更正与户主关系"), residency.person, residency=residency)


@login_required
def residency_household(request: HttpRequest, residency_id: int) -> HttpResponse:
    """Move a member to another household of the room, or split off a new one (分户)."""
    actor = console_actor(request)
    residency = selectors.get_residency(actor, residency_id)
    actor.require("person.manage", residency.community_id)
    households = [
        (h.pk, _("户主 %(head)s") % {"head": h.head.name})
        for h in selectors.list_households(actor, room_id=residency.room_id)
        if h.pk != residency.household_id
    ]
    form = HouseholdTransferForm(
        request.POST if request.method == "POST" else None, households=households
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        target = (
            None
            if data["household"] == "new"
            else selectors.get_household(actor, int(data["household"]))
        )
        if target is not None and not data["kinship"]:
            form.add_error("kinship", _("请选择与户主关系。"))
            form.error_status = 422
        elif (
            form.attempt(
                lambda: actions.do_change_household(
                    actor,
                    residency,
                    household=target,
                    kinship=data["kinship"],
                    occurred_on=data["occurred_on"],
                )
            )
            is not None
        ):
            messages.success(request, _("户籍变动已登记。"))
            return redirect("console:room", room_id=residency.room_id)
    return _page(request, form, _("迁户 / 分户"), residency.person, residency=residency)


@login_required
def household_head(request: HttpRequest, household_id: int) -> HttpResponse:
    """Make another member the head of a household (变更户主)."""
    actor = console_actor(request)
    household = selectors.get_household(actor, household_id)
    actor.require("person.manage", household.community_id)
    members = [
        r
        for r in household.members  # type: ignore[attr-defined]
        if r.person_id != household.head_id
    ]
    form = HouseholdHeadForm(
        request.POST if request.method == "POST" else None,
        members=[(r.pk, r.person.name) for r in members],
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        chosen = next(r for r in members if r.pk == int(data["member"]))
        if (
            form.attempt(
                lambda: actions.do_set_household_head(
                    actor,
                    household,
                    chosen,
                    former_head_kinship=data["former_head_kinship"],
                    occurred_on=data["occurred_on"],
                )
            )
            is not None
        ):
            messages.success(request, _("户主已变更。"))
            return redirect("console:room", room_id=household.room_id)
    return _page(request, form, _("变更户主"), household.head)


@login_required
def resident_account(request: HttpRequest, person_id: int) -> HttpResponse:
    """Open a resident's sign-in account in the current community."""
    actor = console_actor(request)
    person = selectors.get_person(actor, person_id)
    community = person_community(request, actor, person)
    actor.require("person.manage", community.pk)
    if person.user_id is not None:
        raise errors.Conflict(_("此人已有居民账号。"), code="account_exists")
    form = AccountForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if (
            form.attempt(lambda: actions.do_open_resident_account(actor, person, community, **data))
            is not None
        ):
            messages.success(request, _("居民账号已开通。"))
            return redirect("console:person", person_id=person.pk)
    return _page(request, form, _("开通居民账号"), person)
