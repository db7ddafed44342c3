"""WSGI entry point (gunicorn serves it; see ``linli serve`` and :mod:`linli.core.wsgi`)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
django.setup(set_prefix=False)

from linli.core.wsgi import application as _application  # noqa: E402  (after setup)

application = _application()
