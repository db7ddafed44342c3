"""The WSGI application: Django's handler, and a lean one for devices.

Terminals and sensors (``/device/…``) authenticate with their device credentials on every
request and never use sessions, CSRF tokens, logged-in users, messages or frames, so they
are served by a second Django handler whose middleware is ``DEVICE_MIDDLEWARE`` (request id
and access log, HTTPS policy, language). It is the same Django (URLs, views, signals,
error handling) without the console's middleware, which cost a fifth of an access decision's
CPU (docs/benchmarks.md, ``access``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

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


class Application:
    """Send ``/device/…`` to the devices' handler and everything else to Django's."""

    def __init__(self, default: WSGIHandler, devices: WSGIHandler) -> None:
        self.default = default
        self.devices = devices

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Serve one request."""
        path: str = environ.get("PATH_INFO", "")
        handler = self.devices if path.startswith(DEVICE_PREFIX) else self.default
        return handler(environ, start_response)


def application() -> Application:
    """The application ``linli serve`` runs (Django must be set up)."""
    return Application(WSGIHandler(), LeanHandler(settings.DEVICE_MIDDLEWARE))
