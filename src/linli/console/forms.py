"""Console forms: input parsing for the pages, with domain errors shown on the form.

Forms only parse and check the shape of input; the action they feed decides and writes.
:meth:`ConsoleForm.attempt` runs the action and turns the platform's errors
(:class:`~linli.core.errors.ValidationFailed` details, a conflict's or a refusal's
message) into errors next to the fields and in the summary above them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from django import forms
from django.forms.boundfield import BoundField
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.console.components import pretty_json
from linli.core import errors
from linli.core.choices import Role
from linli.core.roles import GLOBAL_ROLES
from linli.people.choices import (
    CareTag,
    IdType,
    Kinship,
    RegistrationCategory,
    Relation,
    TenancyPurpose,
)
from linli.people.codes import CHINA, Ethnicity, country_choices
from linli.places.choices import AreaKind, RoomUse
from linli.places.models import division_code_validator

T = TypeVar("T")


class ConsoleBoundField(BoundField):
    """A bound field whose widget is marked ``is-invalid`` when the field has errors."""

    def build_widget_attrs(self, attrs: Any, widget: Any = None) -> Any:
        """Add Bootstrap's ``is-invalid`` to an erroneous field's classes."""
        attrs = super().build_widget_attrs(attrs, widget)
        if self.errors:
            base = (widget or self.field.widget).attrs.get("class", "")
            attrs["class"] = f"{attrs.get('class', base)} is-invalid".strip()
        return attrs


class ConsoleForm(forms.Form):
    """Base of console forms: Bootstrap classes, and domain errors shown on the form."""

    bound_field_class = ConsoleBoundField
    # Action error keys that name a different form field (``None``: the summary only).
    error_fields: Mapping[str, str | None] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.error_status = 200
        for f in self.fields.values():
            widget = f.widget
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect):
                css = "form-check-input"  # RadioSelect covers CheckboxSelectMultiple
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs.setdefault("class", css)

    def _choices(self, name: str, choices: list[tuple[str, Any]]) -> None:
        """Set the choices of a choice field built at request time (e.g. translated)."""
        field = self.fields[name]
        if not isinstance(field, forms.ChoiceField):
            raise TypeError(f"{name} is not a choice field")
        field.choices = choices

    def is_valid(self) -> bool:
        """Validate, and answer 422 when the input is malformed."""
        valid = super().is_valid()
        if not valid:
            self.error_status = 422
        return valid

    def show_error(self, exc: errors.LinliError) -> None:
        """Put a domain error's messages on the form: per field where one is named."""
        self.error_status = exc.status
        if isinstance(exc, errors.ValidationFailed):
            if str(exc.message) != str(errors.ValidationFailed.default_message):
                self.add_error(None, str(exc.message))
            details = exc.details if isinstance(exc.details, dict) else {}
            for key, messages in details.items():
                name = self.error_fields.get(key, key)
                target = name if name in self.fields else None
                for message in messages if isinstance(messages, list) else [messages]:
                    self.add_error(target, str(message))
            if not details and str(exc.message) == str(errors.ValidationFailed.default_message):
                self.add_error(None, str(exc.message))
        else:
            # A conflict's or a refusal's details are data for programs, not messages.
            self.add_error(None, str(exc.message))

    def attempt(self, action: Callable[[], T]) -> T | None:
        """Run ``action``; on a domain error show it here and return ``None``.

        Missing objects (404) and lost sessions still propagate: they are not something
        the user can fix by editing the form.
        """
        try:
            return action()
        except (errors.NotFound, errors.NotAuthenticated):
            raise
        except errors.LinliError as exc:
            self.show_error(exc)
            return None


def geojson_text(value: Any) -> str:
    """Format GeoJSON for a text box: indented, one ``[lon, lat]`` pair per line."""
    return pretty_json(value) if value else ""


class CommunityForm(ConsoleForm):
    """Edit a community's details; the boundary is GeoJSON text."""

    name = forms.CharField(label=gettext_lazy("名称"), max_length=100)
    address = forms.CharField(label=gettext_lazy("地址"), max_length=200, required=False)
    division_code = forms.CharField(
        label=gettext_lazy("行政区划代码"),
        max_length=6,
        required=False,
        validators=[division_code_validator],
        help_text=gettext_lazy("6 位数字，见 GB/T 2260。"),
    )
    address_code = forms.CharField(
        label=gettext_lazy("标准地址编码"),
        max_length=64,
        required=False,
        help_text=gettext_lazy("城市信息模型 (CIM) 或标准地址库中的编码，可选。"),
    )
    boundary = forms.CharField(
        label=gettext_lazy("边界 (GeoJSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        help_text=gettext_lazy("WGS 84 经纬度的 Polygon 或 MultiPolygon；留空表示没有边界。"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["boundary"].widget.attrs["class"] += " font-monospace small"

    def clean_boundary(self) -> dict[str, Any] | None:
        """Parse the boundary text as JSON (the action checks the geometry)."""
        text = self.cleaned_data["boundary"].strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("不是有效的 JSON（第 %(line)d 行，第 %(column)d 列）。")
                % {"line": exc.lineno, "column": exc.colno}
            ) from exc
        if not isinstance(value, dict):
            raise forms.ValidationError(_("应为 GeoJSON 对象。"))
        return value


class GrantForm(ConsoleForm):
    """Give a role on a community to a user (by user name) or to an organisation."""

    error_fields = {"holder": None}

    community = forms.TypedChoiceField(label=gettext_lazy("社区"), coerce=int)
    role = forms.ChoiceField(label=gettext_lazy("角色"))
    username = forms.CharField(label=gettext_lazy("用户名"), max_length=150, required=False)
    organisation = forms.TypedChoiceField(
        label=gettext_lazy("或组织"), coerce=int, required=False, empty_value=None
    )

    def __init__(
        self,
        *args: Any,
        communities: Sequence[tuple[int, str]],
        organisations: Sequence[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = list(communities)  # type: ignore[attr-defined]
        self.fields["role"].choices = [  # type: ignore[attr-defined]
            (value, label) for value, label in Role.choices if value not in GLOBAL_ROLES
        ]
        self.fields["organisation"].choices = [("", "—"), *organisations]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        """Require exactly one holder: a user name or an organisation."""
        data = super().clean() or {}
        if bool(data.get("username", "").strip()) == (data.get("organisation") is not None):
            raise forms.ValidationError(_("请填写用户名或选择组织，二者选一。"))
        return data


class ApiTokenForm(ConsoleForm):
    """Create an API token for oneself."""

    error_fields = {"expires_at": "expires_on"}

    name = forms.CharField(
        label=gettext_lazy("名称"),
        max_length=100,
        help_text=gettext_lazy("写明用途，例如“门禁同步脚本”。"),
    )
    read_only = forms.BooleanField(label=gettext_lazy("只读"), required=False)
    expires_on = forms.DateField(
        label=gettext_lazy("有效期至"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("留空表示长期有效。"),
    )

    def expires_at(self) -> dt.datetime | None:
        """Return the end of the chosen day in the current time zone, or ``None``."""
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))


def _geojson(text: str) -> dict[str, Any] | None:
    """Parse GeoJSON text (the action checks the geometry); raise a form error if not JSON."""
    text = text.strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(_("不是有效的 JSON：%(reason)s") % {"reason": exc.msg}) from exc
    if not isinstance(value, dict):
        raise forms.ValidationError(_("应为 GeoJSON 对象。"))
    return value


class BuildingGenerateForm(ConsoleForm):
    """A building with its units and rooms generated from a room-number pattern."""

    number = forms.CharField(label=gettext_lazy("楼号"), max_length=20)
    name = forms.CharField(label=gettext_lazy("名称"), max_length=100, required=False)
    floors_above = forms.IntegerField(label=gettext_lazy("地上层数"), min_value=1, max_value=200)
    floors_below = forms.IntegerField(
        label=gettext_lazy("地下层数"), min_value=0, max_value=20, initial=0
    )
    units = forms.IntegerField(label=gettext_lazy("单元数"), min_value=1, max_value=50, initial=1)
    rooms_per_floor = forms.IntegerField(
        label=gettext_lazy("每单元每层户数"), min_value=1, max_value=50, initial=2
    )
    first_floor = forms.IntegerField(
        label=gettext_lazy("住户起始楼层"), min_value=1, max_value=200, initial=1
    )
    pattern = forms.CharField(
        label=gettext_lazy("房号规则"),
        max_length=40,
        initial="{floor}{index:02d}",
        help_text=gettext_lazy(
            "{floor} 楼层，{index} 本层第几户，{unit} 单元号；"
            "“{floor}{index:02d}”生成 101、102 … 1202。"
        ),
    )
    area = forms.DecimalField(
        label=gettext_lazy("每户面积 (m²)"),
        required=False,
        min_value=0,
        max_digits=8,
        decimal_places=2,
    )
    use = forms.ChoiceField(label=gettext_lazy("用途"), choices=RoomUse.choices)


class AreaForm(ConsoleForm):
    """An area of a community; the location is GeoJSON text (a Point or a Polygon)."""

    kind = forms.ChoiceField(label=gettext_lazy("类型"), choices=AreaKind.choices)
    name = forms.CharField(label=gettext_lazy("名称"), max_length=100)
    geometry = forms.CharField(
        label=gettext_lazy("位置 (GeoJSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text=gettext_lazy("出入口可用 Point，其他区域用 Polygon；WGS 84 经纬度。"),
    )
    note = forms.CharField(label=gettext_lazy("备注"), max_length=200, required=False)

    def clean_geometry(self) -> dict[str, Any] | None:
        """Parse the location text as JSON."""
        return _geojson(self.cleaned_data["geometry"])


class PersonForm(ConsoleForm):
    """Register a person, or (without the ID fields) change one."""

    name = forms.CharField(label=gettext_lazy("姓名"), max_length=100)
    id_type = forms.ChoiceField(
        label=gettext_lazy("证件类型"), choices=IdType.choices, initial=IdType.RESIDENT_ID
    )
    id_number = forms.CharField(label=gettext_lazy("证件号码"), max_length=40)
    phone = forms.CharField(label=gettext_lazy("手机号码"), max_length=20, required=False)
    ethnicity = forms.ChoiceField(label=gettext_lazy("民族"), required=False)
    nationality = forms.ChoiceField(label=gettext_lazy("国籍"), required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choices("ethnicity", [("", "—"), *Ethnicity.choices])
        self._choices("nationality", list(country_choices()))
        self.fields["nationality"].initial = CHINA
        if editing:
            del self.fields["id_type"]
            del self.fields["id_number"]
            self.fields["phone"].help_text = gettext_lazy("留空则删除手机号码；不修改请保留原值。")


class PhotoForm(ConsoleForm):
    """Upload a person's photo."""

    photo = forms.FileField(
        label=gettext_lazy("照片"), help_text=gettext_lazy("JPEG 或 PNG，不超过 2 MB。")
    )


class MoveInForm(ConsoleForm):
    """A person moves into a room: 入住登记."""

    building = forms.CharField(label=gettext_lazy("楼号"), max_length=20)
    unit = forms.CharField(label=gettext_lazy("单元"), max_length=20)
    room = forms.CharField(label=gettext_lazy("房号"), max_length=20)
    relation = forms.ChoiceField(label=gettext_lazy("居住关系"), choices=Relation.choices)
    kinship = forms.ChoiceField(label=gettext_lazy("与户主关系"), required=False)
    category = forms.ChoiceField(
        label=gettext_lazy("户籍类别"),
        choices=RegistrationCategory.choices,
        initial=RegistrationCategory.PERMANENT,
    )
    date_from = forms.DateField(
        label=gettext_lazy("入住日期"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    joint_owner = forms.BooleanField(
        label=gettext_lazy("共有产权人"),
        required=False,
        help_text=gettext_lazy("房屋已有业主时，勾选表示与其共有产权。"),
    )
    new_household = forms.BooleanField(
        label=gettext_lazy("单独立户"),
        required=False,
        help_text=gettext_lazy("不加入房屋中已有的户，自己作为户主。"),
    )
    error_fields = {"person": None, "household": None}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choices("kinship", [("", "—"), *Kinship.choices])
        self.fields["date_from"].initial = timezone.localdate()


class MoveOutForm(ConsoleForm):
    """A residency ends: 迁出登记."""

    date_to = forms.DateField(
        label=gettext_lazy("迁出日期"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["date_to"].initial = timezone.localdate()


class BuildingForm(ConsoleForm):
    """Change a building's name, floor counts and footprint."""

    name = forms.CharField(label=gettext_lazy("名称"), max_length=100, required=False)
    floors_above = forms.IntegerField(label=gettext_lazy("地上层数"), min_value=1, max_value=200)
    floors_below = forms.IntegerField(label=gettext_lazy("地下层数"), min_value=0, max_value=20)
    footprint = forms.CharField(
        label=gettext_lazy("轮廓 (GeoJSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text=gettext_lazy("WGS 84 经纬度的 Polygon；留空表示没有轮廓。"),
    )

    def clean_footprint(self) -> dict[str, Any] | None:
        """Parse the footprint text as JSON."""
        return _geojson(self.cleaned_data["footprint"])


class RoomForm(ConsoleForm):
    """Change a room's floor, area and use."""

    floor = forms.IntegerField(label=gettext_lazy("楼层"), min_value=-20, max_value=200)
    area = forms.DecimalField(
        label=gettext_lazy("面积 (m²)"), required=False, min_value=0, max_digits=8, decimal_places=2
    )
    use = forms.ChoiceField(label=gettext_lazy("用途"), choices=RoomUse.choices)


class TenancyForm(ConsoleForm):
    """Register a rental (出租屋登记): landlord, lease period and purpose."""

    landlord = forms.ChoiceField(label=gettext_lazy("房东"), required=False)
    date_from = forms.DateField(
        label=gettext_lazy("起租日期"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=gettext_lazy("租约到期"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    purpose = forms.ChoiceField(label=gettext_lazy("出租用途"), choices=TenancyPurpose.choices)
    note = forms.CharField(label=gettext_lazy("备注"), max_length=200, required=False)
    error_fields = {"tenants": None, "person": None}

    def __init__(
        self, *args: Any, landlords: Sequence[tuple[int, str]] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._choices("landlord", [("", "—"), *((str(pk), name) for pk, name in landlords)])


class TenantForm(ConsoleForm):
    """One tenant of a rental: registered on the spot, or found by ID number."""

    name = forms.CharField(label=gettext_lazy("姓名"), max_length=100)
    id_type = forms.ChoiceField(
        label=gettext_lazy("证件类型"), choices=IdType.choices, initial=IdType.RESIDENT_ID
    )
    id_number = forms.CharField(label=gettext_lazy("证件号码"), max_length=40)
    phone = forms.CharField(label=gettext_lazy("手机号码"), max_length=20, required=False)
    category = forms.ChoiceField(
        label=gettext_lazy("户籍类别"),
        choices=RegistrationCategory.choices,
        initial=RegistrationCategory.FLOATING,
    )

    def has_changed(self) -> bool:
        """A row without a name and an ID number is an unused row, whatever its selects say."""
        return bool(
            self.data.get(self.add_prefix("name"), "").strip()
            or self.data.get(self.add_prefix("id_number"), "").strip()
        )


TenantFormSet = forms.formset_factory(TenantForm, extra=3, max_num=20, validate_max=True)


class TenancyExtendForm(ConsoleForm):
    """Renew a lease to a later end (续租)."""

    date_to = forms.DateField(
        label=gettext_lazy("新的租约到期日"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class TenancyEndForm(ConsoleForm):
    """End a rental (退租): every remaining tenant moves out."""

    ended_on = forms.DateField(
        label=gettext_lazy("退租日期"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ended_on"].initial = timezone.localdate()


class VehicleForm(ConsoleForm):
    """Register a resident's vehicle."""

    plate = forms.CharField(
        label=gettext_lazy("车牌号"),
        max_length=12,
        help_text=gettext_lazy("如 浙A12345；新能源如 浙AD12345。"),
    )
    description = forms.CharField(
        label=gettext_lazy("车辆描述"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("颜色、品牌等，可选。"),
    )


class CareForm(ConsoleForm):
    """Add a special-care tag (重点关爱)."""

    tag = forms.ChoiceField(label=gettext_lazy("关爱类别"), choices=CareTag.choices)
    note = forms.CharField(label=gettext_lazy("备注"), max_length=200, required=False)


def _kinship_choices() -> list[tuple[str, Any]]:
    return [(k, label) for k, label in Kinship.choices if k != Kinship.HEAD]


class KinshipForm(ConsoleForm):
    """Correct a member's relation to the household head."""

    kinship = forms.ChoiceField(label=gettext_lazy("与户主关系"))
    occurred_on = forms.DateField(
        label=gettext_lazy("变动日期"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choices("kinship", _kinship_choices())
        self.fields["occurred_on"].initial = timezone.localdate()


class HouseholdTransferForm(KinshipForm):
    """Move a member to another household of the room, or split off a new one (分户)."""

    household = forms.ChoiceField(label=gettext_lazy("迁入的户"))
    field_order = ["household", "kinship", "occurred_on"]

    def __init__(
        self, *args: Any, households: Sequence[tuple[int, str]] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._choices(
            "household",
            [("new", _("单独立户（本人为户主）")), *((str(pk), label) for pk, label in households)],
        )
        self.fields["kinship"].required = False
        self.fields["kinship"].help_text = gettext_lazy("单独立户时不用选择。")


class HouseholdHeadForm(ConsoleForm):
    """Make another member the head of a household (变更户主)."""

    member = forms.ChoiceField(label=gettext_lazy("新户主"))
    former_head_kinship = forms.ChoiceField(label=gettext_lazy("原户主与新户主的关系"))
    occurred_on = forms.DateField(
        label=gettext_lazy("变动日期"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, members: Sequence[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choices("member", [(str(pk), name) for pk, name in members])
        self._choices("former_head_kinship", _kinship_choices())
        self.fields["occurred_on"].initial = timezone.localdate()


class AccountForm(ConsoleForm):
    """Open a resident's sign-in account."""

    username = forms.CharField(label=gettext_lazy("用户名"), max_length=150)
    password = forms.CharField(
        label=gettext_lazy("初始密码"),
        widget=forms.PasswordInput(render_value=False),
        help_text=gettext_lazy("请线下告知居民，并提醒其登录后修改。"),
    )
