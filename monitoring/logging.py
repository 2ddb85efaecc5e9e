"""Redaction for every log record: no token, secret, address or mail reaches the logs.

The filter rewrites the record in place, before any handler formats it (Sentry's
logging integration reads the same record after the handlers ran, so it sees the
redacted one too):
- Django's request loggers attach the request, whose repr carries the query string (the
  webhook's `?token=`, the OAuth callback's `?code=`): it becomes "METHOD /path", the
  path scrubbed too (the image proxy's token is in its path).
- The message is formatted with its arguments, then scrubbed (monitoring/redact.py);
  an exception among the arguments, or the record's own exception quoted inside the
  message (Celery does that), is reduced to its safe text.
- `exc_info` is formatted as a traceback whose exception messages are made safe (set
  as `exc_text`, which stdlib formatters print, and by `JsonFormatter` below); the
  exception itself stays on the record for Sentry, whose before_send makes it safe.
- Every `extra` field is scrubbed, keys included.
"""

import logging
from types import TracebackType
from typing import overload

from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

from monitoring.redact import exception_text, exception_variants, safe_traceback, scrub

# The attributes every LogRecord has; anything else on a record came from `extra`.
STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

type ExcInfo = tuple[type[BaseException] | None, BaseException | None, TracebackType | None]


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "path"):
            record.request = scrub(f"{request.method} {request.path}")
        error = record.exc_info[1] if record.exc_info else None
        variants = exception_variants(error) if error is not None else []
        record.msg = _message(record, error, variants)
        record.args = None
        if error is not None:
            record.exc_text = safe_traceback(error)
        # uvicorn's copy of the message with terminal colours: the message says it all.
        vars(record).pop("color_message", None)
        for name, value in list(vars(record).items()):
            if name not in STANDARD and name != "request":
                setattr(record, name, scrub(_unquote(value, error, variants)))
        return True  # rewriting an already rewritten record changes nothing


def _message(record: logging.LogRecord, error: BaseException | None, variants: list[str]) -> str:
    args = record.args
    if isinstance(args, dict):
        args = {key: _arg(value) for key, value in args.items()}
    elif args:
        args = tuple(_arg(arg) for arg in args)
    if isinstance(record.msg, BaseException):  # logger.error(exc), as uvicorn does
        return exception_text(record.msg)
    try:
        message = str(record.msg) % args if args else str(record.msg)
    except (TypeError, ValueError, KeyError):
        message = f"{record.msg} {args}"
    return scrub(_unquote(message, error, variants))


@overload
def _unquote(value: str, error: BaseException | None, variants: list[str]) -> str: ...
@overload
def _unquote(value: object, error: BaseException | None, variants: list[str]) -> object: ...
def _unquote(value: object, error: BaseException | None, variants: list[str]) -> object:
    """`value` with every quotation of `error` (Celery puts `repr(exc)` and the raw
    traceback in its record's `data`) replaced by the error's safe text."""
    if isinstance(value, str) and error is not None:
        for text in variants:
            value = value.replace(text, exception_text(error))
        return value
    if isinstance(value, dict):
        return {key: _unquote(item, error, variants) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_unquote(item, error, variants) for item in value]
    return value


def _arg(value: object) -> object:
    return exception_text(value) if isinstance(value, BaseException) else value


class JsonFormatter(BaseJsonFormatter):
    """python-json-logger's formatter, printing tracebacks with safe messages only."""

    def formatException(self, ei: ExcInfo) -> str:
        return safe_traceback(ei[1]) if ei and ei[1] is not None else ""
