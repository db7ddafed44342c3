"""A bench-only Django site: Linli's settings and URLs plus the benchmarks' own endpoints.

Nothing here is part of the product; the server under test runs ``linli serve`` with
``DJANGO_SETTINGS_MODULE=bench.site.settings``.
"""
