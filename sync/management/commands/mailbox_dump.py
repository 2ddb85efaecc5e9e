import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import GmailAccount
from sync.selectors import mailbox_state


class Command(BaseCommand):
    help = "Print the local mirror of a mailbox as JSON, in the emulator's state shape."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, email: str, **options: Any) -> None:
        account = GmailAccount.objects.filter(email__iexact=email).first()
        if account is None:
            raise CommandError(f"No connected Gmail account {email}.")
        self.stdout.write(json.dumps(mailbox_state(account=account), indent=2, sort_keys=True))
