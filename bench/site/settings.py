"""Linli's production settings, with the bench-only URLconf in front of Linli's URLs."""

from linli.settings import *  # noqa: F403

ROOT_URLCONF = "bench.site.urls"
