"""Population statistics of a community (人口统计), computed by the database.

Every figure is one aggregate query over the actor's scoped rows, so the page costs the
same handful of queries for 100 residents or 10,000. "Residents" are the people with a
running residency in the community, each counted once per group even if they live in
two rooms.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from linli.core.tenancy import Actor
from linli.people.browse import natural_key
from linli.people.choices import CareTag, ChangeKind, RegistrationCategory, Relation, Sex
from linli.people.models import CareRecord, PopulationChange, Residency

Rows = list[tuple[str, int]]

# Age bands (年龄段) as (first age, last age); ``None`` means no upper limit.
AGE_BANDS: tuple[tuple[int, int | None], ...] = ((0, 17), (18, 34), (35, 59), (60, 79), (80, None))
MONTHS = 12

_ARRIVALS = (ChangeKind.MOVE_IN, ChangeKind.TENANCY_START)
_DEPARTURES = (ChangeKind.MOVE_OUT, ChangeKind.TENANCY_END)


@dataclass(frozen=True)
class MonthChanges:
    """The population changes of one month: arrivals, departures and household changes."""

    month: dt.date
    arrivals: int
    departures: int
    household: int

    @property
    def total(self) -> int:
        """Return every change of the month."""
        return self.arrivals + self.departures + self.household


@dataclass(frozen=True)
class PopulationStats:
    """What the statistics page shows; ``None`` for the parts the actor may not see."""

    total: int
    by_category: Rows
    by_age: Rows
    by_sex: Rows
    by_building: Rows
    by_relation: Rows
    by_care: Rows | None
    months: list[MonthChanges] | None


def current_residencies(actor: Actor, community_id: int) -> QuerySet[Residency]:
    """Return the community's running residencies the actor may see (``person.view``)."""
    return (
        Residency.objects.restrict(actor, "person.view")
        .filter(community_id=community_id, date_to__isnull=True)
        .order_by()
    )


def years_before(day: dt.date, years: int) -> dt.date:
    """Return the same day ``years`` earlier (28 February for a 29th with no leap year)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def age_band_label(first: int, last: int | None) -> str:
    """Return a band's label, e.g. "18–34 岁" or "80 岁及以上"."""
    if last is None:
        return _("%(first)d 岁及以上") % {"first": first}
    return _("%(first)d–%(last)d 岁") % {"first": first, "last": last}


def _distinct_people(qs: QuerySet[Residency], field: str) -> dict[str, int]:
    """Count the distinct people per value of ``field``."""
    rows = qs.values_list(field).annotate(n=Count("person_id", distinct=True))
    return {key: n for key, n in rows}


def count_by_age(qs: QuerySet[Residency], today: dt.date) -> Rows:
    """Count residents per age band from their birth dates, in one query.

    A person is ``n`` years old from their ``n``-th birthday on, so the band 18–34 holds
    those born after the day 35 years ago and on or before the day 18 years ago.
    """
    filters: dict[str, Count] = {}
    labels = []
    for i, (first, last) in enumerate(AGE_BANDS):
        cond = Q(person__birth_date__lte=years_before(today, first))
        if last is not None:
            cond &= Q(person__birth_date__gt=years_before(today, last + 1))
        filters[f"band{i}"] = Count("person_id", distinct=True, filter=cond)
        labels.append(age_band_label(first, last))
    filters["unknown"] = Count(
        "person_id", distinct=True, filter=Q(person__birth_date__isnull=True)
    )
    counts = qs.aggregate(**filters)
    rows = [(label, counts[f"band{i}"] or 0) for i, label in enumerate(labels)]
    if counts["unknown"]:
        rows.append((_("出生日期不详"), counts["unknown"]))
    return rows


def count_by_building(qs: QuerySet[Residency]) -> Rows:
    """Count residents per building, buildings in natural number order."""
    rows = qs.values_list("room__unit__building__number", "room__unit__building__name").annotate(
        n=Count("person_id", distinct=True)
    )
    ordered = sorted(rows, key=lambda r: natural_key(r[0]))
    return [(name or _("%(number)s号楼") % {"number": number}, n) for number, name, n in ordered]


def count_care_tags(actor: Actor, community_id: int) -> Rows:
    """Count the people carrying each special-care tag (needs ``person.care_view``)."""
    counts = dict(
        CareRecord.objects.restrict(actor, "person.care_view")
        .filter(community_id=community_id)
        .order_by()
        .values_list("tag")
        .annotate(n=Count("person_id", distinct=True))
    )
    return [(str(tag.label), counts.get(tag.value, 0)) for tag in CareTag]


def month_starts(today: dt.date, months: int = MONTHS) -> list[dt.date]:
    """Return the first days of the last ``months`` months, oldest first, this one last."""
    out = []
    year, month = today.year, today.month
    for _i in range(months):
        out.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def changes_by_month(actor: Actor, community_id: int, today: dt.date) -> list[MonthChanges]:
    """Count the community's population changes per month over the last twelve months."""
    starts = month_starts(today)
    rows = (
        PopulationChange.objects.restrict(actor, "population.view")
        .filter(community_id=community_id, occurred_on__gte=starts[0], occurred_on__lte=today)
        .annotate(month=TruncMonth("occurred_on"))
        .order_by()
        .values_list("month", "kind")
        .annotate(n=Count("id"))
    )
    counts: dict[tuple[dt.date, str], int] = {}
    for month, kind, n in rows:
        day = month.date() if isinstance(month, dt.datetime) else month
        counts[(day, kind)] = counts.get((day, kind), 0) + n
    return [
        MonthChanges(
            month=start,
            arrivals=sum(counts.get((start, k), 0) for k in _ARRIVALS),
            departures=sum(counts.get((start, k), 0) for k in _DEPARTURES),
            household=counts.get((start, ChangeKind.HOUSEHOLD_CHANGE), 0),
        )
        for start in starts
    ]


def population_stats(actor: Actor, community_id: int, *, today: dt.date) -> PopulationStats:
    """Return the statistics of one community; ``actor`` must hold ``person.view`` on it.

    Care tags need ``person.care_view`` and the monthly changes ``population.view``; the
    parts the actor may not see are ``None``.
    """
    actor.require("person.view", community_id)
    qs = current_residencies(actor, community_id)
    total = qs.aggregate(n=Count("person_id", distinct=True))["n"] or 0
    category = _distinct_people(qs, "category")
    sex = _distinct_people(qs, "person__sex")
    relation = _distinct_people(qs, "relation")
    return PopulationStats(
        total=total,
        by_category=[(str(c.label), category.get(c.value, 0)) for c in RegistrationCategory],
        by_age=count_by_age(qs, today),
        by_sex=[(str(s.label), sex.get(s.value, 0)) for s in Sex],
        by_building=count_by_building(qs),
        by_relation=[(str(r.label), relation.get(r.value, 0)) for r in Relation],
        by_care=count_care_tags(actor, community_id)
        if actor.can("person.care_view", community_id)
        else None,
        months=changes_by_month(actor, community_id, today)
        if actor.can("population.view", community_id)
        else None,
    )
