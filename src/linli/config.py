"""Read Linli's configuration from the environment, with safe production defaults.

Every setting an operator may change is an environment variable named ``LINLI_*``; the
README lists them. Outside demo mode the platform refuses to start without a secret key
and a data key, so a forgotten variable can never run production on a public default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEMO_SECRET_KEY = "linli-demo-secret-key-not-for-production-0123456789abcdef"  # noqa: S105
# A fixed, public demo key: data encrypted in demo mode is protected from nobody.
DEMO_DATA_KEY = "demo:ZGVtby1kYXRhLWtleS1ub3QtZm9yLXByb2R1Y3Rpb24="


class ConfigError(RuntimeError):
    """A required setting is missing or malformed."""


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from exc


def _list(name: str) -> list[str]:
    raw = os.environ.get(name, "")
    return [item.strip() for item in raw.split(",") if item.strip()]


@dataclass(frozen=True)
class Config:
    """The resolved configuration of one Linli process."""

    home: Path
    demo: bool
    debug: bool
    secret_key: str
    data_key: str
    lookup_key_id: str
    database_url: str
    database_prepare: bool
    mqtt_url: str
    allowed_hosts: list[str]
    csrf_trusted_origins: list[str]
    trusted_proxies: list[str]
    secure_cookies: bool
    time_zone: str
    language: str
    log_level: str
    login_max_failures: int
    login_lockout_seconds: int
    hsts_seconds: int
    ssl_redirect: bool
    device_rate_per_second: int
    device_rate_burst: int
    device_max_waiters: int
    identity_provider: str = ""


def load() -> Config:
    """Resolve the configuration from ``LINLI_*`` environment variables."""
    home = Path(os.environ.get("LINLI_HOME") or Path.cwd()).resolve()
    demo = _bool("LINLI_DEMO", False)
    secret_key = os.environ.get("LINLI_SECRET_KEY", "")
    data_key = os.environ.get("LINLI_DATA_KEY", "")
    if demo:
        secret_key = secret_key or DEMO_SECRET_KEY
        data_key = data_key or DEMO_DATA_KEY
    missing = [
        name
        for name, value in (("LINLI_SECRET_KEY", secret_key), ("LINLI_DATA_KEY", data_key))
        if not value
    ]
    if missing:
        raise ConfigError(
            "refusing to start: set "
            + " and ".join(missing)
            + " (or LINLI_DEMO=1 for a throw-away demo); see the README's configuration table"
        )
    if not demo and secret_key == DEMO_SECRET_KEY:
        raise ConfigError("refusing to start: LINLI_SECRET_KEY is the public demo key")
    default_db = f"sqlite:///{home / 'var' / 'linli.sqlite3'}"
    allowed = _list("LINLI_ALLOWED_HOSTS") or (["*"] if demo else ["localhost", "127.0.0.1"])
    return Config(
        home=home,
        demo=demo,
        debug=_bool("LINLI_DEBUG", False),
        secret_key=secret_key,
        data_key=data_key,
        lookup_key_id=os.environ.get("LINLI_LOOKUP_KEY_ID", ""),
        database_url=os.environ.get("LINLI_DATABASE_URL") or default_db,
        database_prepare=_bool("LINLI_DATABASE_PREPARE", True),
        mqtt_url=os.environ.get("LINLI_MQTT_URL", ""),
        allowed_hosts=allowed,
        csrf_trusted_origins=_list("LINLI_CSRF_TRUSTED_ORIGINS"),
        trusted_proxies=_list("LINLI_TRUSTED_PROXIES"),
        secure_cookies=_bool("LINLI_SECURE_COOKIES", not demo),
        time_zone=os.environ.get("LINLI_TIME_ZONE", "Asia/Shanghai"),
        language=os.environ.get("LINLI_LANGUAGE", "zh-hans"),
        log_level=os.environ.get("LINLI_LOG_LEVEL", "INFO").upper(),
        login_max_failures=_int("LINLI_LOGIN_MAX_FAILURES", 5),
        login_lockout_seconds=_int("LINLI_LOGIN_LOCKOUT_SECONDS", 900),
        hsts_seconds=_int("LINLI_HSTS_SECONDS", 0),
        ssl_redirect=_bool("LINLI_SSL_REDIRECT", False),
        device_rate_per_second=_int("LINLI_DEVICE_RATE_PER_SECOND", 50),
        device_rate_burst=_int("LINLI_DEVICE_RATE_BURST", 200),
        device_max_waiters=_int("LINLI_DEVICE_MAX_WAITERS", 4),
        identity_provider=os.environ.get("LINLI_IDENTITY_PROVIDER", "").strip(),
    )
