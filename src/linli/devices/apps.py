"""Devices app: the registry of terminals and sensors, their messages and commands."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevicesConfig(AppConfig):
    """Django app config of :mod:`linli.devices`."""

    name = "linli.devices"
    label = "devices"
    verbose_name = _("设备")

    def ready(self) -> None:
        """Register the app's background tasks with the worker."""
        from linli.devices import tasks  # noqa: F401
