"""Gmail's search language, read into a filter of the local mirror's messages.

`parse` turns a query into a tree and `message_filter` the tree into a `Q` on `Message`;
a thread matches when one of its messages does, as in Gmail. The language:

- words and "exact phrases" (subject, sender, recipients, snippet, body, file names);
- `from:` `to:` `cc:` `bcc:` `subject:` `label:` `in:` `is:` `has:attachment`
  `filename:` `larger:` `smaller:` (bytes, or with K or M) `before:` `after:`
  (YYYY/MM/DD, the day starting at midnight in Tern's time zone) `older_than:`
  `newer_than:` (a number and d, m or y) `category:` `rfc822msgid:`;
- `-` before a term negates it, `OR` (capitals) and `{a b}` make alternatives,
  parentheses group; terms side by side must all hold;
- Trash and Spam are left out unless the query names them (`in:trash`, `in:spam`,
  `in:anywhere`, `label:trash`…), as Gmail does.

Anything else (an unknown operator, a value it cannot read, a bracket left open) is a
`SearchError` whose message says what to change.
"""

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchVectorExact, SearchVectorField
from django.db import connection
from django.db.models import Exists, Expression, F, Func, OuterRef, Q
from django.utils import timezone

from accounts.models import User
from mail.models import Attachment, Label, MessageLabel

MAX_QUERY = 1000
MAX_FILE_MATCHES = 10000
MAX_DEPTH = 20

IN_PLACES = {
    "inbox": "INBOX",
    "sent": "SENT",
    "drafts": "DRAFT",
    "draft": "DRAFT",
    "trash": "TRASH",
    "spam": "SPAM",
    "starred": "STARRED",
    "important": "IMPORTANT",
    "unread": "UNREAD",
    "chats": "CHAT",
}
CATEGORIES = {
    "primary": "CATEGORY_PERSONAL",
    "personal": "CATEGORY_PERSONAL",
    "social": "CATEGORY_SOCIAL",
    "promotions": "CATEGORY_PROMOTIONS",
    "updates": "CATEGORY_UPDATES",
    "forums": "CATEGORY_FORUMS",
}
OPERATORS = frozenset(
    {
        *("from", "to", "cc", "bcc", "subject", "label", "in", "is", "has", "filename"),
        *("larger", "smaller", "before", "after", "older_than", "newer_than"),
        *("category", "rfc822msgid", "deliveredto", "newer", "older"),
    }
)
_AGE_UNITS = {"h": 1 / 24, "d": 1, "m": 30, "y": 365}
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024 * 1024}
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<open>\() | (?P<close>\)) | (?P<brace_open>\{) | (?P<brace_close>\})
    | (?P<minus>-)(?=\S)
    | (?P<op>[A-Za-z_]+):(?P<value>"[^"]*"?|[^\s(){}"]*)
    | "(?P<phrase>[^"]*)"?
    | (?P<word>[^\s(){}"]+)
    )""",
    re.X,
)


class SearchError(ValueError):
    """The query cannot be read; the message says why, in words for the person."""


# --- the tree ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    op: str  # "" for a free word or phrase
    value: str
    phrase: bool = False  # "written in quotes": matched as written, not word by word
    prefix: bool = False  # the word being typed: any word starting with it


@dataclass(frozen=True)
class Not:
    node: "Node"


@dataclass(frozen=True)
class All:
    nodes: tuple["Node", ...]


@dataclass(frozen=True)
class Any:
    nodes: tuple["Node", ...]


type Node = Term | Not | All | Any


def parse(query: str, *, typing: bool = False) -> Node:
    """The query's tree. `typing`: the query is still being typed (the search box's
    suggestions), so its last free word, if the cursor is on it, matches as a prefix."""
    if len(query) > MAX_QUERY:
        raise SearchError(f"A search has at most {MAX_QUERY} characters.")
    tokens = _tokens(query)
    if not tokens:
        raise SearchError("Type something to search for.")
    if typing and not query[-1].isspace() and tokens[-1][:2] == ("term", ""):
        tokens[-1] = ("prefix", "", tokens[-1][2])
    parser = _Parser(tokens)
    node = parser.sequence(closing=None)
    return node


def _tokens(query: str) -> list[tuple[str, str, str]]:
    tokens = []
    position = 0
    query = query.strip()
    while position < len(query):
        match = _TOKEN.match(query, position)
        if not match or match.end() == position:
            raise SearchError(f"Tern cannot read the search near “{query[position:][:20]}”.")
        position = match.end()
        kind = match.lastgroup
        if kind == "value":
            op, value = match["op"].lower(), match["value"]
            if value.startswith('"'):
                value = value.strip('"')
            tokens.append(("term", op, value))
        elif kind == "phrase":
            tokens.append(("phrase", "", match["phrase"]))
        elif kind == "word":
            word = match["word"]
            tokens.append(("or", "", "") if word == "OR" else ("term", "", word))
        elif kind is not None:
            tokens.append((kind, "", ""))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str, str]]) -> None:
        self.tokens = tokens
        self.at = 0
        self.depth = 0

    def peek(self) -> str:
        return self.tokens[self.at][0] if self.at < len(self.tokens) else "end"

    def sequence(self, *, closing: str | None) -> Node:
        """Terms side by side until `closing` (or the end): all must hold."""
        nodes = []
        while self.peek() not in ("end", closing):
            if self.peek() in ("close", "brace_close"):
                raise SearchError("A closing bracket has no opening one.")
            nodes.append(self.alternatives())
        if closing is not None:
            if self.peek() != closing:
                raise SearchError("A bracket is not closed.")
            self.at += 1
        if not nodes:
            raise SearchError("Empty brackets: put something to search for inside them.")
        return nodes[0] if len(nodes) == 1 else All(tuple(nodes))

    def alternatives(self) -> Node:
        nodes = [self.unary()]
        while self.peek() == "or":
            self.at += 1
            if self.peek() in ("end", "close", "brace_close", "or"):
                raise SearchError("OR needs something to search for on both sides.")
            nodes.append(self.unary())
        return nodes[0] if len(nodes) == 1 else Any(tuple(nodes))

    def unary(self) -> Node:
        kind = self.peek()
        if kind == "or":
            raise SearchError("OR needs something to search for on both sides.")
        self.at += 1
        if kind == "minus":
            if self.peek() in ("end", "close", "brace_close", "or"):
                raise SearchError("A “-” must come right before what it leaves out.")
            return Not(self.unary())
        if kind in ("open", "brace_open"):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise SearchError("Too many brackets inside each other.")
            inner = self.sequence(closing="close" if kind == "open" else "brace_close")
            self.depth -= 1
            if kind == "brace_open" and isinstance(inner, All):
                return Any(inner.nodes)  # {a b}: any of them
            return inner
        kind_, op, value = self.tokens[self.at - 1]
        if kind_ == "prefix":
            return Term("", value, prefix=True)
        if kind_ == "phrase":
            if not value.strip():
                raise SearchError("Empty quotes: put the words to find inside them.")
            return Term("", value, phrase=True)
        if op and op not in OPERATORS:
            raise SearchError(f"Tern does not know the operator “{op}:”.")
        if op and not value:
            raise SearchError(f"“{op}:” needs something after it.")
        return Term(op, value)


# --- the filter ---------------------------------------------------------------------------


def message_filter(node: Node, *, user: User, now: dt.datetime | None = None) -> Q:
    """A `Q` on Message for the tree, Trash and Spam left out unless it names them."""
    reader = _Reader(user, now or timezone.now())
    q = reader.q(node)
    if not reader.reaches_bin:
        q &= ~_has_label("TRASH", "SPAM")
    return q


class _Reader:
    def __init__(self, user: User, now: dt.datetime) -> None:
        self.user = user
        self.now = now
        self.reaches_bin = False
        self.zone = ZoneInfo(settings.TIME_ZONE)
        self._labels: list[Label] | None = None

    def q(self, node: Node) -> Q:
        if isinstance(node, Not):
            return ~self.q(node.node)
        if isinstance(node, All):
            result = Q()
            for each in node.nodes:
                result &= self.q(each)
            return result
        if isinstance(node, Any):
            result = self.q(node.nodes[0])
            for each in node.nodes[1:]:
                result |= self.q(each)
            return result
        return self.term(node)

    def term(self, term: Term) -> Q:
        op, value = term.op, term.value
        low = value.lower()
        if op == "":
            return _text(value, phrase=term.phrase, prefix=term.prefix)
        if op == "from":
            return _contains("sender", value)
        if op in ("to", "deliveredto"):
            return _contains("to", value)
        if op == "cc":
            return _contains("cc", value)
        if op == "bcc":
            return _contains("bcc", value)
        if op == "subject":
            return _contains("subject", value)
        if op == "rfc822msgid":
            bare = value.strip("<>")
            return Q(rfc822_message_id__iexact=bare) | Q(rfc822_message_id__iexact=f"<{bare}>")
        if op == "filename":
            return Q(
                Exists(
                    Attachment.objects.filter(_contains("filename", value), message=OuterRef("pk"))
                )
            )
        if op == "has":
            if low in ("attachment", "attachments"):
                return Q(has_attachments=True)
            if low in ("userlabels", "nouserlabels"):
                labelled = Q(
                    Exists(
                        MessageLabel.objects.filter(
                            message=OuterRef("pk"), label__type=Label.Type.USER
                        )
                    )
                )
                return labelled if low == "userlabels" else ~labelled
            raise SearchError(
                f"Tern knows has:attachment, has:userlabels and has:nouserlabels, "
                f"not “has:{value}”."
            )
        if op == "in":
            return self.place(low)
        if op == "is":
            return self.state(low, value)
        if op == "label":
            return self.label(low)
        if op == "category":
            if low not in CATEGORIES:
                raise SearchError(f"“{value}” is not a category ({', '.join(CATEGORIES)}).")
            return _has_label(CATEGORIES[low])
        if op in ("larger", "smaller"):
            size = _size(value)
            return Q(size_estimate__gt=size) if op == "larger" else Q(size_estimate__lt=size)
        if op in ("before", "after", "older", "newer"):
            day = self.day(value)
            if op in ("before", "older"):
                return Q(internal_date__lt=day)
            return Q(internal_date__gte=day)
        if op in ("older_than", "newer_than"):
            moment = self.now - _age(value)
            if op == "older_than":
                return Q(internal_date__lt=moment)
            return Q(internal_date__gte=moment)
        raise SearchError(f"Tern does not know the operator “{op}:”.")  # pragma: no cover

    def place(self, low: str) -> Q:
        if low == "anywhere":
            self.reaches_bin = True
            return Q()
        if low == "snoozed":
            return Q(thread__snooze__isnull=False)
        if low not in IN_PLACES:
            if self.label_ids(low):  # in:<label>, as Gmail reads it too
                return self.label(low)
            raise SearchError(
                f"“in:{low}” is neither a place ({', '.join(IN_PLACES)}) nor a label."
            )
        if IN_PLACES[low] in ("TRASH", "SPAM"):
            self.reaches_bin = True
        return _has_label(IN_PLACES[low])

    def state(self, low: str, value: str) -> Q:
        states = {
            "unread": _has_label("UNREAD"),
            "read": ~_has_label("UNREAD"),
            "starred": _has_label("STARRED"),
            "important": _has_label("IMPORTANT"),
            "snoozed": Q(thread__snooze__isnull=False),
            "muted": Q(thread__mute__isnull=False),
        }
        if low not in states:
            raise SearchError(f"“is:{value}” is not a state Tern knows ({', '.join(states)}).")
        return states[low]

    def label(self, low: str) -> Q:
        if low.upper() in ("INBOX", "SENT", "DRAFT", "TRASH", "SPAM", "STARRED", "IMPORTANT"):
            if low in ("trash", "spam"):
                self.reaches_bin = True
            return _has_label(low.upper())
        ids = self.label_ids(low)
        return Q(Exists(MessageLabel.objects.filter(message=OuterRef("pk"), label_id__in=ids)))

    def label_ids(self, low: str) -> list[int]:
        """The user's labels that `label:low` names: by name, Gmail writing spaces and
        slashes as dashes, or by id."""
        if self._labels is None:
            self._labels = list(Label.objects.filter(account__user=self.user))
        wanted = _label_key(low)
        return [
            label.pk
            for label in self._labels
            if _label_key(label.name) == wanted or label.gmail_id.lower() == low
        ]

    def day(self, value: str) -> dt.datetime:
        if value.isdigit():  # seconds since 1970, as Gmail also reads them
            return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)
        for pattern in ("%Y/%m/%d", "%Y-%m-%d", "%m/%d/%Y"):
            try:
                return dt.datetime.strptime(value, pattern).replace(tzinfo=self.zone)
            except ValueError:
                continue
        raise SearchError(f"“{value}” is not a date Tern can read: write it as 2026/12/31.")


def _text(value: str, *, phrase: bool, prefix: bool = False) -> Q:
    """A free word (whole words, as Gmail matches them; with `prefix`, any word that
    starts with it) or "phrase" (as written), anywhere a person reads it: subject,
    people, body, file names."""
    if connection.vendor == "postgresql" and not phrase and _ONE_WORD.fullmatch(value):
        return _words_match(value.lower(), prefix=prefix)
    needle = re.escape(value)
    if not phrase and len(re.findall(r"\w+", value)) == 1:
        # PostgreSQL's word boundary is \y; Python's (SQLite, through Django) is \b.
        edge = r"\y" if connection.vendor == "postgresql" else r"\b"
        needle = f"{edge}{needle}" if prefix else f"{edge}{needle}{edge}"
    q = Q()
    for name in ("subject", "sender", "to", "cc", "bcc", "body_text"):
        q |= Q(**{f"{name}__iregex": needle})
    within = _words_within(value) if connection.vendor == "postgresql" else ""
    if within:
        # Only a message holding those words can hold the text: the stored words are
        # checked first, a hundred times cheaper than the regexes over the body.
        query = SearchQuery(within, config="simple", search_type="raw")
        q = Q(SearchVectorExact(MessageWords(), query)) & q
    # The messages whose files match, as ids: a subquery inside this OR would keep
    # PostgreSQL from combining the columns' indexes, and read every message instead.
    files = Attachment.objects.filter(filename__iregex=needle).values_list("message_id", flat=True)
    return q | Q(pk__in=list(files[:MAX_FILE_MATCHES]))


def _words_within(text: str) -> str:
    """A tsquery of the words that any message containing `text` (in any case) holds
    whole: those inside it, the last as a prefix. The first may be the end of a longer
    word, so it is left out, and so is a run with an underscore, which PostgreSQL's
    parser splits. Empty when no word is sure."""
    runs = re.split(r"\W+", text.lower())
    if runs and runs[0]:
        runs = runs[1:]  # "ello wor" is in "hello world"
    words = [run for run in runs if run and "_" not in run]
    if not words:
        return ""
    ends_inside = bool(runs) and runs[-1] == words[-1]  # "wor" of "world"
    return " & ".join([*words[:-1], f"{words[-1]}:*" if ends_inside else words[-1]])


# A word of letters and digits only: one lexeme of the full-text indexes. Other words
# ("don't", "a_b", "x.y") and phrases are matched as written, through the trigram indexes.
_ONE_WORD = re.compile(r"[^\W_]+")


class MessageWords(Expression):
    """A message's words: the column `words` that migration 0021 adds and PostgreSQL
    keeps (subject, people and body, the first 100,000 characters, in the `simple`
    configuration: lower case, no stemming, no stop words, so a word matches as
    written, as in Gmail). The model does not declare it, so that no page loads it;
    this names it in the query, under whatever alias the message table has there."""

    output_field = SearchVectorField()

    def __init__(self, alias: str | None = None) -> None:
        super().__init__()
        self.alias = alias

    def resolve_expression(self, query=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        return MessageWords(query.get_initial_alias() if query is not None else None)

    def relabeled_clone(self, change_map):  # type: ignore[no-untyped-def]
        return MessageWords(change_map.get(self.alias, self.alias))

    def as_sql(self, compiler, connection):  # type: ignore[no-untyped-def]
        return f"{compiler.quote_name(self.alias)}.words", []


class FileWords(Func):
    """A file name's words, as migration 0021 indexes them."""

    template = "to_tsvector('simple'::regconfig, regexp_replace(%(expressions)s, '\\W+', ' ', 'g'))"
    output_field = SearchVectorField()

    def __init__(self) -> None:
        super().__init__(F("filename"))


def _words_match(word: str, *, prefix: bool) -> Q:
    """`word` among a message's words or its files' (PostgreSQL full-text search, through
    the GIN indexes of migration 0021); with `prefix`, any word that starts with it."""
    # The word is letters and digits only, so it is a tsquery as it stands.
    query = SearchQuery(f"{word}:*" if prefix else word, config="simple", search_type="raw")
    files = Attachment.objects.filter(SearchVectorExact(FileWords(), query))
    ids = list(files.values_list("message_id", flat=True)[:MAX_FILE_MATCHES])
    return Q(SearchVectorExact(MessageWords(), query)) | Q(pk__in=ids)


def _contains(field: str, value: str) -> Q:
    """`field` holds `value`, in any case: a regex match (`~*`), which the trigram
    indexes of migration 0017 serve, where ILIKE on UPPER() would not use them."""
    return Q(**{f"{field}__iregex": re.escape(value)})


def _has_label(*gmail_ids: str) -> Q:
    return Q(
        Exists(MessageLabel.objects.filter(message=OuterRef("pk"), label__gmail_id__in=gmail_ids))
    )


def _label_key(name: str) -> str:
    """Gmail writes a label's spaces and slashes as dashes in `label:`."""
    return re.sub(r"[\s/-]+", "-", name.strip().lower())


def _size(value: str) -> int:
    match = re.fullmatch(r"(\d+)\s*([kKmM]?)[bB]?", value)
    if not match:
        raise SearchError(f"“{value}” is not a size: write 500K or 2M.")
    return int(match[1]) * _SIZE_UNITS[match[2].lower()]


def _age(value: str) -> dt.timedelta:
    match = re.fullmatch(r"(\d+)([dmyDMY])", value)
    if not match:
        raise SearchError(f"“{value}” is not an age: write 3d, 2m or 1y.")
    return dt.timedelta(days=int(match[1]) * _AGE_UNITS[match[2].lower()])
