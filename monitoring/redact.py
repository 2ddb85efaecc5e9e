"""What may leave the process in a log line or an error report.

Two rules, shared by the log filter and Sentry's scrubber:
- Anything shaped like a secret (Google access and refresh tokens, JWTs, authorization
  codes, Fernet tokens, `token=`/`code=`/`state=` values) or an email address is
  replaced, in values and in dict keys alike.
- An exception's message is kept only when its class says the message is safe
  (`message_is_safe = True`: Tern's own errors, written never to carry mail or
  addresses). Any other message may quote what caused it (a database error quotes the
  row it refused, a parser the header it choked on), so only its kind is kept, plus the
  SQLSTATE and constraint or column names of a database error.
"""

import re
import traceback
from typing import overload

from mail.storable import error_details

SECRETS = re.compile(
    r"ya29\.[\w.-]+"  # access tokens
    r"|1//[\w.-]+"  # refresh tokens
    r"|eyJ[\w-]+\.[\w-]+\.[\w-]*"  # JWTs (id tokens, Pub/Sub's OIDC token)
    r"|\b4/[0-9A-Za-z_-]{8,}"  # authorization codes
    r"|gAAAAA[\w-]{20,}=*"  # Fernet tokens (the image proxy's, in its paths)
)
# `token=…`, `code=…` (OAuth, query strings, form bodies) and their kin, anywhere.
PARAMETERS = re.compile(
    r"\b(token|code|state|access_token|refresh_token|id_token|client_secret)=[^&\s'\"]+",
    re.IGNORECASE,
)
ADDRESSES = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
WITHHELD = "[message withheld]"

# What `scrub` returns: plain data that JSON can write, keys included.
type Key = str | int | float | bool | None
type Scrubbed = Key | list[Scrubbed] | dict[Key, Scrubbed]


@overload
def scrub(value: str) -> str: ...
@overload
def scrub(value: object) -> Scrubbed: ...
def scrub(value: object) -> Scrubbed:
    """`value` with every secret and address replaced, through dicts, lists and keys."""
    if isinstance(value, str):
        value = PARAMETERS.sub(r"\1=[token]", SECRETS.sub("[token]", value))
        return ADDRESSES.sub("[address]", value)
    if isinstance(value, dict):
        return {_key(key): scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(item) for item in value]
    if isinstance(value, BaseException):
        return exception_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    # Anything else (a model instance, bytes...) would be printed with str(): its text
    # is what must be scrubbed. A GmailAccount prints as its address.
    return scrub(str(value))


def _key(key: object) -> Key:
    # Keys must stay hashable and be ones JSON can write: text, or a plain number.
    if key is None or isinstance(key, bool | int | float):
        return key
    return scrub(str(key))


def exception_message(error: BaseException) -> str:
    """The part of `error`'s message that may be logged (see the module docstring)."""
    if getattr(type(error), "message_is_safe", False):
        return scrub(str(error))
    return ", ".join(error_details(error)) or WITHHELD


def exception_text(error: BaseException) -> str:
    """`Kind: message` as traceback's last line would read, with the message made safe."""
    return f"{_qualname(error)}: {exception_message(error)}"


def exception_chain(error: BaseException | None, *, limit: int = 10) -> list[BaseException]:
    """`error` and the exceptions it came from (its cause, else its context), newest
    first, as a traceback shows them; at most `limit`, each once."""
    chain: list[BaseException] = []
    while error is not None and len(chain) < limit and all(error is not e for e in chain):
        chain.append(error)
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return chain


def safe_traceback(error: BaseException) -> str:
    """The traceback of `error` and its causes (frames: files, lines, code), with each
    message made safe. Frames show our source code, never the values in it."""
    lines = []
    for position, link in enumerate(reversed(exception_chain(error))):
        if position:
            lines.append("\nThe above exception led to the following one:\n\n")
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_tb(link.__traceback__))
        lines.append(exception_text(link) + "\n")
    return "".join(lines).rstrip("\n")


def exception_variants(error: BaseException) -> list[str]:
    """The strings by which `error` may appear inside another message (Celery, for one,
    puts `str(exc)` or `repr(exc)` in its own log line), longest first."""
    texts = {text for link in exception_chain(error) for text in (str(link), repr(link))}
    return sorted((text for text in texts if len(text) > 3), key=len, reverse=True)


def _qualname(error: BaseException) -> str:
    kind = type(error)
    module = kind.__module__
    return (
        kind.__qualname__ if module in ("builtins", "__main__") else f"{module}.{kind.__qualname__}"
    )
