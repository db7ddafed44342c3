"""GeoJSON checks and helpers for places (WGS 84 longitude/latitude)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _

from linli.core import errors

Ring = list[list[float]]


def _rings(geometry: dict[str, Any]) -> Iterator[Ring]:
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Polygon" and isinstance(coords, list):
        yield from coords
    elif kind == "MultiPolygon" and isinstance(coords, list):
        for polygon in coords:
            if not isinstance(polygon, list):
                raise TypeError("polygon")
            yield from polygon
    else:
        raise TypeError("geometry type")


def geometry_of(value: dict[str, Any]) -> dict[str, Any]:
    """Return the geometry of a GeoJSON Feature, or the value itself if it is a geometry."""
    if value.get("type") == "Feature":
        geometry = value.get("geometry")
        return geometry if isinstance(geometry, dict) else {}
    return value


def check_area(value: Any, field: str) -> dict[str, Any] | None:
    """Validate a GeoJSON Polygon/MultiPolygon (or a Feature of one); return it or ``None``.

    Raises :class:`ValidationFailed` naming ``field`` with the first problem found.
    """
    if value in (None, "", {}):
        return None
    if not isinstance(value, dict):
        raise errors.ValidationFailed(details={field: [_("应为 GeoJSON 对象。")]})
    try:
        rings = list(_rings(geometry_of(value)))
    except TypeError:
        raise errors.ValidationFailed(
            details={field: [_("应为 Polygon 或 MultiPolygon（或其 Feature）。")]}
        ) from None
    if not rings:
        raise errors.ValidationFailed(details={field: [_("多边形没有坐标。")]})
    for ring in rings:
        if not isinstance(ring, list) or len(ring) < 4:
            raise errors.ValidationFailed(details={field: [_("每个环至少需要 4 个点。")]})
        for point in ring:
            if (
                not isinstance(point, list | tuple)
                or len(point) < 2
                or not all(isinstance(c, int | float) for c in point[:2])
            ):
                raise errors.ValidationFailed(details={field: [_("坐标应为 [经度, 纬度]。")]})
            lon, lat = point[0], point[1]
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise errors.ValidationFailed(details={field: [_("经纬度超出范围。")]})
        if list(ring[0][:2]) != list(ring[-1][:2]):
            raise errors.ValidationFailed(details={field: [_("多边形的环必须首尾闭合。")]})
    return value


def check_place(value: Any, field: str) -> dict[str, Any] | None:
    """Validate a GeoJSON Point (a gate, a door) or an area (see :func:`check_area`)."""
    if isinstance(value, dict) and geometry_of(value).get("type") == "Point":
        coords = geometry_of(value).get("coordinates")
        if (
            not isinstance(coords, list | tuple)
            or len(coords) < 2
            or not all(isinstance(c, int | float) for c in coords[:2])
        ):
            raise errors.ValidationFailed(details={field: [_("坐标应为 [经度, 纬度]。")]})
        if not (-180 <= coords[0] <= 180 and -90 <= coords[1] <= 90):
            raise errors.ValidationFailed(details={field: [_("经纬度超出范围。")]})
        return value
    return check_area(value, field)


def outer_rings(value: dict[str, Any] | None) -> list[Ring]:
    """Return the outer rings of a valid area (for drawing)."""
    if not value:
        return []
    geometry = geometry_of(value)
    if geometry.get("type") == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry.get("type") == "MultiPolygon":
        return [polygon[0] for polygon in geometry["coordinates"]]
    return []


def rectangle(lon: float, lat: float, width_m: float, height_m: float) -> dict[str, Any]:
    """Return a GeoJSON Polygon: a rectangle of the given size (metres) from a south-west corner."""
    dlat = height_m / 111_320.0
    dlon = width_m / (111_320.0 * max(0.01, math.cos(math.radians(lat))))
    ring = [
        [round(lon, 7), round(lat, 7)],
        [round(lon + dlon, 7), round(lat, 7)],
        [round(lon + dlon, 7), round(lat + dlat, 7)],
        [round(lon, 7), round(lat + dlat, 7)],
        [round(lon, 7), round(lat, 7)],
    ]
    return {"type": "Polygon", "coordinates": [ring]}
