"""Formatting for long lists, where Django's general `date` filter costs too much (it
was two thirds of the inbox page's template time, measured in bench/inbox.py)."""

import datetime as dt
import re

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def iso(moment: dt.datetime | None) -> str:
    return moment.isoformat() if moment else ""


@register.filter
def short_date(moment: dt.datetime | None) -> str:
    """Today's time as 14:05; this year's dates as "Nov 3"; older ones as 2024-11-03."""
    if not moment:
        return ""
    local = timezone.localtime(moment)
    today = timezone.localdate()
    if local.date() == today:
        return f"{local:%H:%M}"
    if local.year == today.year:
        return f"{local:%b} {local.day}"
    return f"{local:%Y-%m-%d}"


HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


@register.filter
def hex_color(value: str, default: str = "#8a8f98") -> str:
    """A #rrggbb colour as it came from Gmail, or `default` for anything else."""
    return value if value and HEX_COLOR.fullmatch(value) else default
