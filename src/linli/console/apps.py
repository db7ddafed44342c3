"""Console app: the web pages for property staff, committees, street offices and police."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    """Django app config of :mod:`linli.console`."""

    name = "linli.console"
    label = "console"
    verbose_name = _("控制台")
