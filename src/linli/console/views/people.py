"""Console pages of people: the register (masked), a person's record, population
statistics (人口统计), the population change list and its export, rental registrations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from linli.access import queries as access_queries
from linli.access.choices import ConsentChannel, CredentialKind, CredentialStatus, Modality
from linli.biometrics import selectors as biometric_selectors
from linli.console import components
from linli.console.context import current_community_id
from linli.console.views.common import console_actor, no_store, person_community, require_somewhere
from linli.core import errors
from linli.core.tabular import Column, Kind, Sheet, write_xlsx
from linli.core.tenancy import Actor
from linli.people import actions, browse, codes, selectors, stats
from linli.people.choices import ChangeKind, ChangeSource
from linli.people.models import Person, PopulationChange
from linli.places import selectors as place_selectors

PERSON_FIELDS = (
    "name",
    "sex",
    "birth_date",
    "id_type",
    "id_number_masked",
    "phone_masked",
    "created_at",
)


@login_required
def person_list(request: HttpRequest) -> HttpResponse:
    """List the people registered in the current community, searchable by name."""
    actor = console_actor(request)
    require_somewhere(actor, "person.view")
    listing = components.ListPage(request, search=_("姓名"))
    listing.paginate(
        selectors.list_people(actor, community_id=current_community_id(request), q=listing.q)
    )
    return render(request, "console/people/list.html", {"listing": listing})


def person_fields(person: Person) -> list[tuple[Any, Any]]:
    """Return a person's fields as the page shows them: codes as names, identity masked."""
    fields = components.describe(person, PERSON_FIELDS)
    language = translation.get_language()
    try:
        nationality = codes.country_name(person.nationality, language)
    except codes.UnknownCode:
        nationality = person.nationality
    fields += [
        (Person._meta.get_field("ethnicity").verbose_name, person.get_ethnicity_display() or None),
        (Person._meta.get_field("nationality").verbose_name, nationality or None),
    ]
    return fields


def person_page(
    request: HttpRequest,
    person: Person,
    revealed: dict[str, str] | None = None,
    issued_pin: str = "",
) -> HttpResponse:
    actor = console_actor(request)
    current = current_community_id(request)
    community = person_community(request, actor, person)
    can_see_care = bool(selectors.person_communities(actor, person, "person.care_view"))
    access = _access_of(actor, person, current)
    return render(
        request,
        "console/people/detail.html",
        {
            "person": person,
            "community": community,
            "fields": person_fields(person),
            "residencies": browse.person_residencies(actor, person),
            "vehicles": list(browse.person_vehicles(actor, person)),
            "tenancies": list(browse.person_tenancies(actor, person)),
            "care_tags": list(browse.person_care_tags(actor, person)) if can_see_care else None,
            "has_photo": browse.has_photo(actor, person),
            "can_reveal": bool(selectors.person_communities(actor, person, "person.reveal")),
            "can_manage": bool(selectors.person_communities(actor, person, "person.manage")),
            "can_move_in": current is not None and actor.can("person.manage", current),
            "can_tag": current is not None and actor.can("person.care_manage", current),
            "revealed": revealed,
            "issued_pin": issued_pin,
            **access,
            **components.lease_days(),
        },
    )


def _access_of(actor: Actor, person: Person, community_id: int | None) -> dict[str, Any]:
    """The person's credentials and consents in the current community, if the actor may see."""
    if community_id is None or not actor.can("credential.view", community_id):
        return {"credentials": None}
    return {
        "credentials": sorted(
            access_queries.list_credentials(actor, person, community_id),
            key=lambda c: c.status != CredentialStatus.ACTIVE,  # active ones first
        ),
        "consents": list(access_queries.list_consents(actor, person, community_id)),
        "can_issue": actor.can("credential.manage", community_id),
        "issuable": [
            (k.value, k.label)
            for k in CredentialKind
            if k in (CredentialKind.CARD, CredentialKind.PIN)
        ],
        "modalities": Modality.choices,
        "channels": ConsentChannel.choices,
        "biometrics": _biometrics_of(person, community_id),
    }


def _biometrics_of(person: Person, community_id: int) -> list[dict[str, Any]]:
    """Whether the person has a face and a voice template, and consent for each."""
    held = biometric_selectors.held(person.pk, community_id)
    hints = {
        Modality.FACE: _("照片（1–5 张，正脸、光线充足；手机上可直接拍摄）"),
        Modality.VOICE: _("录音（3–10 段，每段朗读一串数字，WAV/FLAC/OGG）"),
    }
    actions = {Modality.FACE: "console:face_enrol", Modality.VOICE: "console:voice_enrol"}
    return [
        {
            "modality": modality.value,
            "label": modality.label,
            "template": held.templates.get(modality.value),
            "consent": modality.value in held.consents,
            "hint": hints[modality],
            "action": reverse(actions[modality], args=[person.pk]),
        }
        for modality in Modality
    ]


@login_required
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    """Show a person with masked identity and their residencies."""
    person = selectors.get_person(console_actor(request), person_id)
    return person_page(request, person)


@login_required
@require_POST
def person_reveal(request: HttpRequest, person_id: int) -> HttpResponse:
    """Reveal a person's full ID number and phone once (needs ``person.reveal``; audited)."""
    actor = console_actor(request)
    person = selectors.get_person(actor, person_id)
    revealed = actions.do_reveal_identity(actor, person)
    return no_store(person_page(request, person, revealed))


@login_required
def person_photo(request: HttpRequest, person_id: int) -> HttpResponse:
    """Send a person's photo; each read is audited and never cached."""
    actor = console_actor(request)
    person = selectors.get_person(actor, person_id)
    data, content_type = actions.do_read_photo(actor, person)
    response = HttpResponse(data, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    return no_store(response)


def _population_listing(request: HttpRequest) -> components.ListPage:
    return components.ListPage(
        request, filters=[components.Filter("kind", _("变动类型"), ChangeKind.choices)]
    )


@login_required
def population_changes(request: HttpRequest) -> HttpResponse:
    """List the current community's population changes (人口动态), newest first."""
    actor = console_actor(request)
    require_somewhere(actor, "population.view")
    listing = _population_listing(request)
    listing.paginate(
        selectors.list_population_changes(
            actor, community_id=current_community_id(request), kind=listing.value("kind")
        )
    )
    return render(request, "console/people/population.html", {"listing": listing})


def _label(choices: Any) -> Any:
    def to_cell(value: str) -> str:
        try:
            return str(choices(value).label)
        except ValueError:
            return value

    return to_cell


def _room_label(change: PopulationChange) -> str:
    room = change.room
    if room is None:
        return ""
    return _("%(building)s号楼%(unit)s单元%(room)s室") % {
        "building": room.unit.building.number,
        "unit": room.unit.number,
        "room": room.number,
    }


POPULATION_SHEET = Sheet(
    name=gettext_lazy("人口动态"),
    name_en="Population changes",
    columns=(
        Column("occurred_on", gettext_lazy("发生日期"), "Date", kind=Kind.DATE),
        Column("kind", gettext_lazy("变动类型"), "Change", to_cell=_label(ChangeKind)),
        Column("name", gettext_lazy("姓名"), "Name"),
        Column("id_number", gettext_lazy("证件号码（脱敏）"), "ID number (masked)", width=22),
        Column("room", gettext_lazy("房屋"), "Room", width=18),
        Column("source", gettext_lazy("来源"), "Source", to_cell=_label(ChangeSource)),
        Column("actor", gettext_lazy("经办人"), "Entered by"),
        Column("recorded_at", gettext_lazy("记录时间"), "Recorded at", width=20),
    ),
)


@login_required
def population_export(request: HttpRequest) -> HttpResponse:
    """Download the current community's population changes (current filters) as xlsx.

    Identity numbers are masked as on the page; needs ``population.view``.
    """
    actor = console_actor(request)
    require_somewhere(actor, "population.view")
    community_id = current_community_id(request)
    if community_id is None:
        raise errors.NotFound()
    community = place_selectors.get_community(actor, community_id, perm="population.view")
    listing = _population_listing(request)
    changes = selectors.list_population_changes(
        actor, community_id=community.pk, kind=listing.value("kind")
    )

    written = 0

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal written
        for change in changes.iterator(chunk_size=2000):
            written += 1
            yield {
                "occurred_on": change.occurred_on,
                "kind": change.kind,
                "name": change.person.name,
                "id_number": change.person.id_number_masked,
                "room": _room_label(change),
                "source": change.source,
                "actor": change.actor_label,
                "recorded_at": formats.date_format(
                    timezone.localtime(change.recorded_at), "Y-m-d H:i:s"
                ),
            }

    language = translation.get_language() or "zh-hans"
    data = write_xlsx(POPULATION_SHEET, rows(), language=language)
    actions.do_record_export(
        actor,
        community.pk,
        "population_changes",
        rows=written,
        filters={"kind": listing.value("kind")},
    )
    name = f"{community.code}-{_('人口动态')}-{timezone.localdate():%Y%m%d}.xlsx"
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return no_store(response)


def _month_label(month: Any) -> str:
    return _("%(year)d年%(month)d月") % {"year": month.year, "month": month.month}


@login_required
def population_stats(request: HttpRequest) -> HttpResponse:
    """Show the current community's population statistics (人口统计) as charts and tables."""
    actor = console_actor(request)
    require_somewhere(actor, "person.view")
    community_id = current_community_id(request)
    if community_id is None:
        return render(request, "console/people/stats.html", {"community": None})
    community = place_selectors.get_community(actor, community_id, perm="person.view")
    figures = stats.population_stats(actor, community.pk, today=timezone.localdate())
    person = _("人")
    charts = [
        components.donut_chart(
            _("户籍类别"), figures.by_category, unit=person, caption=_("在住人口")
        ),
        components.bar_chart(_("年龄段"), figures.by_age, unit=person),
        components.donut_chart(_("性别"), figures.by_sex, unit=person, caption=_("在住人口")),
        components.donut_chart(
            _("居住关系"), figures.by_relation, unit=person, caption=_("在住人口")
        ),
        components.bar_chart(_("各楼栋住户"), figures.by_building, unit=person),
    ]
    if figures.by_care is not None:
        charts.append(components.bar_chart(_("重点关爱对象"), figures.by_care, unit=person))
    months = None
    if figures.months is not None:
        months = components.line_chart(
            _("近 12 个月人口变动"),
            [(f"{m.month:%Y-%m}", m.total) for m in figures.months],
            unit=_("次"),
        )
    return render(
        request,
        "console/people/stats.html",
        {
            "community": community,
            "figures": figures,
            "charts": charts,
            "months_chart": months,
            "months": [(_month_label(m.month), m) for m in figures.months or []],
        },
    )


@login_required
def tenancy_list(request: HttpRequest) -> HttpResponse:
    """List the current community's rental registrations (出租屋) by lease state."""
    actor = console_actor(request)
    require_somewhere(actor, "person.view")
    community_id = current_community_id(request)
    days = components.lease_days()
    listing = components.ListPage(
        request,
        filters=[
            components.Filter(
                "state", _("状态"), browse.TenancyState.choices, empty_label=_("全部登记")
            )
        ],
    )
    listing.paginate(
        browse.list_tenancies(
            actor, community_id=community_id, state=listing.value("state"), today=days["today"]
        )
    )
    alerts = (
        browse.lease_alerts(actor, community_id, today=days["today"])
        if community_id is not None and actor.can("person.view", community_id)
        else None
    )
    return render(
        request,
        "console/tenancies/list.html",
        {"listing": listing, "alerts": alerts, **days},
    )
