"""The server-side SVG renderer: charts and the community map."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET

import pytest

from linli.console import svg
from linli.places.geometry import rectangle

pytestmark = pytest.mark.db_independent

NS = {"s": "http://www.w3.org/2000/svg"}
ORIGIN = (120.13, 30.27)


def parse(markup: str) -> ET.Element:
    """Parse the SVG (which proves it is well-formed XML)."""
    return ET.fromstring(markup)  # noqa: S314  (our own output)


def view_box(root: ET.Element) -> tuple[float, float]:
    _, _, w, h = (float(v) for v in root.attrib["viewBox"].split())
    return w, h


def path_points(d: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"(-?[\d.]+),(-?[\d.]+)", d)]


# -- shared ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("maximum", "expected_top"), [(0, 1), (7, 8), (30, 30), (31, 40), (1234, 1250), (0.3, 0.3)]
)
def test_ticks_are_round_and_cover_the_maximum(maximum: float, expected_top: float) -> None:
    ticks = svg.nice_ticks(maximum)
    assert ticks[0] == 0 and ticks[-1] == pytest.approx(expected_top)
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1, "evenly spaced"


def test_counts_never_get_fractional_ticks() -> None:
    assert svg.nice_ticks(3) == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "draw",
    [
        lambda data: svg.bar_chart(data, label="住户 <图>", unit="人"),
        lambda data: svg.donut_chart(data, label="住户 <图>", unit="人", caption="合计"),
        lambda data: svg.line_chart(data, label="住户 <图>", unit="人"),
    ],
)
def test_charts_are_accessible_and_escape_text(draw) -> None:  # type: ignore[no-untyped-def]
    markup = str(draw([("<script>alert(1)</script>", 3), ('A & "B"', 5)]))
    root = parse(markup)
    assert root.attrib["role"] == "img" and root.attrib["aria-label"] == "住户 <图>"
    assert root.find("s:title", NS).text == "住户 <图>"  # type: ignore[union-attr]
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert "&amp;" in markup
    titles = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert any(t.startswith('A & "B": 5 人') for t in titles), titles


# -- bar chart ------------------------------------------------------------------------------


def test_bars_are_proportional_to_values() -> None:
    root = parse(svg.bar_chart([("一", 10), ("二", 25), ("三", 0), ("四", 40)], label="x"))
    widths = {
        r.attrib["data-value"]: float(r.attrib["width"])
        for r in root.iter("{http://www.w3.org/2000/svg}rect")
    }
    assert widths["0"] == 0
    assert widths["25"] / widths["10"] == pytest.approx(2.5, rel=0.01)
    assert widths["40"] / widths["10"] == pytest.approx(4.0, rel=0.01)
    width, _ = view_box(root)
    assert max(widths.values()) < width


def test_bar_chart_shows_values_and_axis() -> None:
    markup = str(svg.bar_chart([("1号楼", 12), ("2号楼", 7)], label="x", unit="人"))
    root = parse(markup)
    values = [
        t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "value"
    ]
    ticks = [
        t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "tick"
    ]
    assert values == ["12", "7"]
    assert ticks[0] == "0" and float(ticks[-1]) >= 12
    assert ">人</text>" in markup  # the unit labels the axis


def test_bar_chart_grows_with_rows_and_clips_long_labels() -> None:
    short = parse(svg.bar_chart([("a", 1)], label="x"))
    tall = parse(svg.bar_chart([(str(i), i) for i in range(20)], label="x"))
    assert view_box(tall)[1] > view_box(short)[1]
    long_name = "长" * 80
    markup = str(svg.bar_chart([(long_name, 3)], label="x"))
    assert "…</text>" in markup and f"<title>{long_name}: 3</title>" in markup


def test_negative_and_missing_values_draw_as_zero() -> None:
    root = parse(svg.bar_chart([("a", -5), ("b", float("nan")), ("c", 2)], label="x"))
    widths = [float(r.attrib["width"]) for r in root.iter("{http://www.w3.org/2000/svg}rect")]
    assert widths[0] == 0 and widths[1] == 0 and widths[2] > 0


# -- donut and line -------------------------------------------------------------------------


def test_donut_draws_one_slice_per_nonzero_value_and_the_total() -> None:
    root = parse(
        svg.donut_chart([("住宅", 30), ("商业", 0), ("出租", 10)], label="x", caption="套")
    )
    slices = [p for p in root.iter("{http://www.w3.org/2000/svg}path") if p.get("class") == "slice"]
    assert [s.attrib["data-value"] for s in slices] == ["30", "10"]
    tips = [s.find("s:title", NS).text for s in slices]  # type: ignore[union-attr]
    assert tips == ["住宅: 30 (75%)", "出租: 10 (25%)"]
    total = next(
        t for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "total"
    )
    assert total.text == "40"
    legend = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "legend"]
    assert len(legend) == 3, "zero rows stay in the legend"


def test_donut_with_one_value_is_a_whole_ring_and_empty_is_grey() -> None:
    whole = parse(svg.donut_chart([("住宅", 5)], label="x"))
    ring = next(
        p for p in whole.iter("{http://www.w3.org/2000/svg}path") if p.get("class") == "slice"
    )
    assert ring.attrib["fill-rule"] == "evenodd" and ring.attrib["d"].count("Z") == 2
    empty = parse(svg.donut_chart([("住宅", 0)], label="x"))
    assert any(p.get("class") == "empty" for p in empty.iter("{http://www.w3.org/2000/svg}path"))


def test_line_chart_puts_higher_values_higher() -> None:
    root = parse(svg.line_chart([("一月", 1), ("二月", 5), ("三月", 3)], label="x"))
    points = [c for c in root.iter("{http://www.w3.org/2000/svg}circle")]
    ys = [float(c.attrib["cy"]) for c in points]
    xs = [float(c.attrib["cx"]) for c in points]
    assert ys[1] < ys[2] < ys[0]
    assert xs == sorted(xs)
    width, height = view_box(root)
    assert all(0 <= x <= width for x in xs) and all(0 <= y <= height for y in ys)


# -- community map --------------------------------------------------------------------------


def building(i: int, label: str = "", title: str = "") -> svg.Shape:
    lon = ORIGIN[0] + 0.0003 + i * 0.0005
    return svg.Shape(
        rectangle(lon, ORIGIN[1] + 0.0003, 32, 14), label=label or f"{i}号楼", title=title
    )


def test_map_points_fit_inside_the_view_box() -> None:
    boundary = rectangle(*ORIGIN, 200, 150)
    root = parse(svg.community_map(boundary, [building(i) for i in range(3)], label="平面图"))
    width, height = view_box(root)
    paths = [
        p
        for p in root.iter("{http://www.w3.org/2000/svg}path")
        if p.get("class") in {"boundary", "footprint"}
    ]
    assert len(paths) == 4
    for p in paths:
        for x, y in path_points(p.attrib["d"]):
            assert 0 <= x <= width and 0 <= y <= height
    assert root.attrib["role"] == "img" and root.attrib["aria-label"] == "平面图"


def test_map_keeps_north_up_east_right_and_squares_square() -> None:
    # A 100 m square, far enough north that ignoring cos(latitude) would squash it.
    square = rectangle(ORIGIN[0], 60.0, 100, 100)
    root = parse(svg.community_map(square, [], label="x"))
    boundary = next(
        p for p in root.iter("{http://www.w3.org/2000/svg}path") if p.get("class") == "boundary"
    )
    pts = path_points(boundary.attrib["d"])
    sw, se, ne = pts[0], pts[1], pts[2]  # rectangle() goes SW, SE, NE, NW
    assert se[0] > sw[0], "east is to the right"
    assert ne[1] < se[1], "north is up"
    assert (se[0] - sw[0]) == pytest.approx(se[1] - ne[1], rel=0.01), "a square stays square"


def test_projection_fits_and_centres() -> None:
    project = svg.Projection.fit(
        [(120.0, 30.0), (120.01, 30.01)], width=400, height=400, padding=20
    )
    x0, y0 = project(120.0, 30.0)
    x1, y1 = project(120.01, 30.01)
    assert y0 == pytest.approx(380) and y1 == pytest.approx(20)  # the taller side fills the box
    assert (x0 + x1) / 2 == pytest.approx(200)  # the narrower side is centred


def test_map_labels_sit_on_their_buildings_and_are_escaped() -> None:
    shape = building(0, label="<b>1号楼</b>", title="1号楼 · 24 套房屋 & 车库")
    markup = str(svg.community_map(rectangle(*ORIGIN, 200, 150), [shape], label="x"))
    assert "<b>" not in markup and "&lt;b&gt;1号楼&lt;/b&gt;" in markup
    root = parse(markup)
    footprint = next(
        p for p in root.iter("{http://www.w3.org/2000/svg}path") if p.get("class") == "footprint"
    )
    assert footprint.find("s:title", NS).text == "1号楼 · 24 套房屋 & 车库"  # type: ignore[union-attr]
    label = next(
        t for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "map-label"
    )
    xs, ys = zip(*path_points(footprint.attrib["d"]), strict=True)
    assert min(xs) < float(label.attrib["x"]) < max(xs)
    assert min(ys) < float(label.attrib["y"]) - 4 < max(ys)


def test_map_draws_features_and_multipolygons() -> None:
    a = rectangle(*ORIGIN, 50, 50)["coordinates"]
    b = rectangle(ORIGIN[0] + 0.001, ORIGIN[1], 50, 50)["coordinates"]
    multi = {"type": "Feature", "geometry": {"type": "MultiPolygon", "coordinates": [a, b]}}
    root = parse(svg.community_map(multi, [], label="x"))
    boundary = next(
        p for p in root.iter("{http://www.w3.org/2000/svg}path") if p.get("class") == "boundary"
    )
    assert boundary.attrib["d"].count("M") == 2


def test_map_without_geometry_is_empty() -> None:
    assert svg.community_map(None, [svg.Shape(None, label="1号楼")], label="x") == ""


def test_map_scale_bar_matches_the_drawing() -> None:
    root = parse(svg.community_map(rectangle(*ORIGIN, 200, 150), [], label="x"))
    boundary = next(
        p for p in root.iter("{http://www.w3.org/2000/svg}path") if p.get("class") == "boundary"
    )
    pts = path_points(boundary.attrib["d"])
    px_per_metre = (pts[1][0] - pts[0][0]) / 200
    bar = next(
        g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "scale-bar"
    )
    metres = float(bar.findtext("s:text", "", NS).split()[0])
    end = re.search(r"H(-?[\d.]+)", bar.find("s:path", NS).attrib["d"])  # type: ignore[union-attr]
    assert end is not None and metres in {1, 2, 5, 10, 20, 50, 100, 200, 500}
    drawn = float(end.group(1)) - 12  # the bar starts at x=12
    assert drawn == pytest.approx(metres * px_per_metre, rel=0.01)
