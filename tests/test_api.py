"""The API: tenancy, the common error shape, tokens, pagination, request ids."""

from __future__ import annotations

import json

from django.test import Client

from linli.core.models import ApiToken, AuditLog
from tests.conftest import World

ERROR_KEYS = {"code", "message", "details"}


def body(response: object) -> dict:  # type: ignore[type-arg]
    return json.loads(response.content)  # type: ignore[attr-defined]


def patch(client: Client, url: str, data: dict) -> object:  # type: ignore[type-arg]
    return client.patch(url, data=json.dumps(data), content_type="application/json")


def test_role_without_permission_is_403_on_own_tenant(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    client = token_client(world.guard_a)
    response = patch(client, f"/api/v1/communities/{world.a.pk}", {"name": "x"})
    assert response.status_code == 403
    assert body(response)["code"] == "permission_denied"


def test_organisation_grant_gives_its_members_access(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    client = token_client(world.police_a)
    assert client.get(f"/api/v1/communities/{world.a.pk}").status_code == 200
    assert client.get(f"/api/v1/communities/{world.b.pk}").status_code == 404


# -- sensitive data ----------------------------------------------------------------------


def test_people_are_masked_and_sealed_values_never_returned(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    client = token_client(world.manager_a)
    raw = client.get(f"/api/v1/people/{world.person_a.pk}").content.decode()
    data = json.loads(raw)
    assert data["id_number_masked"] == "1101**********002X"
    assert data["phone_masked"] == "138****8000"
    assert "11010519491231002X" not in raw and "13800138000" not in raw
    assert "sealed" not in raw and "hash" not in raw


def test_reveal_is_audited_and_needs_permission(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    guard = token_client(world.guard_a)
    assert guard.post(f"/api/v1/people/{world.person_a.pk}/reveal").status_code == 403
    police = token_client(world.police_a)
    response = police.post(f"/api/v1/people/{world.person_a.pk}/reveal")
    assert response.status_code == 200
    assert body(response) == {"id_number": "11010519491231002X", "phone": "13800138000"}
    row = AuditLog.objects.get(action="people.person.reveal")
    assert row.sensitive and row.actor == world.police_a and row.community_id == world.a.pk


# -- error shape, language, request id ---------------------------------------------------


def test_unauthenticated_error_shape(db: None, client: Client) -> None:
    response = client.get("/api/v1/communities")
    assert response.status_code == 401
    assert set(body(response)) == ERROR_KEYS
    assert body(response)["code"] == "not_authenticated"


def test_validation_error_shape_and_language(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    client = token_client(world.admin)
    bad = {"name": "", "code": "has space"}
    zh = client.post("/api/v1/communities", data=bad, content_type="application/json")
    assert zh.status_code == 422
    assert set(body(zh)) == ERROR_KEYS and body(zh)["code"] == "validation_error"
    assert body(zh)["message"] == "输入有误，请检查后重试。"
    locs = {tuple(d["loc"][-1:]) for d in body(zh)["details"]}
    assert ("name",) in locs and ("code",) in locs
    en = client.post(
        "/api/v1/communities",
        data=bad,
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert body(en)["message"] == "The input is invalid; please check and try again."


def test_domain_validation_error_names_the_field(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    client = token_client(world.manager_a)
    response = patch(client, f"/api/v1/communities/{world.a.pk}", {"boundary": {"type": "Point"}})
    assert response.status_code == 422
    assert "boundary" in body(response)["details"]


def test_conflict_error(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    client = token_client(world.admin)
    response = client.post(
        "/api/v1/communities", data={"name": "dup", "code": "a"}, content_type="application/json"
    )
    assert response.status_code == 409
    assert body(response)["code"] == "duplicate_community"


def test_malformed_json_is_a_clear_error(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    client = token_client(world.admin)
    response = client.post("/api/v1/communities", data="{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert set(body(response)) == ERROR_KEYS


def test_request_id_is_echoed_or_made(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    client = token_client(world.manager_a)
    response = client.get("/api/v1/me", HTTP_X_REQUEST_ID="req-123")
    assert response["X-Request-ID"] == "req-123"
    generated = client.get("/api/v1/me", HTTP_X_REQUEST_ID="bad id with spaces")
    assert len(generated["X-Request-ID"]) == 32


def test_request_id_and_ip_reach_the_audit_row(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    client = token_client(world.manager_a)
    patch_response = client.patch(
        f"/api/v1/communities/{world.a.pk}",
        data=json.dumps({"address": "文三路 1 号"}),
        content_type="application/json",
        HTTP_X_REQUEST_ID="trace-7",
        REMOTE_ADDR="10.1.2.3",
    )
    assert patch_response.status_code == 200
    row = AuditLog.objects.get(action="places.community.update")
    assert row.request_id == "trace-7" and row.client_ip == "10.1.2.3"
    assert row.changes == {"address": ["", "文三路 1 号"]}


# -- pagination --------------------------------------------------------------------------


def test_pagination(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    client = token_client(world.admin)
    page = body(client.get("/api/v1/audit?page=1&page_size=2"))
    assert page["page"] == 1 and page["page_size"] == 2 and len(page["items"]) == 2
    assert page["count"] == AuditLog.objects.count()
    assert page["pages"] == -(-page["count"] // 2)
    second = body(client.get("/api/v1/audit?page=2&page_size=2"))
    assert {r["id"] for r in second["items"]}.isdisjoint({r["id"] for r in page["items"]})
    assert client.get("/api/v1/audit?page_size=1000").status_code == 422


# -- tokens ------------------------------------------------------------------------------


def test_token_lifecycle(world: World, login) -> None:  # type: ignore[no-untyped-def]
    session = login(world.manager_a)
    created = session.post("/api/v1/tokens", data={"name": "集成"}, content_type="application/json")
    assert created.status_code == 201
    raw = body(created)["token"]
    token = ApiToken.objects.get(pk=body(created)["id"])
    assert raw not in token.digest and token.digest != raw
    listed = session.get("/api/v1/tokens").content.decode()
    assert raw not in listed  # the secret is shown once, at creation
    program = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert program.get("/api/v1/me").status_code == 200
    assert session.delete(f"/api/v1/tokens/{token.pk}").status_code == 204
    assert program.get("/api/v1/me").status_code == 401
    actions = list(
        AuditLog.objects.filter(object_type="core.apitoken").values_list("action", flat=True)
    )
    assert sorted(actions) == ["core.api_token.create", "core.api_token.revoke"]


def test_forged_token_is_refused(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    good = token_client(world.manager_a)
    raw = good.defaults["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    forged = raw[:-3] + ("aaa" if not raw.endswith("aaa") else "bbb")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {forged}").get("/api/v1/me").status_code == 401
    assert Client(HTTP_AUTHORIZATION="Bearer nonsense").get("/api/v1/me").status_code == 401


def test_token_acts_within_its_users_grants(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    client = token_client(world.manager_a)
    me = body(client.get("/api/v1/me"))
    assert [g["community_id"] for g in me["grants"]] == [world.a.pk]
    response = client.post(
        "/api/v1/communities", data={"name": "n", "code": "n"}, content_type="application/json"
    )
    assert response.status_code == 403


def test_read_only_token_cannot_write(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    client = token_client(world.manager_a, read_only=True)
    assert client.get(f"/api/v1/communities/{world.a.pk}").status_code == 200
    response = patch(client, f"/api/v1/communities/{world.a.pk}", {"name": "x"})
    assert response.status_code == 403 and body(response)["code"] == "read_only_token"


def test_session_write_needs_csrf(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.manager_a)
    response = patch(client, f"/api/v1/communities/{world.a.pk}", {"name": "x"})
    assert response.status_code in (401, 403)
    assert set(body(response)) == ERROR_KEYS


def test_unexpected_failure_has_the_common_shape(world: World, token_client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from linli.places import selectors

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(selectors, "get_community", explode)
    response = token_client(world.manager_a).get(
        f"/api/v1/communities/{world.a.pk}", HTTP_X_REQUEST_ID="trace-500"
    )
    assert response.status_code == 500
    assert body(response) == {
        "code": "internal_error",
        "message": "服务器内部错误，请稍后重试。",
        "details": {"request_id": "trace-500"},
    }
    assert "bug" not in response.content.decode()
