"""WSGI entry point (``linli serve`` serves it; see :mod:`linli.core.wsgi`)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
django.setup(set_prefix=False)

from linli.core.sqlite import start_checkpointer  # noqa: E402
from linli.core.wsgi import application as _application  # noqa: E402  (after setup)
from linli.core.wsgi import freeze_startup_objects  # noqa: E402

application = _application()
freeze_startup_objects()
start_checkpointer()
