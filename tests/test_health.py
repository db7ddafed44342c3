"""Health endpoints and the OpenAPI document."""

from __future__ import annotations

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
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()
