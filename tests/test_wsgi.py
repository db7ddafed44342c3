"""The WSGI application: devices get the lean handler (the door's decision a direct endpoint),
the rest Django's."""

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
    """Call the application as a WSGI server does; the test's transaction stays open (as with
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
            close = getattr(result, "close", None)  # optional in WSGI
            if close is not None:
                close()
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


# The door's decision as a direct endpoint (linli.core.wsgi.serve_direct) ------------------


@pytest.fixture
def gate(world: World, system: Any, django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    """Community a's gate and its terminal, and the terminal's Authorization header."""
    from tests.access_estate import gate_with_terminal

    setup = gate_with_terminal(world, system, django_capture_on_commit_callbacks)
    setup["auth"] = setup["client"].defaults["HTTP_AUTHORIZATION"]
    return setup


def _without_django(monkeypatch: Any) -> None:
    def refuse(environ: Any, start_response: Any) -> Any:
        raise AssertionError(f"Django's handler served {environ['PATH_INFO']}")

    monkeypatch.setattr(application, "devices", refuse)


def _decide(serve: Any, auth: str, body: Any, **headers: str) -> tuple[int, dict[str, str], Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, answer_headers, content = serve(
        "/device/v1/access/decide",
        method="POST",
        body=raw,
        headers={"Authorization": auth, **headers},
    )
    return status, answer_headers, json.loads(content)


def test_the_direct_decision_answers_as_the_view_does(
    world: World, gate: dict[str, Any], serve: Any, monkeypatch: Any
) -> None:
    from linli.access import actions
    from linli.access.models import AccessEvent

    actions.ensure_pass(world.person_a.pk, world.a.pk)
    text = actions.show_pass(world.person_a.pk, world.a.pk)
    requests = [
        {"method": "qr", "value": text, "direction": "in"},
        {"method": "qr", "value": text},  # the same pass again: replayed
        {"method": "card", "value": "NO-SUCH-CARD"},
        {"point": "lift", "method": "card", "value": "x"},  # not this terminal's point
        {"method": "iris", "value": "x"},  # not a method
    ]
    _without_django(monkeypatch)
    direct = [_decide(serve, gate["auth"], body) for body in requests]
    monkeypatch.undo()
    assert [(s, a.get("reason", a.get("code"))) for s, _h, a in direct] == [
        (200, "allowed"),
        (200, "replayed"),
        (200, "unknown_credential"),
        (404, "unknown_point"),
        (400, "validation_error"),
    ]
    event = AccessEvent.objects.get(pk=direct[0][2]["event_id"])
    assert (event.device_id, event.direction, event.reason) == (gate["reader"].pk, "in", "allowed")
    # The view (Django's handler, as the test client calls it) gives the same answers.
    actions.ensure_pass(world.person_a.pk, world.a.pk)
    for body, (status, _headers, answer) in zip(requests[2:], direct[2:], strict=True):
        via_view = gate["client"].post(
            "/device/v1/access/decide", json.dumps(body), content_type="application/json"
        )
        assert via_view.status_code == status
        view_answer = via_view.json()
        view_answer.pop("event_id", None)
        answer = dict(answer)
        answer.pop("event_id", None)
        assert view_answer == answer


def test_the_direct_decision_keeps_the_device_middlewares_work(
    gate: dict[str, Any], serve: Any, monkeypatch: Any, caplog: Any
) -> None:
    _without_django(monkeypatch)
    with caplog.at_level("INFO", logger="linli.request"):
        status, headers, answer = _decide(
            serve, gate["auth"], {"method": "card", "value": "X"}, **{"X-Request-ID": "door-42"}
        )
    assert status == 200 and answer["result"] == "deny"
    assert headers["X-Request-ID"] == "door-42"  # a sane id is echoed
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # plain HTTP
    assert any("/device/v1/access/decide -> 200" in r.getMessage() for r in caplog.records)
    _s, headers, _a = _decide(
        serve, gate["auth"], {"method": "card", "value": "X"}, **{"X-Request-ID": "bad id!"}
    )
    assert headers["X-Request-ID"] != "bad id!" and len(headers["X-Request-ID"]) == 32


def test_the_direct_decisions_refusals(gate: dict[str, Any], serve: Any, monkeypatch: Any) -> None:
    _without_django(monkeypatch)
    status, headers, answer = _decide(serve, "Bearer reader-1:wrong", {"method": "card"})
    assert (status, answer["code"]) == (401, "bad_credentials")
    assert answer["message"] == "设备编号或密钥错误。"
    assert headers["WWW-Authenticate"] == 'Bearer realm="linli-device"'
    status, _h, answer = _decide(serve, gate["auth"], b"{" + b" " * 20_000 + b"}")
    assert (status, answer["code"]) == (413, "too_large")
    status, _h, answer = _decide(serve, gate["auth"], b"not json")
    assert (status, answer["code"]) == (400, "validation_error")


def test_the_direct_decision_speaks_the_language_the_view_would(
    gate: dict[str, Any], serve: Any, monkeypatch: Any
) -> None:
    """A terminal's language cookie is honoured as the device middleware honours it."""
    _without_django(monkeypatch)
    bad = "Bearer reader-1:wrong"
    _s, _h, answer = _decide(serve, bad, {"method": "card"}, Cookie="django_language=en")
    assert answer["message"] == "Wrong device ID or secret."
    _s, _h, answer = _decide(serve, bad, {"method": "card"}, Cookie="django_language=xx; a=b")
    assert answer["message"] == "设备编号或密钥错误。"
    _s, _h, answer = _decide(serve, bad, {"method": "card"})
    assert answer["message"] == "设备编号或密钥错误。"


def test_what_the_direct_decision_declines_goes_to_the_view(
    gate: dict[str, Any], serve: Any
) -> None:
    status, _h, content = serve("/device/v1/access/decide", headers={"Authorization": gate["auth"]})
    assert status == 405  # GET: Django's view says which methods it allows
    status, _h, content = serve(
        "/device/v1/access/decide",
        method="POST",
        body=b"{}",
        headers={"X-Linli-Signature": "x", "X-Linli-Device": "reader-1"},
    )
    assert status == 401
    assert json.loads(content)["code"] == "bad_signature"  # the view's signature check


def test_a_failing_direct_endpoint_answers_500_in_json(
    gate: dict[str, Any], serve: Any, monkeypatch: Any, caplog: Any
) -> None:
    from linli.access import http

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(http, "decide", broken)
    with caplog.at_level("ERROR", logger="linli.request"):
        status, headers, answer = _decide(serve, gate["auth"], {"method": "card", "value": "X"})
    assert status == 500
    assert answer["code"] == "internal_error"
    assert answer["details"]["request_id"] == headers["X-Request-ID"]
    assert "database went away" not in json.dumps(answer)
    assert any(r.exc_info for r in caplog.records)


def test_with_https_required_a_plain_request_is_left_to_django(
    gate: dict[str, Any], serve: Any, settings: Any, monkeypatch: Any
) -> None:
    """Django's security middleware redirects it (the handler reads the setting once, at
    start-up, so here a stand-in handler says who answered)."""
    served: list[str] = []

    def django_handler(environ: Any, start_response: Any) -> Any:
        served.append(environ["PATH_INFO"])
        start_response("301 Moved Permanently", [("Location", "https://testserver/")])
        return [b""]

    monkeypatch.setattr(application, "devices", django_handler)
    settings.SECURE_SSL_REDIRECT = True
    status, _headers, _content = _raw(serve, gate["auth"])
    assert (status, served) == (301, ["/device/v1/access/decide"])
    settings.SECURE_SSL_REDIRECT = False
    status, _headers, _content = _raw(serve, gate["auth"])
    assert (status, served) == (200, ["/device/v1/access/decide"])  # direct again


def _raw(serve: Any, auth: str) -> tuple[int, dict[str, str], bytes]:
    return serve(  # type: ignore[no-any-return]
        "/device/v1/access/decide",
        method="POST",
        body=b'{"method": "card", "value": "X"}',
        headers={"Authorization": auth},
    )


def test_startup_objects_are_frozen_out_of_full_collections() -> None:
    import gc

    from linli.core.wsgi import freeze_startup_objects

    gc.unfreeze()
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 10_000  # modules, apps, URL patterns, models
    finally:
        gc.unfreeze()
