from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import GmailAccount
from sync.services import Outcome, mailbox_sync


class Command(BaseCommand):
    help = "Sync one mailbox now, in this process: incremental, or full with --full."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--full", action="store_true", help="resync the whole mailbox")

    def handle(self, *args: Any, email: str, full: bool, **options: Any) -> None:
        account = GmailAccount.objects.filter(email__iexact=email).first()
        if account is None:
            raise CommandError(f"No connected Gmail account {email}.")
        result = mailbox_sync(account_id=account.pk, full=full)
        while result.outcome == Outcome.MORE:  # a full sync, slice after slice
            result = mailbox_sync(account_id=account.pk)
        if result.outcome != Outcome.DONE:
            raise CommandError(f"Sync of {email} did not finish: {result.outcome}.")
        status = account.sync_status
        status.refresh_from_db()
        self.stdout.write(f"{email}: in sync at history id {status.history_id} {result.changes}")
