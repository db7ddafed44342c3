"""Enumerations of the core domain."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganisationType(models.TextChoices):
    """Kinds of organisation that hold grants on communities."""

    PROPERTY_COMPANY = "property_company", _("物业公司")
    COMMUNITY_COMMITTEE = "community_committee", _("社区居委会")
    STREET_OFFICE = "street_office", _("街道办事处")
    POLICE_STATION = "police_station", _("派出所")
    CITY_PLATFORM = "city_platform", _("城市管理平台")
    SERVICE_PROVIDER = "service_provider", _("服务商")


class Role(models.TextChoices):
    """Roles a user or organisation can hold on a community (see :mod:`linli.core.roles`)."""

    PLATFORM_ADMIN = "platform_admin", _("平台管理员")
    PROPERTY_MANAGER = "property_manager", _("物业经理")
    FRONT_DESK = "front_desk", _("前台")
    SECURITY_GUARD = "security_guard", _("保安")
    TECHNICIAN = "technician", _("维修技师")
    ACCOUNTANT = "accountant", _("财务")
    COMMITTEE_OFFICER = "committee_officer", _("居委会干部")
    STREET_OFFICER = "street_officer", _("街道干部")
    POLICE_LIAISON = "police_liaison", _("社区民警")
    SERVICE_PROVIDER = "service_provider", _("服务商")
    RESIDENT = "resident", _("居民")
