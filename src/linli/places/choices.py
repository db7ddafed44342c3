"""Enumerations of places."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RoomUse(models.TextChoices):
    """What a room is used for."""

    RESIDENTIAL = "residential", _("住宅")
    COMMERCIAL = "commercial", _("商业")
    RENTAL = "rental", _("出租")
    VACANT = "vacant", _("空置")


class AreaKind(models.TextChoices):
    """Kinds of area in a community (区域)."""

    GATE = "gate", _("出入口")
    PARKING = "parking", _("停车场")
    GARDEN = "garden", _("绿地花园")
    PUBLIC_SPACE = "public_space", _("公共空间")
    OTHER = "other", _("其他")
