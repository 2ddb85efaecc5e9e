"""A byte-exact multipart splitter for batch requests and media uploads.

The email package would re-parse an uploaded message/rfc822 part and change its bytes,
so the parts are cut out by hand.
"""

import re

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


def boundary_of(content_type: str) -> str | None:
    found = _BOUNDARY.search(content_type or "")
    return found.group(1) if found else None


def split(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    parts = []
    for section in body.split(b"--" + boundary.encode())[1:]:
        if section.startswith(b"--"):
            break
        section = _strip_one_newline(section, leading=True)
        section = _strip_one_newline(section, leading=False)
        if section[:1] in (b"\r", b"\n"):
            head, content = b"", _strip_one_newline(section, leading=True)
        else:
            found = _BLANK_LINE.search(section)
            if found is None:
                head, content = section, b""
            else:
                head, content = section[: found.start()], section[found.end() :]
        parts.append((parse_headers(head.decode("utf-8", "replace")), content))
    return parts


def parse_headers(text: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in re.split(r"\r?\n", text):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers


def _strip_one_newline(data: bytes, *, leading: bool) -> bytes:
    for newline in (b"\r\n", b"\n"):
        if leading and data.startswith(newline):
            return data[len(newline) :]
        if not leading and data.endswith(newline):
            return data[: -len(newline)]
    return data
