"""Sign-in: success lands on the dashboard, failures are throttled, events are audited."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from linli.core.models import AuditLog, LoginFailure
from tests.conftest import PASSWORD, World


def sign_in(client: Client, username: str, password: str, ip: str = "10.0.0.1"):  # type: ignore[no-untyped-def]
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_sign_in_lands_on_dashboard_in_chinese(world: World, client: Client) -> None:
    response = sign_in(client, "manager-a", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="zh-hans">' in html and "概览" in html and "翠苑一区" in html
    assert AuditLog.objects.filter(action="core.sign_in", actor=world.manager_a).exists()


def test_wrong_password_is_refused_without_saying_which_part(world: World, client: Client) -> None:
    response = sign_in(client, "manager-a", "wrong")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.content.decode()
    assert LoginFailure.objects.filter(username="manager-a").count() == 1


@override_settings(LINLI_LOGIN_MAX_FAILURES=3)
def test_repeated_failures_lock_the_account_even_with_the_right_password(
    world: World, client: Client
) -> None:
    for _ in range(3):
        sign_in(client, "manager-a", "guess")
    locked = sign_in(client, "manager-a", PASSWORD)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # another account from another address is unaffected
    assert sign_in(Client(), "guard-a", PASSWORD, ip="10.0.0.2").status_code == 302


@override_settings(LINLI_LOGIN_MAX_FAILURES=2)
def test_one_address_spraying_many_accounts_is_throttled(world: World, client: Client) -> None:
    for i in range(8):
        sign_in(client, f"user{i}", "guess", ip="10.9.9.9")
    assert sign_in(client, "manager-a", PASSWORD, ip="10.9.9.9").status_code == 429


def test_success_clears_failures(world: World, client: Client) -> None:
    sign_in(client, "manager-a", "guess")
    sign_in(client, "manager-a", PASSWORD)
    assert not LoginFailure.objects.filter(username="manager-a").exists()


def test_pages_need_login(db: None, client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_open_redirect_is_refused(world: World, client: Client) -> None:
    response = client.post(
        "/login/",
        {"username": "manager-a", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_login_page_in_each_language(db: None, client: Client, lang: str) -> None:
    client.cookies["django_language"] = lang
    response = client.get("/login/")
    assert f'<html lang="{lang}">' in response.content.decode()


def test_sign_out_is_audited(world: World, client: Client) -> None:
    sign_in(client, "manager-a", PASSWORD)
    assert client.post("/logout/").status_code == 302
    assert AuditLog.objects.filter(action="core.sign_out", actor=world.manager_a).exists()
    assert client.get("/").status_code == 302


def test_console_is_chinese_first_whatever_the_browser_says(db: None, client: Client) -> None:
    page = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="zh-hans">' in page.content.decode()
    client.cookies["django_language"] = "en"
    assert '<html lang="en">' in client.get("/login/").content.decode()
    client.cookies["django_language"] = "klingon"
    assert '<html lang="zh-hans">' in client.get("/login/").content.decode()
