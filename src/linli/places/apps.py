"""Places app: communities, buildings, units, rooms and their geometry."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlacesConfig(AppConfig):
    """Django app config of :mod:`linli.places`."""

    name = "linli.places"
    label = "places"
    verbose_name = _("场所")
