"""Access app: access points, policies, credentials, 一码通 passes, visitors, decisions."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    """Django app config of :mod:`linli.access`."""

    name = "linli.access"
    label = "access"
    verbose_name = _("门禁通行")

    def ready(self) -> None:
        """Subscribe to the registry's events and register the background tasks."""
        from linli.access import door_events, handlers, requests, tasks  # noqa: F401
