"""Server-side SVG: bar, donut and line charts, and the community map.

Plain Python, no chart library and no JavaScript: each function returns one ``<svg>``
element that the console inlines into a page. Every piece of text that reaches the
output (labels, titles, hover text) goes through :func:`esc`, so a building called
``<script>`` is drawn, not run. Callers pass already-translated text.

Charts and the map carry ``role="img"`` and an ``aria-label``; each mark carries a
``<title>`` that browsers show on hover and screen readers read.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from linli.places.geometry import outer_rings

# Colours that stay distinguishable for the common colour-vision deficiencies
# (the Okabe-Ito set), starting with Bootstrap's primary blue.
PALETTE = (
    "#0d6efd",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#f0e442",
    "#6c757d",
)
TEXT = "#495057"
MUTED = "#adb5bd"
GRID = "#e9ecef"
FONT = "system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"
METRES_PER_DEGREE = 111_320.0

Series = Sequence[tuple[str, float]]


def esc(text: object) -> str:
    """Escape text for use in SVG content and attribute values."""
    return html.escape(str(text), quote=True)


def num(value: float) -> str:
    """Format a coordinate compactly: one decimal, no trailing ``.0``."""
    out = f"{value:.1f}"
    if out.endswith(".0"):
        out = out[:-2]
    return "0" if out == "-0" else out


def fmt_value(value: float) -> str:
    """Format a data value: integers without decimals, others with up to two."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def text_width(text: str, size: float) -> float:
    """Estimate the drawn width of ``text``: wide (CJK) characters count double."""
    units = sum(1.0 if ord(ch) > 0x2E80 else 0.58 for ch in text)
    return units * size


def clip(text: str, size: float, room: float) -> str:
    """Shorten ``text`` with an ellipsis until it fits in ``room`` units."""
    if text_width(text, size) <= room:
        return text
    while text and text_width(text + "…", size) > room:
        text = text[:-1]
    return text + "…"


def nice_ticks(maximum: float, count: int = 5) -> list[float]:
    """Return evenly spaced round tick values from 0 to at least ``maximum``."""
    if maximum <= 0 or not math.isfinite(maximum):
        return [0.0, 1.0]
    raw = maximum / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if maximum >= 1 and step < 1:
        step = 1.0
    ticks = [0.0]
    while ticks[-1] < maximum - 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _svg(width: float, height: float, label: str, body: Iterable[str], css: str) -> SafeString:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{esc(css)}" '
        f'viewBox="0 0 {num(width)} {num(height)}" width="{num(width)}" height="{num(height)}" '
        f'role="img" aria-label="{esc(label)}" font-family="{esc(FONT)}">',
        f"<title>{esc(label)}</title>",
        *body,
        "</svg>",
    ]
    # Safe: every caller-supplied string above and in ``body`` went through ``esc``.
    return mark_safe("".join(parts))  # noqa: S308


def _clean(data: Series) -> list[tuple[str, float]]:
    """Return the rows with finite, non-negative values (counts and amounts)."""
    out = []
    for label, value in data:
        v = float(value)
        out.append((str(label), v if math.isfinite(v) and v > 0 else 0.0))
    return out


# -- bar chart ----------------------------------------------------------------------------


def bar_chart(
    data: Series,
    *,
    label: str,
    unit: str = "",
    width: float = 480,
    bar_height: float = 22,
    gap: float = 10,
) -> SafeString:
    """Draw a horizontal bar chart of ``(label, value)`` rows with a value axis.

    Bars are proportional to their values on a scale starting at zero; each bar shows
    its value and has a ``<title>`` with label, value and ``unit``.
    """
    rows = _clean(data)
    size = 12.0
    label_room = min(width * 0.3, max([40.0] + [text_width(name, size) + 8 for name, _ in rows]))
    left, right, top, axis = label_room + 8, 48.0, 8.0, 26.0
    plot = width - left - right
    ticks = nice_ticks(max((v for _, v in rows), default=0.0))
    scale = plot / ticks[-1]
    height = top + len(rows) * (bar_height + gap) + axis
    base = top + len(rows) * (bar_height + gap)
    body = []
    for tick in ticks:
        x = left + tick * scale
        body.append(
            f'<line x1="{num(x)}" y1="{num(top - 4)}" x2="{num(x)}" y2="{num(base)}" '
            f'stroke="{GRID}" class="grid"/>'
            f'<text x="{num(x)}" y="{num(base + 16)}" font-size="11" fill="{TEXT}" '
            f'text-anchor="middle" class="tick">{esc(fmt_value(tick))}</text>'
        )
    body.append(
        f'<line x1="{num(left)}" y1="{num(top - 4)}" x2="{num(left)}" y2="{num(base)}" '
        f'stroke="{MUTED}" class="axis"/>'
    )
    for i, (name, value) in enumerate(rows):
        y = top + i * (bar_height + gap) + gap / 2
        w = value * scale
        middle = y + bar_height / 2 + size * 0.35
        tip = f"{name}: {fmt_value(value)}{(' ' + unit) if unit else ''}"
        body.append(
            f'<g class="bar"><title>{esc(tip)}</title>'
            f'<text x="{num(left - 8)}" y="{num(middle)}" font-size="{num(size)}" '
            f'fill="{TEXT}" text-anchor="end" class="label">{esc(clip(name, size, label_room))}'
            "</text>"
            f'<rect x="{num(left)}" y="{num(y)}" width="{num(w)}" height="{num(bar_height)}" '
            f'rx="2" fill="{PALETTE[0]}" data-value="{esc(fmt_value(value))}"/>'
            f'<text x="{num(left + w + 5)}" y="{num(middle)}" font-size="{num(size)}" '
            f'fill="{TEXT}" class="value">{esc(fmt_value(value))}</text></g>'
        )
    if unit:
        body.append(
            f'<text x="{num(width - 4)}" y="{num(base + 16)}" font-size="11" fill="{TEXT}" '
            f'text-anchor="end" class="unit">{esc(unit)}</text>'
        )
    return _svg(width, height, label, body, "linli-bar-chart")


# -- donut chart --------------------------------------------------------------------------


def _point(cx: float, cy: float, r: float, turn: float) -> tuple[float, float]:
    """Return the point at ``turn`` (0..1, clockwise from twelve o'clock) on a circle."""
    angle = 2 * math.pi * turn - math.pi / 2
    return cx + r * math.cos(angle), cy + r * math.sin(angle)


def _ring_path(cx: float, cy: float, outer: float, inner: float, start: float, end: float) -> str:
    if end - start >= 0.99999:  # a whole ring: two circles, the inner one a hole
        return (
            f"M{num(cx - outer)},{num(cy)}A{num(outer)},{num(outer)} 0 1 1 {num(cx + outer)},"
            f"{num(cy)}A{num(outer)},{num(outer)} 0 1 1 {num(cx - outer)},{num(cy)}Z"
            f"M{num(cx - inner)},{num(cy)}A{num(inner)},{num(inner)} 0 1 0 {num(cx + inner)},"
            f"{num(cy)}A{num(inner)},{num(inner)} 0 1 0 {num(cx - inner)},{num(cy)}Z"
        )
    large = 1 if end - start > 0.5 else 0
    x1, y1 = _point(cx, cy, outer, start)
    x2, y2 = _point(cx, cy, outer, end)
    x3, y3 = _point(cx, cy, inner, end)
    x4, y4 = _point(cx, cy, inner, start)
    return (
        f"M{num(x1)},{num(y1)}A{num(outer)},{num(outer)} 0 {large} 1 {num(x2)},{num(y2)}"
        f"L{num(x3)},{num(y3)}A{num(inner)},{num(inner)} 0 {large} 0 {num(x4)},{num(y4)}Z"
    )


def donut_chart(
    data: Series, *, label: str, unit: str = "", caption: str = "", size: float = 180
) -> SafeString:
    """Draw a donut of ``(label, value)`` shares with the total inside and a legend beside.

    Slices follow the rows' order clockwise from twelve o'clock; rows of zero are listed
    in the legend but draw no slice.
    """
    rows = _clean(data)
    total = sum(v for _, v in rows)
    cx = cy = size / 2
    outer, inner = size / 2 - 4, size / 2 * 0.58
    legend_x, row_h = size + 20, 24.0
    width = legend_x + 220
    height = max(size, 12 + len(rows) * row_h)
    body = []
    if total <= 0:
        body.append(
            f'<path d="{_ring_path(cx, cy, outer, inner, 0, 1)}" fill="{GRID}" '
            'fill-rule="evenodd" class="empty"/>'
        )
    start = 0.0
    for i, (name, value) in enumerate(rows):
        share = value / total if total else 0.0
        tip = f"{name}: {fmt_value(value)}{(' ' + unit) if unit else ''} ({share:.0%})"
        colour = PALETTE[i % len(PALETTE)]
        if value > 0:
            body.append(
                f'<path d="{_ring_path(cx, cy, outer, inner, start, start + share)}" '
                f'fill="{colour}" fill-rule="evenodd" stroke="#fff" stroke-width="1" '
                f'class="slice" data-value="{esc(fmt_value(value))}"><title>{esc(tip)}</title>'
                "</path>"
            )
        start += share
        y = 12 + i * row_h
        body.append(
            f'<g class="legend"><title>{esc(tip)}</title>'
            f'<rect x="{num(legend_x)}" y="{num(y)}" width="12" height="12" rx="2" '
            f'fill="{colour}"/>'
            f'<text x="{num(legend_x + 18)}" y="{num(y + 10.5)}" font-size="12" fill="{TEXT}">'
            f"{esc(clip(name, 12, 120))}</text>"
            f'<text x="{num(width - 4)}" y="{num(y + 10.5)}" font-size="12" fill="{TEXT}" '
            f'text-anchor="end">{esc(fmt_value(value))} · {share:.0%}</text></g>'
        )
    body.append(
        f'<text x="{num(cx)}" y="{num(cy + (2 if caption else 8))}" font-size="22" '
        f'font-weight="600" fill="{TEXT}" text-anchor="middle" class="total">'
        f"{esc(fmt_value(total))}</text>"
    )
    if caption:
        body.append(
            f'<text x="{num(cx)}" y="{num(cy + 20)}" font-size="12" fill="{TEXT}" '
            f'text-anchor="middle" class="caption">{esc(caption)}</text>'
        )
    return _svg(width, height, label, body, "linli-donut-chart")


# -- line chart ---------------------------------------------------------------------------


def line_chart(
    data: Series, *, label: str, unit: str = "", width: float = 640, height: float = 240
) -> SafeString:
    """Draw a line over ``(label, value)`` points spaced evenly, with both axes labelled."""
    rows = _clean(data)
    left, right, top, bottom = 44.0, 28.0, 22.0, 28.0
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = nice_ticks(max((v for _, v in rows), default=0.0), 4)
    scale = plot_h / ticks[-1]
    step = plot_w / max(1, len(rows) - 1)
    body = []
    for tick in ticks:
        y = top + plot_h - tick * scale
        body.append(
            f'<line x1="{num(left)}" y1="{num(y)}" x2="{num(width - right)}" y2="{num(y)}" '
            f'stroke="{GRID}" class="grid"/>'
            f'<text x="{num(left - 6)}" y="{num(y + 4)}" font-size="11" fill="{TEXT}" '
            f'text-anchor="end" class="tick">{esc(fmt_value(tick))}</text>'
        )
    points = [
        (left + i * step if len(rows) > 1 else left + plot_w / 2, top + plot_h - v * scale)
        for i, (_, v) in enumerate(rows)
    ]
    if points:
        line = " ".join(f"{num(x)},{num(y)}" for x, y in points)
        base = num(top + plot_h)
        body.append(
            f'<polygon points="{num(points[0][0])},{base} {line} {num(points[-1][0])},{base}" '
            f'fill="{PALETTE[0]}" fill-opacity="0.12" class="area"/>'
            f'<polyline points="{line}" fill="none" stroke="{PALETTE[0]}" stroke-width="2" '
            'class="line"/>'
        )
    every = max(1, math.ceil(len(rows) * 48 / plot_w))  # keep x labels from overlapping
    for i, ((name, value), (x, y)) in enumerate(zip(rows, points, strict=True)):
        tip = f"{name}: {fmt_value(value)}{(' ' + unit) if unit else ''}"
        body.append(
            f'<circle cx="{num(x)}" cy="{num(y)}" r="3.5" fill="{PALETTE[0]}" class="point" '
            f'data-value="{esc(fmt_value(value))}"><title>{esc(tip)}</title></circle>'
        )
        if i % every == 0:
            body.append(
                f'<text x="{num(x)}" y="{num(height - 10)}" font-size="11" fill="{TEXT}" '
                f'text-anchor="middle" class="label">{esc(clip(name, 11, 48 * every))}</text>'
            )
    if unit:
        body.append(
            f'<text x="{num(left - 6)}" y="{num(top - 10)}" font-size="11" fill="{TEXT}" '
            f'text-anchor="end" class="unit">{esc(unit)}</text>'
        )
    return _svg(width, height, label, body, "linli-line-chart")


# -- community map ------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """One area to draw on a map: a GeoJSON Polygon/MultiPolygon with a label and hover text."""

    area: dict[str, Any] | None
    label: str = ""
    title: str = ""
    kind: str = "footprint"


@dataclass(frozen=True)
class Projection:
    """Equirectangular projection of lon/lat onto a viewBox, north up, metres kept square.

    Longitudes are multiplied by cos(latitude) at the middle of the drawing so a square
    building stays square; the result is scaled to fit ``width`` x ``height`` inside
    ``padding`` and centred; y grows downwards as in SVG.
    """

    min_x: float
    max_y: float
    kx: float
    scale: float
    offset_x: float
    offset_y: float

    @classmethod
    def fit(
        cls,
        points: Sequence[tuple[float, float]],
        *,
        width: float,
        height: float,
        padding: float,
    ) -> Projection:
        """Return the projection fitting ``points`` (lon, lat) into the box."""
        lons = [p[0] for p in points]
        lats = [p[1] for p in points]
        kx = math.cos(math.radians((min(lats) + max(lats)) / 2))
        min_x, max_x = min(lons) * kx, max(lons) * kx
        span_x = max(max_x - min_x, 1e-9)
        span_y = max(max(lats) - min(lats), 1e-9)
        scale = min((width - 2 * padding) / span_x, (height - 2 * padding) / span_y)
        return cls(
            min_x=min_x,
            max_y=max(lats),
            kx=kx,
            scale=scale,
            offset_x=(width - span_x * scale) / 2,
            offset_y=(height - span_y * scale) / 2,
        )

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        """Return the viewBox point of ``(lon, lat)``."""
        return (
            self.offset_x + (lon * self.kx - self.min_x) * self.scale,
            self.offset_y + (self.max_y - lat) * self.scale,
        )

    @property
    def metres_per_unit(self) -> float:
        """Return how many metres one viewBox unit spans."""
        return METRES_PER_DEGREE / self.scale


def _rings_of(area: dict[str, Any] | None) -> list[list[tuple[float, float]]]:
    out = []
    for ring in outer_rings(area):
        points = [(float(p[0]), float(p[1])) for p in ring]
        if points:
            out.append(points)
    return out


def _centroid(ring: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Return the area centroid of a closed ring (its vertex mean if it has no area)."""
    # Work relative to the first vertex: raw degrees (120.13 x 30.27) would cancel out
    # the tiny cross products of a building-sized ring.
    ox, oy = ring[0]
    a = cx = cy = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(ring):
        x0, y0, x1, y1 = x0 - ox, y0 - oy, x1 - ox, y1 - oy
        cross = x0 * y1 - x1 * y0
        a += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(a) < 1e-18:
        return sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring)
    return ox + cx / (3 * a), oy + cy / (3 * a)


def _scale_bar_metres(metres_per_unit: float, room: float) -> float:
    """Return a round length in metres whose bar fits in ``room`` viewBox units."""
    best = 1.0
    for exponent in range(0, 6):
        for m in (1, 2, 5):
            length = m * 10.0**exponent
            if length / metres_per_unit <= room:
                best = length
    return best


def community_map(
    boundary: dict[str, Any] | None,
    shapes: Sequence[Shape],
    *,
    label: str,
    boundary_title: str = "",
    width: float = 640,
    max_height: float = 420,
    padding: float = 28,
) -> SafeString:
    """Draw a community's boundary and building footprints; ``""`` if nothing has geometry.

    The height follows the drawing's shape (between a third and ``max_height``) so a
    wide community does not float in empty space.
    """
    boundary_rings = _rings_of(boundary)
    shape_rings = [(shape, _rings_of(shape.area)) for shape in shapes]
    points = [p for ring in boundary_rings for p in ring] + [
        p for _, rings in shape_rings for ring in rings for p in ring
    ]
    if not points:
        return mark_safe("")
    probe = Projection.fit(points, width=width, height=max_height, padding=padding)
    drawn_h = (max(p[1] for p in points) - min(p[1] for p in points)) * probe.scale
    height = min(max_height, max(width / 3, drawn_h + 2 * padding))
    project = Projection.fit(points, width=width, height=height, padding=padding)

    def path(rings: list[list[tuple[float, float]]]) -> str:
        return "".join(
            "M" + "L".join(f"{num(x)},{num(y)}" for x, y in (project(*p) for p in ring)) + "Z"
            for ring in rings
        )

    body = [f'<rect width="{num(width)}" height="{num(height)}" fill="#f8f9fa" class="ground"/>']
    if boundary_rings:
        body.append(
            f'<path d="{path(boundary_rings)}" class="boundary" fill="#cfe2ff" '
            f'fill-opacity="0.6" stroke="{PALETTE[0]}" stroke-width="2" stroke-linejoin="round">'
            + (f"<title>{esc(boundary_title)}</title>" if boundary_title else "")
            + "</path>"
        )
    labels = []
    for shape, rings in shape_rings:
        if not rings:
            continue
        tip = shape.title or shape.label
        body.append(
            f'<path d="{path(rings)}" class="{esc(shape.kind)}" fill="#dee2e6" '
            f'stroke="#6c757d" stroke-width="1" stroke-linejoin="round">'
            + (f"<title>{esc(tip)}</title>" if tip else "")
            + "</path>"
        )
        if shape.label:
            biggest = max(rings, key=len)
            x, y = project(*_centroid(biggest))
            labels.append(
                f'<text x="{num(x)}" y="{num(y + 4)}" font-size="11" fill="#212529" '
                'text-anchor="middle" stroke="#fff" stroke-width="3" paint-order="stroke" '
                f'pointer-events="none" class="map-label">{esc(shape.label)}</text>'
            )
    body.extend(labels)
    # Scale bar (bottom left) and north arrow (top right).
    metres = _scale_bar_metres(project.metres_per_unit, width / 4)
    bar = metres / project.metres_per_unit
    y = height - 12
    body.append(
        f'<g class="scale-bar"><path d="M12,{num(y - 5)}V{num(y)}H{num(12 + bar)}V{num(y - 5)}" '
        f'fill="none" stroke="{TEXT}" stroke-width="1.5"/>'
        f'<text x="{num(12 + bar + 5)}" y="{num(y)}" font-size="11" fill="{TEXT}">'
        f"{esc(fmt_value(metres))} m</text></g>"
        f'<g class="north" transform="translate({num(width - 14)},10)">'
        f'<path d="M0,0L6,16L0,12L-6,16Z" fill="{TEXT}"/>'
        f'<text y="28" font-size="10" fill="{TEXT}" text-anchor="middle">N</text></g>'
    )
    return _svg(width, height, label, body, "linli-map")
