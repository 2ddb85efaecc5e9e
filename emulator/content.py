"""Building blocks for realistic mail: people, subjects, bodies, small files.

Everything is drawn from a seeded random generator, so the demo mailbox is the same on
every start. Domains are reserved example domains; image URLs never resolve.
"""

import base64
import datetime as dt
import quopri
import random
import struct
import zlib
from email import message_from_bytes
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid

from . import mime

PEOPLE = [
    ("Zoë Bäcker", "zoe@bakery.example"),
    ("José Álvarez", "jose.alvarez@example.org"),
    ("Łukasz Wiśniewski", "lukasz@example.net"),
    ("田中 花子", "hanako.tanaka@example.jp"),
    ("Мария Иванова", "maria@example.ru"),
    ("Søren Østergaard", "soren@example.dk"),
    ("Priya Raman", "priya@example.in"),
    ("Chloé Dubois", "chloe.dubois@example.fr"),
    ("Oliver Smith", "oliver@example.co.uk"),
    ("Amara Okafor", "amara@example.ng"),
]
NEWSLETTERS = [
    ("The Weekly Byte", "digest@weeklybyte.example", "CATEGORY_UPDATES"),
    ("Trailhead Outfitters", "deals@trailhead.example", "CATEGORY_PROMOTIONS"),
    ("Café Lumière", "bonjour@cafe-lumiere.example", "CATEGORY_PROMOTIONS"),
    ("City Library", "news@library.example", "CATEGORY_UPDATES"),
    ("Open Source Forum", "forum@oss-forum.example", "CATEGORY_FORUMS"),
    ("Friendbook", "notify@friendbook.example", "CATEGORY_SOCIAL"),
]
NOTIFIERS = [
    ("Build Bot", "ci@builds.example", "Build #{n} passed on main"),
    ("Build Bot", "ci@builds.example", "Build #{n} failed on feature/search"),
    ("Calendar", "calendar@example.com", "Reminder: Standup at 09:30"),
    ("Bank of Example", "alerts@bank.example", "Your statement for {month} is ready"),
    ("Parcel Service", "tracking@parcels.example", "Your parcel {n} is out for delivery"),
]
SHOPS = [
    ("Pixel Air", "receipts@pixelair.example", "Your e-ticket and receipt"),
    ("Bookshop Ω", "orders@bookshop.example", "Order confirmation #{n}"),
    ("Green Grocer", "hello@greengrocer.example", "Receipt for your order {n}"),
]
TOPICS = [
    "Lunch on Thursday?",
    "Quarterly planning notes",
    "Trip to Kraków 🚆",
    "Photos from the weekend",
    "Café rendez-vous ☕",
    "Встреча в пятницу",
    "会議の議題について",
    "Budget review",
    "Draft of the proposal",
    "Re-org of the shared drive",
    "Birthday party for Léa 🎂",
    "Recipe: grandma's pierogi",
    "Conference talk feedback",
    "Flat viewing on Saturday",
    "Book club: next pick",
    "Server migration window",
    "Ideas for the garden",
    "Invoice question",
    "Holiday rota",
    "Climbing gym membership",
]
OPENERS = [
    "Hi {name},",
    "Hello {name},",
    "Hey {name}!",
    "Dear {name},",
    "{name} —",
]
LINES = [
    "Thanks for sending this over, it helps a lot.",
    "I had a look and I think we can make it work if we move things by a week.",
    "Could you check the numbers in the second table? They don't add up for me.",
    "Let's talk about it tomorrow, I'm free after 2pm.",
    "Attached is the latest version with your comments addressed.",
    "Großartig — das klingt nach einem Plan.",
    "Je pense que c'est une très bonne idée, on en parle demain ?",
    "Sounds good to me. I'll book the room.",
    "I'm running a bit late, start without me.",
    "Here's the link I mentioned: https://docs.example.com/shared/plan",
    "Quick note: the deadline moved to Friday.",
    "Did you get a chance to look at the draft?",
]
CLOSERS = ["Cheers,", "Best,", "Thanks,", "All the best,", "Talk soon,", "Merci,"]


def tiny_png(rgb: tuple[int, int, int], size: int = 8) -> bytes:
    """A valid PNG of one colour, made without any image library."""
    row = b"\x00" + bytes(rgb) * size
    raw = zlib.compress(row * size)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def tiny_pdf(title: str) -> bytes:
    text = title.encode("ascii", "replace")
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]/Contents 4 0 R>>endobj\n"
        b"4 0 obj<</Length "
        + str(len(text) + 30).encode()
        + b">>stream\nBT /F1 12 Tf 20 100 Td ("
        + text
        + b") Tj ET\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def address(name: str, email: str) -> Address:
    local, _, domain = email.partition("@")
    return Address(display_name=name, username=local, domain=domain)


def build(
    *,
    sender: tuple[str, str],
    to: list[tuple[str, str]],
    subject: str,
    text: str,
    when: dt.datetime,
    html: str | None = None,
    cc: list[tuple[str, str]] = (),
    in_reply_to: str | None = None,
    references: list[str] = (),
    attachments: list[tuple[bytes, str, str, str]] = (),
    inline_images: list[tuple[bytes, str]] = (),
    attached_messages: list[bytes] = (),
    extra_headers: dict | None = None,
) -> tuple[bytes, str]:
    """Answer the raw RFC 822 bytes and the Message-ID of a new message."""
    message = EmailMessage()
    message_id = make_msgid(domain=sender[1].partition("@")[2])
    message["From"] = address(*sender)
    message["To"] = [address(*person) for person in to]
    if cc:
        message["Cc"] = [address(*person) for person in cc]
    message["Subject"] = subject
    message["Date"] = format_datetime(when)
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = " ".join([*references, in_reply_to])
    for name, value in (extra_headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
        html_part = message.get_payload()[1]
        for data, cid in inline_images:
            html_part.add_related(
                data, "image", "png", cid=f"<{cid}>", filename=f"{cid}.png", disposition="inline"
            )
    for data, maintype, subtype, filename in attachments:
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    for raw in attached_messages:
        message.add_attachment(message_from_bytes(raw, policy=SMTP))
    return message.as_bytes(policy=SMTP), message_id


def personal_text(rng: random.Random, to_name: str, from_name: str) -> str:
    opener = rng.choice(OPENERS).format(name=to_name.split(" ")[0])
    body = " ".join(rng.sample(LINES, rng.randint(1, 3)))
    return f"{opener}\n\n{body}\n\n{rng.choice(CLOSERS)}\n{from_name.split(' ')[0]}\n"


def quoted(text: str, who: str, when: dt.datetime) -> str:
    lines = "\n".join(f"> {line}" for line in text.strip().splitlines())
    return f"\n\nOn {when:%a, %d %b %Y at %H:%M}, {who} wrote:\n{lines}\n"


def newsletter_html(rng: random.Random, brand: str, issue: int) -> tuple[str, str]:
    """An HTML newsletter with remote images and tracking pixels, plus its text part."""
    slug = brand.lower().replace(" ", "-").encode("ascii", "ignore").decode()
    items = rng.sample(
        [
            "Ten tips for faster builds",
            "Autumn sale: 30% off jackets",
            "New opening hours",
            "Meet the team behind the release",
            "Reader survey results",
            "Events this month",
            "What we learned from 1,000 bug reports",
            "Behind the scenes: our roastery",
        ],
        3,
    )
    text = f"{brand} — issue {issue}\n\n" + "\n".join(f"* {item}" for item in items)
    cards = "".join(
        f'<tr><td><img src="https://img.{slug}.example/{issue}/{i}.jpg" width="560" '
        f'alt="{item}"><h2 style="font-family:Georgia">{item}</h2>'
        f'<p>Read more on <a href="https://{slug}.example/p/{issue}-{i}">our site</a>.</p>'
        "</td></tr>"
        for i, item in enumerate(items)
    )
    html = (
        f"<!doctype html><html><head><style>body{{background:#f4f1ea}}</style></head><body>"
        f'<table width="600" align="center"><tr><td><img src="https://img.{slug}.example/logo.png"'
        f' alt="{brand}"></td></tr>{cards}<tr><td><small>You are receiving this because you '
        f'subscribed. <a href="https://{slug}.example/unsubscribe">Unsubscribe</a></small>'
        f'<img src="https://track.{slug}.example/open/{issue}.gif" width="1" height="1" alt="">'
        f"</td></tr></table></body></html>"
    )
    return text, html


# Mail from senders whose software still writes legacy charsets: Gmail serves the bodies
# in UTF-8 but keeps each part's charset, so a client that trusts the header garbles them.
LEGACY_MAIL = [
    (
        ("山田 太郎", "yamada@example.jp"),
        "iso-2022-jp",
        "7bit",
        "来週の会議について",
        "花子さん\n\n来週の会議の議題をお送りします。よろしくお願いします。\n\n山田\n",
    ),
    (
        ("佐藤 商店", "info@sato-shop.example.jp"),
        "shift_jis",
        "base64",
        "ご注文ありがとうございます",
        "ご注文の商品は明日発送いたします。①お届け予定日は金曜日です。\n",
    ),
    (
        ("Brasserie Léon", "contact@brasserie-leon.example"),
        "windows-1252",
        "quoted-printable",
        "Réservation confirmée",
        "Bonjour,\n\nVotre table pour quatre est réservée samedi à 20 h — à bientôt !\n",
    ),
    (
        ("Дмитрий Петров", "dmitry@example.ru"),
        "koi8-r",
        "8bit",
        "Итоги недели",
        "Привет!\n\nИтоги недели: всё идёт по плану, в пятницу созвонимся.\n",  # noqa: RUF001 - Russian text
    ),
]


def legacy(
    *,
    sender: tuple[str, str],
    to: tuple[str, str],
    charset: str,
    encoding: str,
    subject: str,
    text: str,
    when: dt.datetime,
) -> bytes:
    """A text/plain mail written wholly in `charset` (subject and name as RFC 2047
    encoded-words of it), with `encoding` as its Content-Transfer-Encoding."""
    # As real mailers do, Shift_JIS is written as its Windows superset (①: cp932 only).
    codec = mime.codec_of(charset) or charset
    body = text.replace("\n", "\r\n").encode(codec)
    if encoding == "base64":
        body = base64.encodebytes(body)
    elif encoding == "quoted-printable":
        body = quopri.encodestring(body)

    def word(value: str) -> str:
        return f"=?{charset}?B?{base64.b64encode(value.encode(codec)).decode()}?="

    head = [
        f"From: {word(sender[0])} <{sender[1]}>",
        f"To: {formataddr(to, 'utf-8')}",
        f"Subject: {word(subject)}",
        f"Date: {format_datetime(when)}",
        f"Message-ID: {make_msgid(domain=sender[1].partition('@')[2])}",
        "MIME-Version: 1.0",
        f"Content-Type: text/plain; charset={charset}",
        f"Content-Transfer-Encoding: {encoding}",
    ]
    return "\r\n".join(head).encode("ascii") + b"\r\n\r\n" + body
