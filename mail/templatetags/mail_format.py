"""Formatting for long lists, where Django's general `date` filter costs too much (it
was two thirds of the inbox page's template time, measured in bench/inbox.py)."""

import datetime as dt

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
