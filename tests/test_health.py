"""Health endpoints and the OpenAPI document."""

from __future__ import annotations

import re

from django.test import Client


def test_healthz(client: Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_the_database(db: None, client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_openapi_is_served(db: None, client: Client) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "Linli API"
    assert "/api/v1/communities" in spec["paths"]
    assert client.get("/api/docs").status_code == 302
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    # every script and stylesheet comes from our own /static/, none from a CDN
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.content.decode())
    assert assets and all(a.startswith("/static/") for a in assets), assets


def test_readyz_reports_an_unreachable_database(db: None, client: Client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from linli.core import views

    class Broken:
        def cursor(self) -> None:
            raise ConnectionError("database is down")

    monkeypatch.setattr(views, "connection", Broken())
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ConnectionError"}


def test_front_end_assets_come_from_installed_packages(db: None, client: Client) -> None:
    for path in (
        "/static/vendor/bootstrap/css/bootstrap.min.css",
        "/static/vendor/bootstrap/js/bootstrap.bundle.min.js",
        "/static/linli/console.css",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert len(body) > 100, path
