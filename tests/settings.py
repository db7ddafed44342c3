"""Test settings: production settings with test keys, fast hashing, plain HTTP cookies."""

import os

os.environ.setdefault("LINLI_SECRET_KEY", "test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault(
    "LINLI_DATA_KEY",
    "t2:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=,t1:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=",
)
os.environ.setdefault("LINLI_SECURE_COOKIES", "0")
os.environ.setdefault("LINLI_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
if os.environ.get("LINLI_TEST_DATABASE_URL"):
    os.environ["LINLI_DATABASE_URL"] = os.environ["LINLI_TEST_DATABASE_URL"]

from linli.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # In-memory (shared-cache) test database: fast, and visible to the live server thread.
    DATABASES["default"]["TEST"] = {}  # noqa: F405
