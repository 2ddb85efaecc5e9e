"""Mailboxes for the benchmarks: conversations planned once, written two ways.

`conversations()` plans a lived-in mailbox from a fixed seed: threads of one to four
messages (about two on average) between the owner and a few dozen people, spread over
months, about 60% of threads in the inbox, recent mail often unread, categories, some
user labels, stars, a little spam and trash. `bench.mirror` writes such a plan straight
into PostgreSQL in the shape the sync engine writes; `raw_message()` turns each planned
message into RFC 822 for the emulator, which threads it as Gmail would (References and
subject).
"""

import datetime as dt
import email.message
import email.utils
import random
from dataclasses import dataclass, field

PEOPLE = [
    ("Carol Jones", "carol@elsewhere.example"),
    ("Dmitri Ivanov", "dmitri@elsewhere.example"),
    ("Zoë Martin", "zoe@elsewhere.example"),
    ("Łukasz Nowak", "lukasz@elsewhere.example"),
    ("田中 花子", "hanako@elsewhere.example"),
    ("Мария Петрова", "maria@elsewhere.example"),
    ("Priya Natarajan", "priya@elsewhere.example"),
    ("Sam O'Neill", "sam@elsewhere.example"),
    ("Fatima Zahra", "fatima@elsewhere.example"),
    ("Kwame Mensah", "kwame@elsewhere.example"),
    ("Ana Souza", "ana@elsewhere.example"),
    ("Henrik Lund", "henrik@elsewhere.example"),
    ("Billing", "billing@shop.example"),
    ("Release notes", "releases@project.example"),
    ("The Weekly Digest", "digest@news.example"),
    ("Calendar", "calendar@work.example"),
    ("Travel desk", "trips@travel.example"),
    ("Build bot", "ci@project.example"),
    ("Grace Hopper", "grace@elsewhere.example"),
    ("Ines Duarte", "ines@elsewhere.example"),
    ("Olu Adeyemi", "olu@elsewhere.example"),
    ("Mei Chen", "mei@elsewhere.example"),
    ("Jonas Weber", "jonas@elsewhere.example"),
    ("Lucía Romero", "lucia@elsewhere.example"),
]
TOPICS = [
    "Quarterly planning",
    "Lunch on Friday?",
    "Your order has shipped",
    "Invoice 2024-118",
    "Flight confirmation",
    "Draft of the proposal",
    "Weekend plans",
    "Build failed on main",
    "Release 3.2 is out",
    "Meeting notes",
    "Photos from the trip",
    "Question about the contract",
    "Welcome to the team",
    "Reminder: dentist",
    "Apartment viewing",
    "Book club: next pick",
    "Conference talk accepted",
    "Password changed",
    "Receipt for your payment",
    "Migration plan review",
    "Birthday dinner",
    "Hiking on Sunday",
    "Budget spreadsheet",
    "Onboarding checklist",
    "Your weekly digest",
    "Security review findings",
    "Renewal notice",
    "Rehearsal schedule",
    "Garden club minutes",
    "Paper deadline extended",
]
SENTENCES = [
    "Thanks for getting back to me so quickly.",
    "I have attached the latest version for you to look at.",
    "Could we move the call to Thursday afternoon instead?",
    "The numbers look right to me, apart from the second table.",
    "Let me know if anything is unclear and I will explain it.",
    "We are still waiting for the final confirmation from the vendor.",
    "I will be out of the office until Monday, with limited access to email.",
    "Here is a short summary of what we agreed on yesterday.",
    "Please review the changes before the end of the week.",
    "The train leaves at 8:15, so let's meet on the platform at eight.",
    "I think the second option is cheaper in the long run.",
    "Can you forward this to the rest of the team?",
    "Sorry for the late reply, it has been a busy week.",
    "Your package will arrive between 10:00 and 14:00.",
    "The meeting room is booked from two to four.",
    "Great news: the proposal was accepted without changes.",
    "We should write this down somewhere everyone can find it.",
    "I tried it again this morning and it works now.",
    "Looking forward to seeing you all on Saturday.",
    "The invoice is due within thirty days of receipt.",
    "There is a small typo on page three, otherwise it is ready.",
    "Could you send me the address again?",
    "I'll bring the cake if someone can bring the candles.",
    "The build is green again after the last fix.",
]
CATEGORIES = [
    ("CATEGORY_PERSONAL", 0.5),
    ("CATEGORY_UPDATES", 0.25),
    ("CATEGORY_PROMOTIONS", 0.15),
    ("CATEGORY_SOCIAL", 0.05),
    ("CATEGORY_FORUMS", 0.05),
]
USER_LABELS = ["Work", "Travel", "Receipts", "Family", "Projects/Tern", "Books"]
SYSTEM_LABELS = [
    "INBOX",
    "SENT",
    "UNREAD",
    "STARRED",
    "IMPORTANT",
    "TRASH",
    "SPAM",
    "DRAFT",
    "CHAT",
    *(name for name, _ in CATEGORIES),
]
THREAD_SIZES = [(1, 0.35), (2, 0.35), (3, 0.2), (4, 0.1)]  # 2.05 messages a thread
MESSAGES_PER_DAY = 120


@dataclass
class PlannedMessage:
    index: int
    sender: tuple[str, str]
    to: tuple[str, str]
    subject: str
    date: dt.datetime
    body: str
    labels: list[str]
    rfc822_id: str
    references: list[str] = field(default_factory=list)

    @property
    def snippet(self):
        return self.body[:200]


@dataclass
class PlannedThread:
    messages: list[PlannedMessage]


def _weighted(rng, choices):
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights)[0]


def conversations(*, owner, count, seed, now=None):
    """About `count` messages to `owner` (name, address) in threads, newest near `now`.

    User labels are named by USER_LABELS; callers map them to label ids.
    """
    rng = random.Random(seed)
    now = now or dt.datetime.now(dt.UTC)
    span_days = max(14.0, count / MESSAGES_PER_DAY)
    threads, planned = [], 0
    while planned < count:
        size = min(_weighted(rng, THREAD_SIZES), count - planned)
        threads.append(_thread(rng, owner, size, now, span_days, seed, planned))
        planned += size
    return threads


def _thread(rng, owner, size, now, span_days, seed, first_index):
    other = rng.choice(PEOPLE)
    topic = rng.choice(TOPICS)
    start = now - dt.timedelta(days=rng.uniform(0.01, span_days))
    age_days = (now - start).total_seconds() / 86400
    in_inbox = rng.random() < (0.9 if age_days < 7 else 0.6)
    category = _weighted(rng, CATEGORIES)
    user_label = rng.choice(USER_LABELS) if rng.random() < 0.2 else None
    starred = rng.random() < 0.04
    fate = rng.random()
    trashed, spam = fate < 0.01, size == 1 and 0.01 <= fate < 0.015
    owner_starts = rng.random() < 0.2
    messages, when, references = [], start, []
    for turn in range(size):
        from_owner = (turn % 2 == 0) == owner_starts
        sender, recipient = (owner, other) if from_owner else (other, owner)
        if turn:
            when = min(when + dt.timedelta(minutes=rng.expovariate(1 / 180)), now)
        labels = ["SENT"] if from_owner else [category]
        if not from_owner and in_inbox:
            labels.append("INBOX")
        if not from_owner and rng.random() < 0.25:
            labels.append("IMPORTANT")
        if user_label:
            labels.append(user_label)
        if spam:
            labels = ["SPAM"]
        elif trashed:
            labels = [label for label in labels if label != "INBOX"] + ["TRASH"]
        index = first_index + turn
        message = PlannedMessage(
            index=index,
            sender=sender,
            to=recipient,
            subject=topic if not turn else f"Re: {topic}",
            date=when,
            body=" ".join(rng.sample(SENTENCES, rng.randint(3, 9))),
            labels=labels,
            rfc822_id=f"<bench-{seed}-{index}@bench.example>",
            references=list(references),
        )
        references.append(message.rfc822_id)
        messages.append(message)
    last_received = next((m for m in reversed(messages) if m.sender != owner), None)
    if last_received is not None and "SPAM" not in last_received.labels:
        recent = (now - last_received.date).total_seconds() < 3 * 86400
        if rng.random() < (0.7 if recent else 0.08):
            last_received.labels.append("UNREAD")
    if starred:
        messages[-1].labels.append("STARRED")
    return PlannedThread(messages)


def raw_message(message):
    """The planned message as RFC 822 bytes (for messages.import)."""
    mail = email.message.EmailMessage()
    mail["From"] = email.utils.formataddr(message.sender)
    mail["To"] = email.utils.formataddr(message.to)
    mail["Subject"] = message.subject
    mail["Date"] = email.utils.format_datetime(message.date)
    mail["Message-ID"] = message.rfc822_id
    if message.references:
        mail["In-Reply-To"] = message.references[-1]
        mail["References"] = " ".join(message.references)
    mail.set_content(message.body)
    return mail.as_bytes()
