"""Console pages that change people: register, edit, photo, move in, move out."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from linli.console.context import current_community_id
from linli.console.forms import MoveInForm, MoveOutForm, PersonForm, PhotoForm
from linli.console.views.common import console_actor
from linli.core import errors
from linli.people import actions, selectors
from linli.people.models import Residency
from linli.places import selectors as place_selectors


def _community_to_manage(request: HttpRequest) -> int:
    """Return the current community if the actor may manage people there, else refuse."""
    actor = console_actor(request)
    community_id = current_community_id(request)
    if community_id is None:
        raise errors.NotFound()
    actor.require("person.manage", community_id)
    return community_id


@login_required
def person_new(request: HttpRequest) -> HttpResponse:
    """Register a person in the current community (or link one another community has)."""
    actor = console_actor(request)
    community = place_selectors.get_community(actor, _community_to_manage(request))
    form = PersonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        before = form.cleaned_data
        person = form.attempt(lambda: actions.do_register_person(actor, community, **before))
        if person is not None:
            if person.community_id != community.pk:
                messages.info(request, _("该证件号码已由其他社区登记，已关联到本社区。"))
            else:
                messages.success(request, _("已登记 %(name)s。") % {"name": person.name})
            return redirect("console:person", person_id=person.pk)
    return render(
        request,
        "console/people/change.html",
        {"form": form, "title": _("登记人员"), "community": community},
        status=form.error_status,
    )


@login_required
def person_edit(request: HttpRequest, person_id: int) -> HttpResponse:
    """Change a person's name, phone, ethnicity and nationality."""
    actor = console_actor(request)
    person = selectors.get_person(actor, person_id)
    if not selectors.person_communities(actor, person, "person.manage"):
        raise errors.PermissionDenied()
    if request.method == "POST":
        form = PersonForm(request.POST, editing=True)
        if form.is_valid():
            data = form.cleaned_data
            if data["phone"] == person.phone_masked:
                data.pop("phone")  # the masked value shown back means "unchanged"
            if form.attempt(lambda: actions.do_update_person(actor, person, **data)) is not None:
                messages.success(request, _("人员信息已保存。"))
                return redirect("console:person", person_id=person.pk)
            person = selectors.get_person(actor, person_id)
    else:
        form = PersonForm(
            editing=True,
            initial={
                "name": person.name,
                "phone": person.phone_masked,
                "ethnicity": person.ethnicity,
                "nationality": person.nationality,
            },
        )
    return render(
        request,
        "console/people/change.html",
        {"form": form, "title": _("编辑人员"), "person": person},
        status=form.error_status,
    )


@login_required
def person_photo(request: HttpRequest, person_id: int) -> HttpResponse:
    """Upload a person's photo (stored sealed)."""
    actor = console_actor(request)
    person = selectors.get_person(actor, person_id)
    form = PhotoForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["photo"]
        if upload.size > actions.PHOTO_MAX_BYTES:
            form.add_error("photo", _("照片不能超过 2 MB。"))
            form.error_status = 422
        elif form.attempt(lambda: actions.do_set_photo(actor, person, upload.read())) is not None:
            messages.success(request, _("照片已保存。"))
            return redirect("console:person", person_id=person.pk)
    return render(
        request,
        "console/people/change.html",
        {"form": form, "title": _("上传照片"), "person": person, "multipart": True},
        status=form.error_status,
    )


@login_required
def move_in(request: HttpRequest, person_id: int) -> HttpResponse:
    """Record that a person lives in a room of the current community from a date."""
    actor = console_actor(request)
    person = selectors.get_person(actor, person_id)
    community_id = _community_to_manage(request)
    form = MoveInForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def start() -> Residency:
            try:
                room = place_selectors.find_room(
                    actor, community_id, data["building"], data["unit"], data["room"]
                )
            except errors.NotFound as exc:
                raise errors.ValidationFailed(
                    details={"room": [str(exc.message)]}, code="unknown_room"
                ) from exc
            return actions.do_start_residency(
                actor,
                person,
                room,
                relation=data["relation"],
                kinship=data["kinship"],
                category=data["category"],
                date_from=data["date_from"],
                joint_owner=data["joint_owner"],
                new_household=data["new_household"],
            )

        if form.attempt(start) is not None:
            messages.success(request, _("入住已登记。"))
            return redirect("console:person", person_id=person.pk)
    return render(
        request,
        "console/people/change.html",
        {"form": form, "title": _("入住登记"), "person": person},
        status=form.error_status,
    )


@login_required
def move_out(request: HttpRequest, residency_id: int) -> HttpResponse:
    """End a residency (move-out, or the end of a tenancy)."""
    actor = console_actor(request)
    residency = selectors.get_residency(actor, residency_id)
    form = MoveOutForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        date_to = form.cleaned_data["date_to"]
        if (
            form.attempt(lambda: actions.do_end_residency(actor, residency, date_to=date_to))
            is not None
        ):
            messages.success(request, _("迁出已登记。"))
            return redirect("console:person", person_id=residency.person_id)
    return render(
        request,
        "console/people/change.html",
        {"form": form, "title": _("迁出登记"), "person": residency.person, "residency": residency},
        status=form.error_status,
    )
