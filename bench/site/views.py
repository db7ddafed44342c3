"""Reference endpoints the API is compared with; they pass through the same middleware.

Each returns the fields of the API's ``CommunityOut`` (except ``noop``), so the three reads
differ only in where the data comes from: a per-process cache, or one primary-key SELECT.
``noop_post`` is the ``access`` benchmark's baseline: a POST that reads its body and answers.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from linli.places.models import Community

FIELDS = ("id", "name", "code", "address", "division_code", "boundary", "created_at", "updated_at")
CACHE_SECONDS = 300


def _community(community_id: int) -> dict[str, Any]:
    # values().get(): exactly one SELECT … WHERE id = %s, no model instance, no ORDER BY.
    try:
        row: dict[str, Any] = Community.objects.values(*FIELDS).get(pk=community_id)
    except Community.DoesNotExist as exc:
        raise Http404 from exc
    return row


@require_GET
def noop(request: HttpRequest) -> JsonResponse:
    """Answer at once: the cost of Django, the middleware and gunicorn alone (baseline)."""
    return JsonResponse({"ok": True})


@require_GET
def cached_read(request: HttpRequest, community_id: int) -> JsonResponse:
    """Return a community from the default cache, reading it once per process."""
    key = f"bench:community:{community_id}"
    data = cache.get(key)
    if data is None:
        data = _community(community_id)
        cache.set(key, data, CACHE_SECONDS)
    return JsonResponse(data)


@require_GET
def one_query_read(request: HttpRequest, community_id: int) -> JsonResponse:
    """Return a community read with one primary-key SELECT."""
    return JsonResponse(_community(community_id))


@csrf_exempt
@require_POST
def noop_post(request: HttpRequest) -> JsonResponse:
    """Read the body and answer at once: the baseline of a terminal's POST (no auth, no SQL)."""
    return JsonResponse({"ok": True, "bytes": len(request.body)})


def noop_direct(environ: dict[str, Any]) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
    """:func:`noop_post` as a direct endpoint (linli.core.wsgi), served like the door's
    decision: the baseline of the decision without Django's request handling."""
    length = environ.get("CONTENT_LENGTH", "")
    body = environ["wsgi.input"].read(int(length)) if length.isdigit() else b""
    return 200, {"ok": True, "bytes": len(body)}, []
