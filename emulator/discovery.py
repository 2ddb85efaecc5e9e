"""Routes, parameters and scopes of the Gmail API, read from Google's discovery document.

The document ships with google-api-python-client (the same one the app's client is
built from), so the emulator answers exactly the paths and scopes the client expects.
"""

import json
import re
from dataclasses import dataclass
from functools import cache

from googleapiclient.discovery_cache import get_static_doc


@dataclass(frozen=True)
class ApiRoute:
    method_id: str  # e.g. "gmail.users.messages.get"
    http_method: str
    pattern: re.Pattern
    scopes: frozenset[str]
    upload_pattern: re.Pattern | None

    @property
    def short_id(self) -> str:
        return self.method_id.removeprefix("gmail.")


@cache
def document() -> dict:
    return json.loads(get_static_doc("gmail", "v1"))


def _pattern(path: str) -> re.Pattern:
    parts = re.split(r"(\{[^}]+\})", path.lstrip("/"))
    regex = "".join(
        f"(?P<{p[1:-1].lstrip('+')}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts
    )
    return re.compile(f"^/{regex}$")


def _methods(resource: dict):
    yield from resource.get("methods", {}).values()
    for child in resource.get("resources", {}).values():
        yield from _methods(child)


@cache
def routes() -> tuple[ApiRoute, ...]:
    found = []
    for method in _methods(document()):
        upload = method.get("mediaUpload", {}).get("protocols", {}).get("simple", {})
        found.append(
            ApiRoute(
                method_id=method["id"],
                http_method=method["httpMethod"],
                pattern=_pattern(method.get("flatPath", method["path"])),
                scopes=frozenset(method.get("scopes", ())),
                upload_pattern=_pattern(upload["path"]) if upload else None,
            )
        )
    # Literal segments win over parameters: ".../messages/send" before ".../messages/{id}".
    found.sort(key=lambda route: route.pattern.pattern.count("(?P<"))
    return tuple(found)


def match(http_method: str, path: str, *, upload: bool = False):
    """Answer (route, path parameters), or (None, None) when nothing matches."""
    for route in routes():
        pattern = route.upload_pattern if upload else route.pattern
        if route.http_method != http_method or pattern is None:
            continue
        found = pattern.match(path)
        if found:
            return route, found.groupdict()
    return None, None
