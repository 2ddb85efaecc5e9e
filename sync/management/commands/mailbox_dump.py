import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import GmailAccount
from mail.models import Message
from sync.selectors import mailbox_state


class Command(BaseCommand):
    help = "Print the local mirror of a mailbox as JSON, in the emulator's state shape."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument(
            "--content",
            action="store_true",
            help="Also print each message's subject, sender and text, as the mirror holds them.",
        )

    def handle(self, *args: Any, email: str, content: bool, **options: Any) -> None:
        account = GmailAccount.objects.filter(email__iexact=email).first()
        if account is None:
            raise CommandError(f"No connected Gmail account {email}.")
        state: dict[str, Any] = dict(mailbox_state(account=account))
        if content:
            for gmail_id, subject, sender, text in Message.objects.filter(
                account=account
            ).values_list("gmail_id", "subject", "sender", "body_text"):
                state["messages"][gmail_id].update(subject=subject, sender=sender, text=text)
        self.stdout.write(json.dumps(state, indent=2, sort_keys=True, ensure_ascii=not content))
