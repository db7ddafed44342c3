"""Enumerations of places."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RoomUse(models.TextChoices):
    """What a room is used for."""

    RESIDENTIAL = "residential", _("住宅")
    COMMERCIAL = "commercial", _("商业")
    RENTAL = "rental", _("出租")
    VACANT = "vacant", _("空置")
