"""People app: residents, residencies, and later households, vehicles and changes."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    """Django app config of :mod:`linli.people`."""

    name = "linli.people"
    label = "people"
    verbose_name = _("人员")

    def ready(self) -> None:
        """Register the app's background tasks with the worker."""
        from linli.people import tasks  # noqa: F401
