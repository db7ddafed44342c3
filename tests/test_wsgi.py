"""The WSGI application gunicorn serves: devices get the lean handler, the rest Django's."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import signals
from django.db import close_old_connections

from linli.wsgi import application
from tests.conftest import World
from tests.test_access_http import terminal


@pytest.fixture
def serve(db: None) -> Iterator[Any]:
    """Call the application as gunicorn does; the test's transaction stays open (as with
    Django's test client, connections are not closed between requests)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)

    def call(
        path: str, *, method: str = "GET", body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": io.StringIO(),
        }
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        answer: dict[str, Any] = {}

        def start_response(status: str, response_headers: Any, exc_info: Any = None) -> Any:
            answer["status"] = int(status.split()[0])
            answer["headers"] = dict(response_headers)
            return lambda data: None

        result = application(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            result.close()  # type: ignore[attr-defined]
        return answer["status"], answer["headers"], content

    try:
        yield call
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_devices_are_served_without_the_consoles_middleware(world: World, serve: Any) -> None:
    _device, client = terminal(world, "reader-w")
    auth = client.defaults["HTTP_AUTHORIZATION"]
    body = json.dumps({"method": "iris", "value": "x"}).encode()
    status, headers, content = serve(
        "/device/v1/access/decide", method="POST", body=body, headers={"Authorization": auth}
    )
    assert status == 400
    assert json.loads(content)["code"] == "validation_error"
    assert "X-Request-ID" in headers  # request id and access log: kept
    assert "X-Content-Type-Options" in headers  # HTTPS and browser policy: kept
    assert "X-Frame-Options" not in headers  # the console's middleware: not run
    assert "Cookie" not in headers.get("Vary", "")
    status, headers, _ = serve("/login/")
    assert status == 200
    assert headers["X-Frame-Options"] == "DENY"
    assert "X-Request-ID" in headers


def test_a_devices_messages_are_in_the_default_language_whatever_ran_before(
    world: World, serve: Any
) -> None:
    """The console's English (a cookie) does not leak into a device's answer served next in
    the same thread."""
    serve("/login/", headers={"Cookie": "django_language=en"})
    status, _, content = serve(
        "/device/v1/access/decide",
        method="POST",
        body=b"{}",
        headers={"Authorization": "Bearer nobody:wrong"},
    )
    assert status == 401
    assert json.loads(content)["message"] == "设备编号或密钥错误。"
