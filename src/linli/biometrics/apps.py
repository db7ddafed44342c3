"""Biometrics app: templates, galleries, identification at doors, evaluation."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BiometricsConfig(AppConfig):
    """Django app config of :mod:`linli.biometrics`."""

    name = "linli.biometrics"
    label = "biometrics"
    verbose_name = _("生物特征")

    def ready(self) -> None:
        """Register the background tasks."""
        from linli.biometrics import tasks  # noqa: F401
