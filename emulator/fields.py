"""Partial responses: Google's ``fields`` parameter, e.g. ``messages(id,threadId)``."""

from . import errors


def _merge(old, new):
    if old is None or new is None:
        return None
    merged = dict(old)
    for key, value in new.items():
        merged[key] = _merge(merged[key], value) if key in merged else value
    return merged


def _parse_one(text: str, at: int) -> tuple[str, dict | None, int]:
    end = at
    while end < len(text) and text[end] not in ",/()":
        end += 1
    name = text[at:end].strip()
    if not name:
        raise errors.invalid_argument(f"Invalid field selection {text}")
    if end < len(text) and text[end] == "/":
        child, sub, end = _parse_one(text, end + 1)
        return name, {child: sub}, end
    if end < len(text) and text[end] == "(":
        tree, end = _parse_list(text, end + 1)
        if end >= len(text) or text[end] != ")":
            raise errors.invalid_argument(f"Invalid field selection {text}")
        return name, tree, end + 1
    return name, None, end


def _parse_list(text: str, at: int) -> tuple[dict, int]:
    tree: dict = {}
    while at < len(text):
        name, sub, at = _parse_one(text, at)
        tree[name] = _merge(tree[name], sub) if name in tree else sub
        if at < len(text) and text[at] == ",":
            at += 1
            continue
        break
    return tree, at


def parse(selector: str) -> dict:
    tree, end = _parse_list(selector.replace(" ", ""), 0)
    if end != len(selector.replace(" ", "")):
        raise errors.invalid_argument(f"Invalid field selection {selector}")
    return tree


def apply(value, tree: dict | None):
    if tree is None:
        return value
    if isinstance(value, list):
        return [apply(item, tree) for item in value]
    if isinstance(value, dict):
        return {k: apply(value[k], sub) for k, sub in tree.items() if k in value}
    return value


def select(body: dict, selector: str) -> dict:
    return apply(body, parse(selector))
