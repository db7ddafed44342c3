"""Template filters of access pages."""

from django import template

from linli.access.choices import reason_label

register = template.Library()


@register.filter
def reason(code: str) -> str:
    """Show an access decision's reason code as its label."""
    return reason_label(code)
