"""Linli's production settings, with the bench-only URLconf in front of Linli's URLs."""

from linli.settings import *  # noqa: F403

ROOT_URLCONF = "bench.site.urls"

# The access benchmark's other baseline: a do-nothing POST served the way the decision is.
DIRECT_ENDPOINTS = {**DIRECT_ENDPOINTS, "/bench/noop-direct": "bench.site.views.noop_direct"}  # noqa: F405
