"""Building blocks every console page reuses: list pages, detail fields, charts, maps.

A list view reads its search box and filters through :class:`ListPage`, passes the
values to a selector, and hands the queryset back to :meth:`ListPage.paginate`; the
template extends ``console/list.html``. A detail view describes an object with
:func:`describe`. Charts and maps are drawn by :mod:`linli.console.svg`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import models
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from linli.console import svg
from linli.people.browse import EXPIRY_DAYS, RoomNode
from linli.places.choices import RoomUse
from linli.places.models import Building, Community

PER_PAGE = 25
MAX_QUERY = 100  # longer search text is cut: nobody types that, and LIKE gets slow


# -- list pages ---------------------------------------------------------------------------


@dataclass
class Filter:
    """One filter control above a list: a select (with ``choices``) or a checkbox."""

    name: str
    label: Any
    choices: Sequence[tuple[str, Any]] = ()
    value: str = ""
    empty_label: Any = None  # the select's "no filter" option; "全部" if not given

    @property
    def is_checkbox(self) -> bool:
        """Say whether the filter is a yes/no checkbox."""
        return not self.choices

    @property
    def checked(self) -> bool:
        """Say whether a checkbox filter is on."""
        return self.value == "1"

    def read(self, raw: str) -> str:
        """Keep ``raw`` if it is an allowed value, else fall back to "no filter"."""
        if self.is_checkbox:
            return "1" if raw in {"1", "on", "true"} else ""
        allowed = {str(value) for value, _label in self.choices}
        return raw if raw in allowed else ""


class ListPage:
    """The state of one list page: search text, filter values, the current page."""

    page: Page[Any]

    def __init__(
        self,
        request: HttpRequest,
        *,
        search: Any = None,
        filters: Iterable[Filter] = (),
        per_page: int = PER_PAGE,
    ) -> None:
        self.request = request
        self.search_placeholder = search
        self.q = request.GET.get("q", "").strip()[:MAX_QUERY] if search is not None else ""
        self.filters = list(filters)
        for f in self.filters:
            f.value = f.read(request.GET.get(f.name, ""))
        self.per_page = per_page

    def value(self, name: str) -> str:
        """Return the validated value of the filter called ``name`` ("" if unset)."""
        return next((f.value for f in self.filters if f.name == name), "")

    @property
    def is_filtered(self) -> bool:
        """Say whether search text or any filter narrows the list."""
        return bool(self.q) or any(f.value for f in self.filters)

    def paginate(self, queryset: models.QuerySet[Any]) -> ListPage:
        """Take the page asked for (out-of-range numbers give the nearest page)."""
        paginator = Paginator(queryset, self.per_page)
        self.page = paginator.get_page(self.request.GET.get("page"))
        return self

    @property
    def total(self) -> int:
        """Return the number of rows on all pages."""
        return self.page.paginator.count

    @property
    def rows(self) -> Sequence[Any]:
        """Return the rows of the current page."""
        return list(self.page.object_list)

    @property
    def page_links(self) -> list[int | str]:
        """Return page numbers around the current one, with ``…`` for the gaps."""
        return list(
            self.page.paginator.get_elided_page_range(self.page.number, on_each_side=2, on_ends=1)
        )


# -- detail pages -------------------------------------------------------------------------


def display(value: Any) -> Any:
    """Return a value as a page shows it: dates as ``Y-m-d``, yes/no in words, ``None`` blank."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, dt.datetime):
        return formats.date_format(timezone.localtime(value), "Y-m-d H:i:s")
    if isinstance(value, dt.date):
        return formats.date_format(value, "Y-m-d")
    return value


def describe(obj: models.Model, names: Iterable[str]) -> list[tuple[Any, Any]]:
    """Return ``(verbose name, display value)`` for fields of ``obj``, choices as labels."""
    out = []
    for name in names:
        f = obj._meta.get_field(name)
        choices = getattr(f, "choices", None)
        value = getattr(obj, f"get_{name}_display")() if choices else getattr(obj, name)
        out.append((getattr(f, "verbose_name", name), display(value)))
    return out


@dataclass(frozen=True)
class Change:
    """One changed field of an audit row."""

    field: str
    before: str
    after: str


def pretty_json(value: Any) -> str:
    """Format JSON for reading: indented, but a ``[lon, lat]`` pair kept on one line."""
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return re.sub(r"\[\s+(-?[\d.eE+-]+),\s+(-?[\d.eE+-]+)\s+\]", r"[\1, \2]", text)


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return pretty_json(value)
    return str(value)


def change_rows(changes: Any) -> list[Change]:
    """Return an audit row's changes as ``before``/``after`` text per field."""
    if not isinstance(changes, dict):
        return [Change("", "", _show(changes))] if changes else []
    out = []
    for name, pair in sorted(changes.items()):
        if isinstance(pair, list | tuple) and len(pair) == 2:
            out.append(Change(str(name), _show(pair[0]), _show(pair[1])))
        else:
            out.append(Change(str(name), "", _show(pair)))
    return out


def lease_days(today: dt.date | None = None) -> dict[str, dt.date]:
    """Return ``today`` and ``soon`` (30 days on) for ``console/tenancies/state.html``."""
    day = today or timezone.localdate()
    return {"today": day, "soon": day + dt.timedelta(days=EXPIRY_DAYS)}


# -- rooms --------------------------------------------------------------------------------

# Bootstrap badge classes per room use (console/components/room_use.html draws the same).
ROOM_USE_BADGES: dict[str, str] = {
    RoomUse.RESIDENTIAL: "text-bg-light border",
    RoomUse.COMMERCIAL: "text-bg-warning",
    RoomUse.RENTAL: "text-bg-info",
    RoomUse.VACANT: "text-bg-secondary",
}


def room_tile(url: str, node: RoomNode, use_labels: dict[str, str]) -> SafeString:
    """Return one room of the community tree: its number, use badge and residents, a link."""
    room = node.room
    residents = node.residents
    count = (
        format_html(
            '<span class="badge {}" data-count="residents" title="{}">{}</span>',
            "text-bg-primary" if residents else "text-bg-light border",
            _("在住人数"),
            residents,
        )
        if residents is not None
        else ""
    )
    return format_html(
        '<a class="btn btn-sm {} d-inline-flex align-items-center gap-1 linli-room" href="{}" '
        'data-room="{}"><span class="fw-semibold">{}</span>'
        '<span class="badge rounded-pill {}" data-use="{}">{}</span>{}</a>',
        "btn-outline-primary" if residents else "btn-outline-secondary",
        url,
        room.number,
        room.number,
        ROOM_USE_BADGES.get(room.use, "text-bg-light border"),
        room.use,
        use_labels.get(room.use, room.use),
        count,
    )


def room_floors(
    rooms: Iterable[RoomNode], url_of: Callable[[int], str]
) -> list[tuple[int, SafeString]]:
    """Group a unit's rooms by floor (in the given order), each floor's tiles drawn as HTML.

    Drawn here rather than in the template: a community of thousands of rooms spends
    most of a second in per-room template nodes, and a few milliseconds here.
    """
    labels = {use.value: str(use.label) for use in RoomUse}
    floors: list[tuple[int, list[SafeString]]] = []
    for node in rooms:
        tile = room_tile(url_of(node.room.pk), node, labels)
        if floors and floors[-1][0] == node.room.floor:
            floors[-1][1].append(tile)
        else:
            floors.append((node.room.floor, [tile]))
    return [(floor, SafeString("".join(tiles))) for floor, tiles in floors]


# -- charts and maps ----------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """A chart ready for ``console/components/chart.html``: its SVG and its data table."""

    title: str
    svg: SafeString
    rows: list[tuple[str, float]]
    unit: str = ""

    @property
    def is_empty(self) -> bool:
        """Say whether there is nothing but zeros to draw."""
        return not any(value for _, value in self.rows)

    @property
    def table(self) -> list[tuple[str, str]]:
        """Return the rows with their values formatted as on the chart."""
        return [(label, svg.fmt_value(value)) for label, value in self.rows]


def bar_chart(title: str, rows: Sequence[tuple[str, float]], *, unit: str = "") -> Chart:
    """Return a horizontal bar chart component."""
    data = list(rows)
    return Chart(title, svg.bar_chart(data, label=title, unit=unit), data, unit)


def donut_chart(
    title: str, rows: Sequence[tuple[str, float]], *, unit: str = "", caption: str = ""
) -> Chart:
    """Return a donut chart component with the total in the middle."""
    data = list(rows)
    return Chart(title, svg.donut_chart(data, label=title, unit=unit, caption=caption), data, unit)


def line_chart(title: str, rows: Sequence[tuple[str, float]], *, unit: str = "") -> Chart:
    """Return a line chart component."""
    data = list(rows)
    return Chart(title, svg.line_chart(data, label=title, unit=unit), data, unit)


def building_label(building: Building) -> str:
    """Return a building's short name for maps and tables (its name, else "N号楼")."""
    return building.name or _("%(number)s号楼") % {"number": building.number}


@dataclass
class MapView:
    """A community map ready for ``console/components/map.html``."""

    title: str
    svg: SafeString
    buildings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """Say whether nothing had geometry to draw."""
        return not self.svg


def community_map(
    community: Community,
    buildings: Iterable[Building],
    residents: dict[int, int] | None = None,
    *,
    width: float = 640,
) -> MapView:
    """Draw a community's boundary and its buildings, with counts in the hover text.

    ``buildings`` should carry ``unit_count`` and ``room_count`` (as from
    :func:`linli.places.selectors.list_buildings`); ``residents`` maps building ids to
    the people living there.
    """
    shapes = []
    rows = []
    for b in buildings:
        parts = [building_label(b)]
        units = getattr(b, "unit_count", None)
        rooms = getattr(b, "room_count", None)
        if units is not None:
            parts.append(ngettext("%(n)d 个单元", "%(n)d 个单元", units) % {"n": units})
        if rooms is not None:
            parts.append(ngettext("%(n)d 套房屋", "%(n)d 套房屋", rooms) % {"n": rooms})
        if residents is not None:
            n = residents.get(b.pk, 0)
            parts.append(ngettext("%(n)d 位住户", "%(n)d 位住户", n) % {"n": n})
        title = " · ".join(parts)
        rows.append((building_label(b), title))
        shapes.append(svg.Shape(b.footprint, label=building_label(b), title=title))
    heading = _("%(name)s 平面图") % {"name": community.name}
    drawing = svg.community_map(
        community.boundary, shapes, label=heading, boundary_title=community.name, width=width
    )
    return MapView(heading, drawing, rows)
