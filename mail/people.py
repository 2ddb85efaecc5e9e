"""The people compose suggests as one types an address: everyone in the user's mirror
they have written to, and everyone who wrote to them, ranked by how often the user
writes to each (then by how often each writes), as Gmail ranks its suggestions.

The ranking is made from the newest SCANNED sent and received messages of the user's
accounts and kept in the cache for a few minutes, so that each keystroke costs a cache
read and a scan of a few thousand entries, whatever the mailbox's size.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache

from accounts.models import User
from mail.addresses import display_address, header_pairs
from mail.models import Message

SCANNED = 3000  # newest sent messages, and as many received ones
KEPT_S = 5 * 60
SUGGESTED = 8
RECEIVED_WEIGHT = 0.1  # a message someone sent the user counts a tenth of one sent to them


@dataclass(frozen=True)
class Person:
    name: str
    address: str
    score: float

    def __str__(self) -> str:
        return display_address((self.name, self.address))


def suggestions(*, user: User, typed: str, limit: int = SUGGESTED) -> list[Person]:
    """The people whose address, or a word of whose name, starts with `typed`, best
    first. Nothing for an empty `typed`."""
    typed = typed.strip().lower()
    if not typed:
        return []
    matching = [
        person
        for person in _ranking(user)
        if person.address.startswith(typed)
        or any(word.startswith(typed) for word in person.name.lower().split())
        or typed in person.address.split("@", 1)[0].split(".")
    ]
    return matching[:limit]


def _ranking(user: User) -> list[Person]:
    key = f"people:v1:{user.pk}"
    ranked = cache.get(key)
    if ranked is None:
        ranked = _rank(user)
        cache.set(key, ranked, KEPT_S)
    return [Person(*entry) for entry in ranked]


def _rank(user: User) -> list[tuple[str, str, float]]:
    own = {a.lower() for a in user.gmail_accounts.values_list("email", flat=True)}
    names: dict[str, str] = {}
    scores: dict[str, float] = {}

    def count(headers: Iterable[str], weight: float) -> None:
        for header in headers:
            for name, address in header_pairs(header[:4000]):
                address = address.lower()
                if address in own or len(address) > 320:
                    continue
                scores[address] = scores.get(address, 0.0) + weight
                if name and address not in names:
                    names[address] = name  # the newest name given for them

    mine = Message.objects.filter(account__user=user)
    sent = mine.filter(labels__gmail_id="SENT").order_by("-internal_date")[:SCANNED]
    for to, cc, bcc in sent.values_list("to", "cc", "bcc"):
        count((to, cc, bcc), 1.0)
    received = mine.exclude(labels__gmail_id__in=["SENT", "SPAM", "DRAFT"]).order_by(
        "-internal_date"
    )[:SCANNED]
    count(received.values_list("sender", flat=True), RECEIVED_WEIGHT)
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [(names.get(address, ""), address, score) for address, score in ranked]
