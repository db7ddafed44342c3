"""The WSGI application: Django's handler, a lean one for devices, and direct endpoints.

Terminals and sensors (``/device/…``) authenticate with their device credentials on every
request and never use sessions, CSRF tokens, logged-in users, messages or frames, so they
are served by a second Django handler whose middleware is ``DEVICE_MIDDLEWARE`` (request id
and access log, HTTPS policy, language). It is the same Django (URLs, views, signals,
error handling) without the console's middleware, which cost a fifth of an access decision's
CPU (docs/benchmarks.md, ``access``).

A few device endpoints on the hot path of a door are **direct** (:data:`Direct`): a
function of the WSGI environ that answers JSON, run here without Django's request and
response objects, URL resolver and middleware chain. Those cost as much CPU as the access
decision itself. What the device middleware does is done here too, the same way: request
id (echoed and logged), client IP for audit, the language (the language cookie, else the
default), the HTTPS policy's
headers, and Django's request signals before and after (the database connections'
checks). A direct endpoint may decline a request (return ``None`` before reading the body:
another method, a signed request), and Django's handler then serves it through the same
URL's view. The endpoints are listed in the ``DIRECT_ENDPOINTS`` setting.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.http.cookie import parse_cookie
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from linli.core import context
from linli.core.middleware import chosen_language, client_ip_of, log_request, request_id_of

log = logging.getLogger("linli.request")

# A direct endpoint's answer: HTTP status, JSON body, extra headers.
Answer = tuple[int, Mapping[str, Any], list[tuple[str, str]]]
Direct = Callable[[dict[str, Any]], Answer | None]

DEVICE_PREFIX = "/device/"


class LeanHandler(WSGIHandler):
    """Django's WSGI handler with its own middleware list instead of ``MIDDLEWARE``."""

    def __init__(self, middleware: list[str]) -> None:
        self.middleware_names = list(middleware)
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        """Build the chain from :attr:`middleware_names` (Django reads ``MIDDLEWARE``; it is
        swapped only while the chain is built, once, at start-up)."""
        configured = settings.MIDDLEWARE
        settings.MIDDLEWARE = self.middleware_names
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = configured


def _secure(environ: Mapping[str, Any]) -> bool:
    """Whether the request came over HTTPS, as Django's ``request.is_secure()`` decides."""
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:
        header, value = proxy
        forwarded = environ.get(header)
        if forwarded is not None:
            return bool(forwarded.split(",", 1)[0].strip() == value)
    return bool(environ.get("wsgi.url_scheme") == "https")


def _policy_headers(secure: bool) -> list[tuple[str, str]]:
    """The headers Django's ``SecurityMiddleware`` adds to a JSON answer."""
    headers = []
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        headers.append(("Referrer-Policy", str(settings.SECURE_REFERRER_POLICY)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    if secure and settings.SECURE_HSTS_SECONDS:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        headers.append(("Strict-Transport-Security", hsts))
    return headers


def serve_direct(
    endpoint: Direct, environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes] | None:
    """Serve one request with a direct endpoint; ``None`` when it declines the request."""
    secure = _secure(environ)
    if settings.SECURE_SSL_REDIRECT and not secure:
        return None  # Django's handler redirects
    started = time.perf_counter()
    request_id = request_id_of(environ.get("HTTP_X_REQUEST_ID", ""))
    token = context.bind(context.RequestContext(request_id, client_ip_of(environ)))
    # The language as the device middleware chooses it: the language cookie, or the default.
    cookie = environ.get("HTTP_COOKIE")
    translation.activate(
        chosen_language(parse_cookie(cookie)) if cookie else settings.LANGUAGE_CODE
    )
    # Django's per-request signals: the database connections' age and health checks.
    signals.request_started.send(sender=Application, environ=environ)
    try:
        try:
            answer = endpoint(environ)
        except Exception:
            log.exception("direct endpoint %s failed", environ.get("PATH_INFO", ""))
            answer = (
                500,
                {
                    "code": "internal_error",
                    "message": _("服务器内部错误，请稍后重试。"),
                    "details": {"request_id": request_id},
                },
                [],
            )
        if answer is None:
            return None
        status, data, extra = answer
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("X-Request-ID", request_id),
                *_policy_headers(secure),
                *extra,
            ],
        )
        log_request(
            environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""), status, started
        )
        return [body]
    finally:
        signals.request_finished.send(sender=Application)
        translation.deactivate()
        context.reset(token)


class Application:
    """Send ``/device/…`` to the devices' handler (or a direct endpoint) and everything
    else to Django's."""

    def __init__(
        self,
        default: WSGIHandler,
        devices: WSGIHandler,
        direct: Mapping[str, Direct] | None = None,
    ) -> None:
        self.default = default
        self.devices = devices
        self.direct = dict(direct or {})

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Serve one request."""
        path: str = environ.get("PATH_INFO", "")
        endpoint = self.direct.get(path)
        if endpoint is not None:
            served = serve_direct(endpoint, environ, start_response)
            if served is not None:
                return served
        handler = self.devices if path.startswith(DEVICE_PREFIX) else self.default
        return handler(environ, start_response)


def application(direct: Mapping[str, Direct] | None = None) -> Application:
    """The application ``linli serve`` runs (Django must be set up), with the direct
    endpoints by path (default: ``DIRECT_ENDPOINTS``, dotted paths by URL path)."""
    if direct is None:
        direct = {path: import_string(name) for path, name in settings.DIRECT_ENDPOINTS.items()}
    return Application(WSGIHandler(), LeanHandler(settings.DEVICE_MIDDLEWARE), direct)


def freeze_startup_objects() -> None:
    """Keep what start-up loaded (modules, Django's apps, URL patterns, models) out of the
    garbage collector's full collections.

    A full collection walks every object the process holds; in a serving process that took
    75–110 ms, during which every request it holds waited (the ``access`` benchmark's
    slowest decisions, docs/benchmarks.md). None of those objects is ever garbage, so they
    are collected once now and frozen: later full collections walk only what requests made.
    """
    gc.collect()
    gc.freeze()
