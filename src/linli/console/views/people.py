"""Console pages of people: the register (masked) and a person's record."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.console import components
from linli.console.context import current_community_id
from linli.console.views.common import console_actor, no_store, require_somewhere
from linli.people import actions, selectors
from linli.people.choices import ChangeKind
from linli.people.models import Person
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


def _person_page(
    request: HttpRequest, person: Person, revealed: dict[str, str] | None = None
) -> HttpResponse:
    actor = console_actor(request)
    visible = selectors.person_communities(actor, person)
    current = current_community_id(request)
    community = place_selectors.get_community(actor, current if current in visible else visible[0])
    return render(
        request,
        "console/people/detail.html",
        {
            "person": person,
            "community": community,
            "fields": components.describe(person, PERSON_FIELDS),
            "residencies": selectors.list_residencies(actor, person_id=person.pk),
            "can_reveal": bool(selectors.person_communities(actor, person, "person.reveal")),
            "revealed": revealed,
        },
    )


@login_required
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    """Show a person with masked identity and their residencies."""
    person = selectors.get_person(console_actor(request), person_id)
    return _person_page(request, person)


@login_required
@require_POST
def person_reveal(request: HttpRequest, person_id: int) -> HttpResponse:
    """Reveal a person's full ID number and phone once (needs ``person.reveal``; audited)."""
    actor = console_actor(request)
    person = selectors.get_person(actor, person_id)
    revealed = actions.do_reveal_identity(actor, person)
    return no_store(_person_page(request, person, revealed))


@login_required
def population_changes(request: HttpRequest) -> HttpResponse:
    """List the current community's population changes (人口动态), newest first."""
    actor = console_actor(request)
    require_somewhere(actor, "population.view")
    listing = components.ListPage(
        request, filters=[components.Filter("kind", _("变动类型"), ChangeKind.choices)]
    )
    listing.paginate(
        selectors.list_population_changes(
            actor, community_id=current_community_id(request), kind=listing.value("kind")
        )
    )
    return render(request, "console/people/population.html", {"listing": listing})
