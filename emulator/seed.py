"""Start-up data: ``--seed empty`` (nothing) or ``--seed demo`` (two lived-in mailboxes).

The demo is generated from a fixed random seed, so every start shows the same mail (its
dates are relative to now, so the inbox always looks recent).
"""

import datetime as dt
import random

from . import content, mime
from .mailbox import Mailbox

ALICE = ("Alice Example", "alice@example.com")
BOB = ("Bob Example", "bob@example.com")
ALICE_LABELS = ["Work", "Travel", "Receipts", "Family", "Projects/Tern"]
BOB_LABELS = ["Work", "Books", "Receipts"]


class _Plan:
    """Messages to file, each in one or more mailboxes, stored in date order at the end."""

    def __init__(self, rng: random.Random, now: dt.datetime) -> None:
        self.rng = rng
        self.now = now
        self.entries: list[tuple[dt.datetime, int, bytes, list[tuple[str, set[str]]]]] = []

    def add(self, when: dt.datetime, raw: bytes, deliveries: list[tuple[str, set[str]]]):
        self.entries.append((when, len(self.entries), raw, deliveries))

    def received_labels(self, when: dt.datetime, category: str, extra=()) -> set[str]:
        age_days = (self.now - when).days
        labels = {category, *extra}
        # Recent mail waits in the inbox, mostly unread; older mail is often archived.
        if age_days < 10 or self.rng.random() < 0.45:
            labels.add("INBOX")
        if (age_days < 3 and self.rng.random() < 0.8) or self.rng.random() < 0.08:
            labels.add("UNREAD")
        if self.rng.random() < 0.06:
            labels.add("STARRED")
        if category == "CATEGORY_PERSONAL" and self.rng.random() < 0.3:
            labels.add("IMPORTANT")
        return labels


def _when(rng: random.Random, now: dt.datetime, max_days: int) -> dt.datetime:
    return now - dt.timedelta(days=rng.uniform(0.05, max_days), minutes=rng.randint(0, 59))


def _conversations(plan: _Plan, owner, others, count: int, owner_labels: list[str]):
    """Threads between the owner and people they know, replies quoting the last message."""
    rng = plan.rng
    for _ in range(count):
        other = rng.choice(others)
        subject = rng.choice(content.TOPICS)
        when = _when(rng, plan.now, 80)
        participants = [other, owner]
        starter = rng.choice(participants)
        last_id, refs, last_text = None, [], ""
        label = {rng.choice(owner_labels)} if rng.random() < 0.4 else set()
        for turn in range(rng.randint(1, 5)):
            sender = participants[(participants.index(starter) + turn) % 2]
            recipient = participants[(participants.index(starter) + turn + 1) % 2]
            text = content.personal_text(rng, recipient[0], sender[0])
            if last_id:
                text += content.quoted(last_text, recipient[0], when)
            attachments, images, html = [], [], None
            if rng.random() < 0.15:
                attachments.append(
                    (content.tiny_pdf(subject), "application", "pdf", f"notes-v{turn}.pdf")
                )
            if rng.random() < 0.1:
                cid = f"photo{turn}"
                images.append((content.tiny_png((rng.randrange(256), 120, 90)), cid))
                html = f'<p>{text.splitlines()[0]}</p><p><img src="cid:{cid}" alt="photo"></p>'
            raw, message_id = content.build(
                sender=sender,
                to=[recipient],
                subject=subject if not last_id else f"Re: {subject}",
                text=text,
                html=html,
                when=when,
                in_reply_to=last_id,
                references=refs,
                attachments=attachments,
                inline_images=images,
            )
            deliveries = []
            if sender == owner or sender[1] in _LOCAL:
                deliveries.append((sender[1], {"SENT", *label} if sender == owner else {"SENT"}))
            if recipient == owner or recipient[1] in _LOCAL:
                labels = plan.received_labels(when, "CATEGORY_PERSONAL")
                deliveries.append((recipient[1], labels | (label if recipient == owner else set())))
            plan.add(when, raw, deliveries)
            refs = [*refs, last_id] if last_id else []
            last_id, last_text = message_id, text
            when += dt.timedelta(hours=rng.uniform(0.2, 30))
            if when > plan.now:
                break


_LOCAL = {ALICE[1], BOB[1]}


def _newsletters(plan: _Plan, owner, count: int):
    rng = plan.rng
    for issue in range(count):
        brand, sender, category = rng.choice(content.NEWSLETTERS)
        when = _when(rng, plan.now, 90)
        text, html = content.newsletter_html(rng, brand, 100 + issue)
        raw, _ = content.build(
            sender=(brand, sender),
            to=[owner],
            subject=f"{brand}: issue {100 + issue}",
            text=text,
            html=html,
            when=when,
            extra_headers={"List-Unsubscribe": f"<mailto:unsubscribe@{sender.split('@')[1]}>"},
        )
        plan.add(when, raw, [(owner[1], plan.received_labels(when, category))])


def _notifications(plan: _Plan, owner, count: int):
    rng = plan.rng
    for n in range(count):
        name, sender, subject = rng.choice(content.NOTIFIERS)
        when = _when(rng, plan.now, 60)
        subject = subject.format(n=4000 + n, month=when.strftime("%B"))
        text = f"{subject}.\n\nDetails: https://{sender.split('@')[1]}/items/{4000 + n}\n"
        raw, _ = content.build(
            sender=(name, sender), to=[owner], subject=subject, text=text, when=when
        )
        plan.add(when, raw, [(owner[1], plan.received_labels(when, "CATEGORY_UPDATES"))])


def _receipts(plan: _Plan, owner, count: int, label: str):
    rng = plan.rng
    for n in range(count):
        name, sender, subject = rng.choice(content.SHOPS)
        when = _when(rng, plan.now, 90)
        subject = subject.format(n=70000 + n)
        text = f"Thank you for your order.\n\nTotal: €{rng.randint(5, 400)}.{rng.randint(10, 99)}\n"
        raw, _ = content.build(
            sender=(name, sender),
            to=[owner],
            subject=subject,
            text=text,
            when=when,
            attachments=[(content.tiny_pdf(subject), "application", "pdf", f"receipt-{n}.pdf")],
        )
        labels = plan.received_labels(when, "CATEGORY_UPDATES", extra=[label])
        plan.add(when, raw, [(owner[1], labels)])


def _forwards(plan: _Plan, count: int):
    """Alice forwards things to Bob, with the original quoted inline."""
    rng = plan.rng
    for _ in range(count):
        when = _when(rng, plan.now, 40)
        original = rng.choice(content.LINES)
        text = (
            "Thought you'd like this.\n\n---------- Forwarded message ---------\n"
            f"From: {rng.choice(content.PEOPLE)[0]}\nSubject: {rng.choice(content.TOPICS)}\n\n"
            f"{original}\n"
        )
        raw, _ = content.build(
            sender=ALICE,
            to=[BOB],
            subject=f"Fwd: {rng.choice(content.TOPICS)}",
            text=text,
            when=when,
        )
        plan.add(
            when,
            raw,
            [(ALICE[1], {"SENT"}), (BOB[1], plan.received_labels(when, "CATEGORY_PERSONAL"))],
        )


def _legacy_charsets(plan: _Plan, owner):
    """A mail in each of ISO-2022-JP, Shift_JIS, windows-1252 and KOI8-R."""
    for sender, charset, encoding, subject, text in content.LEGACY_MAIL:
        when = _when(plan.rng, plan.now, 30)
        raw = content.legacy(
            sender=sender,
            to=owner,
            charset=charset,
            encoding=encoding,
            subject=subject,
            text=text,
            when=when,
        )
        plan.add(when, raw, [(owner[1], plan.received_labels(when, "CATEGORY_PERSONAL"))])


def _forwarded_as_attachment(plan: _Plan):
    """Bob forwards Alice a receipt as an attached message (message/rfc822)."""
    when = _when(plan.rng, plan.now, 20)
    name, sender, subject = content.SHOPS[0]
    original, _ = content.build(
        sender=(name, sender),
        to=[BOB],
        subject=subject,
        text="Thank you for your order.\n\nTotal: €212.40\n",
        when=when - dt.timedelta(days=2),
        attachments=[(content.tiny_pdf(subject), "application", "pdf", "e-ticket.pdf")],
    )
    raw, _ = content.build(
        sender=BOB,
        to=[ALICE],
        subject=f"Fwd: {subject}",
        text="Here is the receipt for the flights, as an attachment.\n",
        when=when,
        attached_messages=[original],
    )
    plan.add(
        when,
        raw,
        [(BOB[1], {"SENT"}), (ALICE[1], plan.received_labels(when, "CATEGORY_PERSONAL"))],
    )


def _junk(plan: _Plan, owner):
    rng = plan.rng
    for n, (subject, label) in enumerate(
        [
            ("You have WON a prize!!!", "SPAM"),
            ("Cheap watches", "SPAM"),
            ("Old thread nobody needs", "TRASH"),
        ]
    ):
        when = _when(rng, plan.now, 20)
        raw, _ = content.build(
            sender=("Unknown", f"sender{n}@spam.example"),
            to=[owner],
            subject=subject,
            text="Click here.",
            when=when,
        )
        plan.add(when, raw, [(owner[1], {label, "UNREAD"})])


def demo(emulator) -> str:
    rng = random.Random(20250101)  # noqa: S311 - the same demo on every start
    now = dt.datetime.fromtimestamp(emulator.clock.now(), dt.UTC).replace(microsecond=0)
    emulator.add_user(ALICE[1], ALICE[0])
    emulator.add_user(BOB[1], BOB[0])
    with emulator.lock:
        alice, bob = emulator.mailbox(ALICE[1]), emulator.mailbox(BOB[1])
        names = {
            ALICE[1]: {n: alice.create_label(n).id for n in ALICE_LABELS},
            BOB[1]: {n: bob.create_label(n).id for n in BOB_LABELS},
        }
        plan = _Plan(rng, now)
        _conversations(plan, ALICE, [BOB, *content.PEOPLE], 45, ALICE_LABELS)
        _conversations(plan, BOB, content.PEOPLE[:5], 15, BOB_LABELS)
        _newsletters(plan, ALICE, 70)
        _newsletters(plan, BOB, 30)
        _notifications(plan, ALICE, 45)
        _notifications(plan, BOB, 20)
        _receipts(plan, ALICE, 15, "Receipts")
        _receipts(plan, BOB, 6, "Receipts")
        _forwards(plan, 6)
        _forwarded_as_attachment(plan)
        _legacy_charsets(plan, ALICE)
        _junk(plan, ALICE)
        _store(plan, emulator, names)
        _drafts(alice, now)
        _send_as(alice)
        counts = {m.email: len(m.messages) for m in (alice, bob)}
    return ", ".join(f"{email} {n} messages" for email, n in counts.items())


def _store(plan: _Plan, emulator, names: dict) -> None:
    for when, _, raw, deliveries in sorted(plan.entries, key=lambda e: (e[0], e[1])):
        parsed = mime.parse(raw)
        for email, labels in deliveries:
            ids = {names[email].get(label, label) for label in labels}
            ids = {label for label in ids if label in emulator.mailbox(email).labels}
            emulator.mailbox(email).add(
                parsed, labels=ids, internal_date=int(when.timestamp() * 1000)
            )


def _drafts(mailbox: Mailbox, now: dt.datetime) -> None:
    for subject, text in [
        ("Notes for Monday", "Agenda:\n1. Inbox speed\n2. Push reliability\n"),
        ("Réservation pour samedi", "Bonjour, je voudrais réserver une table pour quatre.\n"),
    ]:
        raw, _ = content.build(sender=ALICE, to=[BOB], subject=subject, text=text, when=now)
        mailbox.create_draft(mime.parse(raw), None)


def _send_as(alice: Mailbox) -> None:
    # A signature on her own address and a work alias with its own, for compose to offer.
    alice.add_send_as(alice.email, display_name=ALICE[0], signature="Alice<br>Sent with Tern")
    alice.add_send_as(
        "alice@work.example",
        display_name="Alice Example (Work)",
        reply_to="alice@work.example",
        signature="<b>Alice Example</b><br>Team Tern, Work Inc.",
    )


def empty(emulator) -> str:
    return "no users"


SEEDS = {"demo": demo, "empty": empty}
