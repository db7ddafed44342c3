"""Core app: organisations, users, grants, tenancy, audit, field encryption."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """Django app config of :mod:`linli.core`."""

    name = "linli.core"
    label = "core"
    verbose_name = _("核心")

    def ready(self) -> None:
        """Register the core background tasks (housekeeping, import jobs) with the worker."""
        from linli.core import jobs, tasks  # noqa: F401
