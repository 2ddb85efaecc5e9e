"""Addresses as people type them and as Gmail gives them.

Gmail's headers come with their encoded-words decoded, so a name's quotes may be gone:
`Zoë, Ltd <zoe@x.example>` or `Zoë ('from') <zoe@x.example>`, which the standard
library's parser reads as two addresses, or as a comment. `header_pairs` reads them as
a person does; `addresses` reads a To field as typed, with what is not an address.
"""

import email.utils
import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

# The start of a header is enough for its first address; a header of nested comments
# would make the standard parser recurse out of its depth.
MAX_HEADER = 4000


def addresses(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The (name, address) pairs of a To, Cc or Bcc field as typed, and what in it is not
    an address ("bob", "carol@"), each as the user typed it."""
    found, bad = [], []
    for piece in pieces(text):
        name, address = email.utils.parseaddr(piece)
        try:
            validate_email(address)
        except ValidationError:
            bad.append(piece)
        else:
            found.append((name, address))
    return found, bad


def pieces(text: str) -> list[str]:
    """The field split at its commas and semicolons (Gmail's box takes both), except
    those inside a quoted name or <...>."""
    pieces, current, quoted, angled = [], "", False, False
    for char in text:
        if char in ",;" and not quoted and not angled:
            pieces.append(current)
            current = ""
            continue
        if char == '"' and not angled:
            quoted = not quoted
        elif char == "<" and not quoted:
            angled = True
        elif char == ">" and not quoted:
            angled = False
        current += char
    pieces.append(current)
    return [piece.strip() for piece in pieces if piece.strip()]


def header_pairs(header: str) -> list[tuple[str, str]]:
    """The (name, address) pairs of a From, To or Cc header as Gmail gives it: its
    encoded-words decoded, so a name's quotes may be gone ("Zoë, Ltd <z@x.example>").
    A piece without an @ is part of the next one's name, not an address of its own."""
    pairs, name_so_far = [], ""
    for piece in pieces(header):
        if "@" not in piece:
            name_so_far += piece + ", "
            continue
        piece = name_so_far + piece
        name_so_far = ""
        if piece.endswith(">") and "<" in piece:
            name, _, address = piece[:-1].rpartition("<")
            name = _unquoted(name.strip())
        else:
            name, address = email.utils.parseaddr(piece)
        if "@" in address:
            pairs.append((name, address.strip()))
    return pairs


def _unquoted(name: str) -> str:
    """A quoted name's text: `"Ann \\"A\\" Lee"` is `Ann "A" Lee`."""
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return re.sub(r"\\(.)", r"\1", name[1:-1]).strip()
    return name.strip('"').strip()


def sender_of(header: str) -> tuple[str, str]:
    """The (name, address) of a From header; ("", "") when it names none."""
    pairs = header_pairs(header[:MAX_HEADER])
    return pairs[0] if pairs else ("", "")


def display_address(pair: tuple[str, str]) -> str:
    """An address as a person reads and types it: `Zoë <zoe@example.org>`, the name
    quoted when it holds a comma or the like (encoded only in the MIME)."""
    name, address = pair
    name = one_line(name)
    if not name:
        return address
    if any(c in name for c in ',;:<>@"()[]\\.'):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>"


def one_line(text: str) -> str:
    """A header value on one line: its runs of whitespace, newlines too, as one space."""
    return " ".join(text.split())
