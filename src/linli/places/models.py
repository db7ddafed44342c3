"""Tables of places: community (社区/小区), building (楼栋), unit (单元), room (房屋)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.tenancy import ScopedQuerySet
from linli.places.choices import AreaKind, RoomUse

division_code_validator = RegexValidator(
    r"^\d{6}$", _("行政区划代码应为 6 位数字（GB/T 2260）。"), code="division_code"
)


class CommunityQuerySet(ScopedQuerySet["Community"]):
    """Communities, scoped by themselves."""


class Community(models.Model):
    """A residential community (社区/小区): the unit of tenancy every record belongs to."""

    scope_field = "id"

    name = models.CharField(_("名称"), max_length=100)
    code = models.SlugField(_("编码"), max_length=50, unique=True)
    address = models.CharField(_("地址"), max_length=200, blank=True, default="")
    division_code = models.CharField(
        _("行政区划代码"),
        max_length=6,
        blank=True,
        default="",
        validators=[division_code_validator],
    )
    boundary = models.JSONField(_("边界 (GeoJSON)"), null=True, blank=True)
    address_code = models.CharField(
        _("标准地址编码"),
        max_length=64,
        blank=True,
        default="",
        help_text=_("城市信息模型 (CIM) 或标准地址库中的编码，可选。"),
    )
    face_photo_retention_days = models.PositiveSmallIntegerField(
        _("人脸照片保留天数"),
        default=0,
        help_text=_("0：采集后不保留照片，只保留加密的人脸特征。"),
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = CommunityQuerySet.as_manager()

    class Meta:
        verbose_name = _("社区")
        verbose_name_plural = _("社区")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class BuildingQuerySet(ScopedQuerySet["Building"]):
    """Buildings, scoped by community."""


class Building(models.Model):
    """A building (楼栋) in a community."""

    scope_field = "community_id"

    community = models.ForeignKey(
        Community, verbose_name=_("社区"), on_delete=models.CASCADE, related_name="buildings"
    )
    number = models.CharField(_("楼号"), max_length=20)
    name = models.CharField(_("名称"), max_length=100, blank=True, default="")
    floors_above = models.PositiveSmallIntegerField(_("地上层数"), default=1)
    floors_below = models.PositiveSmallIntegerField(_("地下层数"), default=0)
    footprint = models.JSONField(_("轮廓 (GeoJSON)"), null=True, blank=True)

    objects = BuildingQuerySet.as_manager()

    class Meta:
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        ordering = ["community_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["community", "number"], name="building_number_unique")
        ]

    def __str__(self) -> str:
        return self.name or f"{self.number}号楼"


class UnitQuerySet(ScopedQuerySet["Unit"]):
    """Units, scoped by community."""


class Unit(models.Model):
    """A stairwell unit (单元) of a building."""

    scope_field = "community_id"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="+")
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.CASCADE, related_name="units"
    )
    number = models.CharField(_("单元号"), max_length=20)

    objects = UnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("单元")
        verbose_name_plural = _("单元")
        ordering = ["building_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["building", "number"], name="unit_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.number}单元"


class RoomQuerySet(ScopedQuerySet["Room"]):
    """Rooms, scoped by community."""


class Room(models.Model):
    """A room or flat (房屋) in a unit."""

    scope_field = "community_id"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(
        Unit, verbose_name=_("单元"), on_delete=models.CASCADE, related_name="rooms"
    )
    number = models.CharField(_("房号"), max_length=20)
    floor = models.SmallIntegerField(_("楼层"))
    area = models.DecimalField(
        _("面积 (m²)"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    use = models.CharField(
        _("用途"), max_length=16, choices=RoomUse.choices, default=RoomUse.RESIDENTIAL
    )

    objects = RoomQuerySet.as_manager()

    class Meta:
        verbose_name = _("房屋")
        verbose_name_plural = _("房屋")
        ordering = ["unit_id", "floor", "number"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "number"], name="room_number_unique")
        ]
        indexes = [models.Index(fields=["community", "use"], name="room_community_use")]

    def __str__(self) -> str:
        return self.number


class Area(models.Model):
    """An area of a community (区域): a gate, a parking lot, a garden, a public space."""

    scope_field = "community_id"

    community = models.ForeignKey(
        Community, verbose_name=_("社区"), on_delete=models.CASCADE, related_name="areas"
    )
    kind = models.CharField(_("类型"), max_length=16, choices=AreaKind.choices)
    name = models.CharField(_("名称"), max_length=100)
    geometry = models.JSONField(_("位置 (GeoJSON)"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True, default="")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("区域")
        verbose_name_plural = _("区域")
        ordering = ["community_id", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="area_name_unique")
        ]

    def __str__(self) -> str:
        return self.name
