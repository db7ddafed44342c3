"""Configuration: production refuses to start without keys; demo has safe throw-away ones."""

from __future__ import annotations

import pytest

from linli import config

pytestmark = pytest.mark.db_independent


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "LINLI_SECRET_KEY",
        "LINLI_DATA_KEY",
        "LINLI_DEMO",
        "LINLI_SECURE_COOKIES",
        "LINLI_DEBUG",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_production_refuses_to_start_without_keys(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(config.ConfigError, match="LINLI_SECRET_KEY and LINLI_DATA_KEY"):
        config.load()
    clean_env.setenv("LINLI_SECRET_KEY", "x" * 50)
    with pytest.raises(config.ConfigError, match="LINLI_DATA_KEY"):
        config.load()


def test_production_refuses_the_public_demo_key(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("LINLI_SECRET_KEY", config.DEMO_SECRET_KEY)
    clean_env.setenv("LINLI_DATA_KEY", config.DEMO_DATA_KEY)
    with pytest.raises(config.ConfigError, match="public demo key"):
        config.load()


def test_production_defaults_are_safe(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("LINLI_SECRET_KEY", "x" * 50)
    clean_env.setenv("LINLI_DATA_KEY", "k1:" + "A" * 44)
    cfg = config.load()
    assert cfg.debug is False
    assert cfg.secure_cookies is True
    assert "*" not in cfg.allowed_hosts


def test_demo_runs_without_keys(clean_env: pytest.MonkeyPatch, tmp_path: object) -> None:
    clean_env.setenv("LINLI_DEMO", "1")
    clean_env.setenv("LINLI_HOME", str(tmp_path))
    cfg = config.load()
    assert cfg.secret_key and cfg.data_key
    assert cfg.database_url.startswith("sqlite:///") and "var" in cfg.database_url


def test_bad_boolean_is_a_clear_error(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("LINLI_DEMO", "perhaps")
    with pytest.raises(config.ConfigError, match="LINLI_DEMO must be true or false"):
        config.load()


def test_postgresql_gets_linlis_backend_and_prepared_statements_unless_turned_off(
    clean_env: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from linli import settings

    clean_env.setenv("LINLI_DEMO", "1")
    clean_env.setenv("LINLI_HOME", str(tmp_path))
    assert config.load().database_prepare is True
    clean_env.setattr(settings, "CONFIG", config.load())
    db = settings._database("postgresql://linli@db:5432/linli")
    assert db["ENGINE"] == "linli.core.pgbackend"
    assert db["CONN_HEALTH_CHECKS"] is True
    assert db["OPTIONS"] == {"prepare_threshold": 5}
    clean_env.setenv("LINLI_DATABASE_PREPARE", "0")
    clean_env.setattr(settings, "CONFIG", config.load())
    assert "prepare_threshold" not in settings._database("postgresql://db/linli").get("OPTIONS", {})
    sqlite = settings._database(f"sqlite:///{tmp_path}/x.sqlite3")
    assert sqlite["ENGINE"] == "django.db.backends.sqlite3"
