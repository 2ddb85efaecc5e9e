"""Live mode: new mail arrives in every mailbox each ``live_interval_s`` seconds."""

import asyncio
import datetime as dt
import logging
import random

from . import content, delivery

log = logging.getLogger("emulator.live")


def new_message(rng: random.Random, owner: tuple[str, str], when: dt.datetime) -> bytes:
    if rng.random() < 0.3:
        brand, sender, _ = rng.choice(content.NEWSLETTERS)
        text, html = content.newsletter_html(rng, brand, rng.randint(200, 999))
        raw, _ = content.build(
            sender=(brand, sender),
            to=[owner],
            subject=f"{brand}: just in",
            text=text,
            html=html,
            when=when,
        )
        return raw
    person = rng.choice(content.PEOPLE)
    raw, _ = content.build(
        sender=person,
        to=[owner],
        subject=rng.choice(content.TOPICS),
        text=content.personal_text(rng, owner[0], person[0]),
        when=when,
    )
    return raw


def deliver_round(emulator, rng: random.Random) -> int:
    with emulator.lock:
        when = dt.datetime.fromtimestamp(emulator.clock.now(), dt.UTC)
        mailboxes = list(emulator.mailboxes.values())
        for mailbox in mailboxes:
            delivery.deliver(mailbox, new_message(rng, (mailbox.name, mailbox.email), when))
    return len(mailboxes)


async def run(emulator) -> None:
    rng = random.Random(7)  # noqa: S311 - a replayable stream of demo mail
    while True:
        interval = emulator.config.live_interval_s
        await asyncio.sleep(interval if interval > 0 else 0.2)
        if interval > 0:
            try:
                delivered = deliver_round(emulator, rng)
            except Exception:
                log.exception("live delivery failed")
            else:
                log.debug("live mode delivered %s messages", delivered)
