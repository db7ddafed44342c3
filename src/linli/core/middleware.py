"""Request middleware: request id and client IP for logs and audit; the acting user."""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

from linli.core import context

log = logging.getLogger("linli.request")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def client_ip(request: HttpRequest) -> str | None:
    """Return the caller's IP, trusting ``X-Forwarded-For`` only from configured proxies."""
    return client_ip_of(request.META)


def client_ip_of(meta: Mapping[str, Any]) -> str | None:
    """:func:`client_ip` from a WSGI environ (or a request's ``META``)."""
    remote = meta.get("REMOTE_ADDR") or None
    proxies = settings.LINLI_TRUSTED_PROXIES
    if remote and proxies and remote in proxies:
        forwarded = [p.strip() for p in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        for hop in reversed([p for p in forwarded if p]):
            if hop not in proxies:
                remote = hop
                break
    if remote is None:
        return None
    return _normal_ip(remote)


@functools.lru_cache(maxsize=4096)
def _normal_ip(text: str) -> str | None:
    """An address in its normal form (``None`` if it is not one); the same few terminals ask
    again and again."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def request_id_of(incoming: str) -> str:
    """The caller's ``X-Request-ID`` if it is sane, else a new one."""
    return incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex


def log_request(method: str, path: str, status: int, started: float) -> None:
    """The access log line of one request (``linli.request``, INFO)."""
    if log.isEnabledFor(logging.INFO):
        log.info(
            "%s %s -> %s in %.1f ms", method, path, status, (time.perf_counter() - started) * 1000
        )


class RequestContextMiddleware:
    """Give every request an id (the caller's ``X-Request-ID`` if sane), echo it, log it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Bind the request context around the view."""
        request_id = request_id_of(request.headers.get("X-Request-ID", ""))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = context.bind(context.RequestContext(request_id, client_ip(request)))
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            log_request(str(request.method), request.path, response.status_code, started)
            return response
        finally:
            context.reset(token)


class LinliErrorMiddleware:
    """Turn domain errors raised in console pages into friendly error pages."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Pass the request through."""
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Render a domain error as a page; leave the API's errors to the API."""
        from django.contrib.auth.views import redirect_to_login
        from django.shortcuts import render

        from linli.core import errors

        if not isinstance(exception, errors.LinliError) or request.path.startswith("/api/"):
            return None
        if isinstance(exception, errors.NotAuthenticated):
            return redirect_to_login(request.get_full_path())
        return render(
            request,
            "console/error.html",
            {"status": exception.status, "title": exception.code, "message": exception.message},
            status=exception.status,
        )


def chosen_language(cookies: Mapping[str, str]) -> str:
    """The language chosen with the language cookie, else the default (zh-hans)."""
    chosen = cookies.get(settings.LANGUAGE_COOKIE_NAME)
    try:
        language = translation.get_supported_language_variant(chosen) if chosen else None
    except LookupError:
        language = None
    return language or settings.LANGUAGE_CODE


class LanguageMiddleware(LocaleMiddleware):
    """Chinese first: pages use the language the user chose (cookie) or zh-hans.

    Programs calling the API get messages in their ``Accept-Language``; the console and
    resident pages ignore the browser's language so a Chinese office PC with an English
    browser still opens in Chinese, and the language switch is one click away.
    """

    def process_request(self, request: HttpRequest) -> None:
        """Activate the request's language."""
        if request.path.startswith("/api/"):
            super().process_request(request)
            return
        translation.activate(chosen_language(request.COOKIES))
        request.LANGUAGE_CODE = translation.get_language()
