"""A useful subset of Gmail's search operators for the ``q`` parameter.

Supported: free words and "quoted phrases"; from: to: cc: bcc: deliveredto: subject:
label: in: is: has: category: filename: rfc822msgid: newer_than: older_than: after:
before: larger: smaller:; a leading ``-`` negates; ``OR`` and ``{a b}`` make
alternatives; parentheses group as AND. Words match whole words, as in Gmail.
"""

import datetime as dt
import re
from collections.abc import Callable

from . import errors
from .mailbox import Mailbox, StoredMessage

Predicate = Callable[[StoredMessage], bool]

_TOKEN = re.compile(r'(-?)(?:(\w+):("[^"]*"|\([^)]*\)|[^\s(){}]+)|"([^"]*)"|([^\s(){}"]+))|([{}])')
_UNITS = {"d": 86400, "m": 30 * 86400, "y": 365 * 86400, "h": 3600}
_SIZE = {"": 1, "k": 1024, "m": 1024 * 1024}
IN_LABELS = {
    "inbox": "INBOX",
    "sent": "SENT",
    "trash": "TRASH",
    "spam": "SPAM",
    "draft": "DRAFT",
    "drafts": "DRAFT",
    "starred": "STARRED",
    "important": "IMPORTANT",
    "chats": "CHAT",
    "unread": "UNREAD",
}
CATEGORIES = {
    "primary": "CATEGORY_PERSONAL",
    "personal": "CATEGORY_PERSONAL",
    "social": "CATEGORY_SOCIAL",
    "promotions": "CATEGORY_PROMOTIONS",
    "updates": "CATEGORY_UPDATES",
    "forums": "CATEGORY_FORUMS",
}


def reaches_spam_or_trash(query: str) -> bool:
    """Gmail searches spam and trash only when the query names them."""
    return bool(re.search(r"\b(in|label):(trash|spam|anywhere)\b", query, re.I))


def compile_query(query: str, mailbox: Mailbox, now_ms: int) -> Predicate:
    """Compile ``q`` into a predicate: an AND of clauses, each an OR of terms."""
    clauses: list[list[Predicate]] = []
    group: list[Predicate] | None = None  # inside {...}
    pending_or = False
    for match in _TOKEN.finditer(query):
        negate, op, value, phrase, word, brace = match.groups()
        if brace == "{":
            group = []
        elif brace == "}":
            if group:
                clauses.append(group)
            group = None
        elif word == "OR" and not negate:
            pending_or = bool(clauses)
        else:
            term = _term(op, value, phrase, word, mailbox, now_ms)
            if negate:
                term = _negated(term)
            if group is not None:
                group.append(term)
            elif pending_or:
                clauses[-1].append(term)
            else:
                clauses.append([term])
            pending_or = False
    if group:
        clauses.append(group)
    return lambda message: all(any(t(message) for t in clause) for clause in clauses)


def _negated(term: Predicate) -> Predicate:
    return lambda message: not term(message)


def _term(op, value, phrase, word, mailbox: Mailbox, now_ms: int) -> Predicate:
    if op is None:
        if phrase is not None:
            needle = phrase.lower()
            return lambda m: needle in m.parsed.text
        return _word(word.lower())
    op = op.lower()
    value = value.strip('"()').lower()
    builder = _OPERATORS.get(op)
    if builder is None:
        # An unknown operator is searched as plain text, as Gmail does.
        return _word(f"{op}:{value}")
    return builder(value, mailbox, now_ms)


def _word(word: str) -> Predicate:
    parts = re.findall(r"\w+", word)
    if len(parts) == 1:
        return lambda m: parts[0] in m.parsed.words
    return lambda m: word in m.parsed.text


def _address(field: str):
    return lambda value, mailbox, now: lambda m: value in m.parsed.addresses[field]


def _subject(value, mailbox, now):
    return lambda m: value in m.parsed.subject.lower()


def _label(value, mailbox, now):
    wanted = re.sub(r"[\s/-]+", "-", value)
    ids = {
        lb.id
        for lb in mailbox.labels.values()
        if re.sub(r"[\s/-]+", "-", lb.name.lower()) == wanted or lb.id.lower() == wanted
    }
    return lambda m: bool(ids & m.labels)


def _in(value, mailbox, now):
    if value == "anywhere":
        return lambda m: True
    if value in IN_LABELS:
        label = IN_LABELS[value]
        return lambda m: label in m.labels
    return _label(value, mailbox, now)


def _is(value, mailbox, now):
    if value == "read":
        return lambda m: "UNREAD" not in m.labels
    label = IN_LABELS.get(value)
    if label is None:
        return lambda m: False
    return lambda m: label in m.labels


def _has(value, mailbox, now):
    if value == "attachment":
        return lambda m: m.parsed.has_attachment
    user_labels = {lb.id for lb in mailbox.labels.values() if lb.type == "user"}
    if value == "userlabels":
        return lambda m: bool(m.labels & user_labels)
    if value == "nouserlabels":
        return lambda m: not m.labels & user_labels
    return lambda m: False


def _category(value, mailbox, now):
    label = CATEGORIES.get(value)
    return lambda m: label in m.labels


def _filename(value, mailbox, now):
    return lambda m: any(value in name.lower() for name in m.parsed.filenames)


def _msgid(value, mailbox, now):
    wanted = value if value.startswith("<") else f"<{value}>"
    return lambda m: (m.parsed.rfc822_id or "").lower() == wanted


def _age(value: str) -> int:
    found = re.fullmatch(r"(\d+)([dmyh])", value)
    if not found:
        raise errors.invalid_argument(f"Invalid search query: {value}")
    return int(found.group(1)) * _UNITS[found.group(2)] * 1000


def _newer(value, mailbox, now):
    limit = now - _age(value)
    return lambda m: m.internal_date > limit


def _older(value, mailbox, now):
    limit = now - _age(value)
    return lambda m: m.internal_date < limit


def _date(value: str) -> int:
    if value.isdigit():
        return int(value) * 1000
    try:
        day = dt.datetime.strptime(value.replace("-", "/"), "%Y/%m/%d").replace(tzinfo=dt.UTC)
    except ValueError as exc:
        raise errors.invalid_argument(f"Invalid search query: {value}") from exc
    return int(day.timestamp() * 1000)


def _after(value, mailbox, now):
    limit = _date(value)
    return lambda m: m.internal_date >= limit


def _before(value, mailbox, now):
    limit = _date(value)
    return lambda m: m.internal_date < limit


def _size(value: str) -> int:
    found = re.fullmatch(r"(\d+)([km]?)", value)
    if not found:
        raise errors.invalid_argument(f"Invalid search query: {value}")
    return int(found.group(1)) * _SIZE[found.group(2)]


def _larger(value, mailbox, now):
    limit = _size(value)
    return lambda m: m.parsed.size_estimate > limit


def _smaller(value, mailbox, now):
    limit = _size(value)
    return lambda m: m.parsed.size_estimate < limit


_OPERATORS = {
    "from": _address("from"),
    "to": _address("to"),
    "cc": _address("cc"),
    "bcc": _address("bcc"),
    "deliveredto": _address("delivered-to"),
    "subject": _subject,
    "label": _label,
    "in": _in,
    "is": _is,
    "has": _has,
    "category": _category,
    "filename": _filename,
    "rfc822msgid": _msgid,
    "newer_than": _newer,
    "older_than": _older,
    "after": _after,
    "before": _before,
    "newer": _after,
    "older": _before,
    "larger": _larger,
    "smaller": _smaller,
}
