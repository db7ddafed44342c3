"""Django settings for Linli, built from :mod:`linli.config` (environment variables)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import dj_database_url

from linli import config as _config

CONFIG = _config.load()
BASE_DIR = Path(__file__).resolve().parent
LINLI_HOME = CONFIG.home
VAR_DIR = LINLI_HOME / "var"

SECRET_KEY = CONFIG.secret_key
DEBUG = CONFIG.debug
LINLI_DEMO = CONFIG.demo
ALLOWED_HOSTS = CONFIG.allowed_hosts
CSRF_TRUSTED_ORIGINS = CONFIG.csrf_trusted_origins
LINLI_TRUSTED_PROXIES = CONFIG.trusted_proxies
LINLI_DATA_KEY = CONFIG.data_key
LINLI_LOOKUP_KEY_ID = CONFIG.lookup_key_id
LINLI_MQTT_URL = CONFIG.mqtt_url
LINLI_LOGIN_MAX_FAILURES = CONFIG.login_max_failures
LINLI_LOGIN_LOCKOUT_SECONDS = CONFIG.login_lockout_seconds
LINLI_DEVICE_RATE_PER_SECOND = CONFIG.device_rate_per_second
LINLI_DEVICE_RATE_BURST = CONFIG.device_rate_burst
LINLI_DEVICE_MAX_WAITERS = CONFIG.device_max_waiters
LINLI_IDENTITY_PROVIDER = CONFIG.identity_provider

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "linli.core",
    "linli.places",
    "linli.people",
    "linli.devices",
    "linli.access",
    "linli.biometrics",
    "linli.console",
    "ninja",
]

MIDDLEWARE = [
    "linli.core.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "linli.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "linli.core.middleware.LinliErrorMiddleware",
]

# Devices (``/device/…``) are served without the console's middleware (linli.core.wsgi):
# they authenticate on every request and use no session, CSRF token, user or message.
DEVICE_MIDDLEWARE = [
    "linli.core.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "linli.core.middleware.LanguageMiddleware",
]

# Device endpoints on a door's hot path answered without Django's request handling, by
# path (linli.core.wsgi): the same answers as the URL's view, at about half the CPU.
DIRECT_ENDPOINTS = {"/device/v1/access/decide": "linli.access.http.decide_direct"}

ROOT_URLCONF = "linli.urls"
WSGI_APPLICATION = "linli.wsgi.application"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:dashboard"
LOGOUT_REDIRECT_URL = "console:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "linli.console.context.console",
            ],
        },
    },
]


def _database(url: str) -> dict[str, Any]:
    # Connections persist across requests: reconnecting (and, for SQLite, re-running the
    # PRAGMAs) on every request halved throughput in the api benchmark.
    db: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    if db["ENGINE"] == "django.db.backends.sqlite3":
        Path(db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        db["OPTIONS"] = {
            # WAL lets the web, gateway and worker roles read while one of them writes.
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA busy_timeout=10000"
            ),
            # Take the write lock at BEGIN so concurrent writers queue instead of failing.
            "transaction_mode": "IMMEDIATE",
        }
        db["TEST"] = {"NAME": str(Path(db["NAME"]).with_suffix(".test.sqlite3"))}
    elif db["ENGINE"] == "django.db.backends.postgresql":
        # Django's PostgreSQL backend, with a health check that needs no round trip while
        # the connection is in steady use (linli.core.pgbackend).
        db["ENGINE"] = "linli.core.pgbackend"
        db["CONN_HEALTH_CHECKS"] = True
        if CONFIG.database_prepare:
            # Statements run five times on a connection are prepared: only those whose
            # parameters the server binds (linli.core.sql.bound_cursor, the hot paths);
            # Django's own cursor binds on the client and never prepares.
            db["OPTIONS"] = {"prepare_threshold": 5}
    return db


DATABASES = {"default": _database(CONFIG.database_url)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = CONFIG.language
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = CONFIG.time_zone
USE_TZ = True


def _package_dir(name: str) -> str:
    """Return the folder of an installed package (namespace packages included)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise _config.ConfigError(f"the package providing {name!r} is not installed")
    return str(next(iter(spec.submodule_search_locations)))


STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"  # for `collectstatic` behind a web server
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Front-end libraries come from installed packages, never from a CDN or a committed copy.
STATICFILES_DIRS = [("vendor/bootstrap", _package_dir("bootstrap"))]
# WhiteNoise serves straight from the finders: no collectstatic step for a fresh install.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_MAX_AGE = 3600

SESSION_COOKIE_SECURE = CONFIG.secure_cookies
CSRF_COOKIE_SECURE = CONFIG.secure_cookies
LANGUAGE_COOKIE_SECURE = CONFIG.secure_cookies
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 3600
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if CONFIG.trusted_proxies:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = CONFIG.hsts_seconds
SECURE_SSL_REDIRECT = CONFIG.ssl_redirect

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "linli.core.context.RequestIdLogFilter"}},
    "formatters": {
        "line": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request"],
            "formatter": "line",
        },
    },
    "root": {"handlers": ["console"], "level": CONFIG.log_level},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
    },
}

NINJA_PAGINATION_PER_PAGE = 50
