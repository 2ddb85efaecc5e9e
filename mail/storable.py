"""Making whatever Gmail sends storable in the mirror.

Anyone can send a Tern user an email, so every value taken from Gmail is hostile input:
PostgreSQL text cannot hold NUL, UTF-8 cannot encode a lone surrogate (JSON can carry
one as an escape), and a bounded column refuses a longer value. One such value used to
stop a mailbox's sync for good. Each field is cleaned here by the rules of the column it
goes into, read from the model itself, so a new column is covered the day it is added.
"""

import re
from collections.abc import Mapping

from django.db import models
from django.db.models import ForeignObjectRel

# NUL (PostgreSQL text refuses it) and lone surrogates (UTF-8 cannot encode them).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
INT_RANGES: dict[type[models.Field], tuple[int, int]] = {
    models.PositiveIntegerField: (0, 2**31 - 1),
    models.PositiveBigIntegerField: (0, 2**63 - 1),
    models.IntegerField: (-(2**31), 2**31 - 1),
    models.BigIntegerField: (-(2**63), 2**63 - 1),
}


def clean_text(value: object) -> str:
    """`value` as a str PostgreSQL stores: characters it refuses removed."""
    if not isinstance(value, str):
        value = "" if value is None else str(value)
    return UNSTORABLE.sub("", value)


def clip(value: str, limit: int) -> str:
    """At most `limit` characters; a file name keeps its extension when it fits."""
    if len(value) <= limit:
        return value
    stem, dot, extension = value.rpartition(".")
    if dot and stem and len(extension) < 16 and len(extension) + 1 < limit:
        return stem[: limit - len(extension) - 1] + "." + extension
    return value[:limit]


def storable(model: type[models.Model], values: Mapping[str, object]) -> dict[str, object]:
    """`values` (column name -> value) made fit for `model`'s columns."""
    cleaned: dict[str, object] = {}
    for name, value in values.items():
        field = model._meta.get_field(name)
        cleaned[name] = _storable_value(field, value)
    return cleaned


def _storable_value(field: models.Field | ForeignObjectRel, value: object) -> object:
    if isinstance(field, models.CharField | models.TextField):
        text = clean_text(value)
        return clip(text, field.max_length) if field.max_length else text
    if isinstance(field, models.Field) and type(field) in INT_RANGES:
        low, high = INT_RANGES[type(field)]
        number = _as_int(value)
        if number is not None and low <= number <= high:
            return number
        if field.null:  # a history id out of range means nothing once clamped: dropped
            return None
        return 0 if number is None else min(max(number, low), high)  # a size: clamped
    return value


def _as_int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]  # any value: int() refusing it is the test
    except (TypeError, ValueError, OverflowError):
        return None


def error_summary(error: BaseException) -> str:
    """What went wrong, for an operator, without the data that made it go wrong."""
    try:
        return ", ".join([type(error).__name__, *error_details(error)])[:255]
    except Exception:  # describing an error must never raise one of its own
        return type(error).__name__


def error_details(error: BaseException) -> list[str]:
    """The data-free facts of an error: a database error's text quotes the values it
    refused (an address, a subject), so only its SQLSTATE and the names of the column or
    constraint are kept."""
    cause = error.__cause__ if error.__cause__ is not None else error
    details: list[str] = []
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate:
        details.append(f"sqlstate {sqlstate}")
    diag = getattr(cause, "diag", None)
    for name in ("table_name", "column_name", "constraint_name"):
        value = getattr(diag, name, None) if diag is not None else None
        if value:
            details.append(f"{name.removesuffix('_name')} {value}")
    reason = getattr(cause, "reason", None)  # UnicodeDecodeError's and its kin's
    if isinstance(cause, UnicodeError) and isinstance(reason, str):
        details.append(reason)
    elif "NUL" in str(cause):  # psycopg refuses NUL before sending, in a fixed message
        details.append("NUL character")
    return details
