import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import GmailAccount
from sync.services import Outcome, Result, mailbox_sync

# --wait without a number waits this long at most: Gmail's lockouts commonly last 15 min.
DEFAULT_WAIT_S = 20 * 60


class Command(BaseCommand):
    help = "Sync one mailbox now, in this process: incremental, or full with --full."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--full", action="store_true", help="resync the whole mailbox")
        parser.add_argument(
            "--wait",
            type=float,
            nargs="?",
            const=DEFAULT_WAIT_S,
            default=0,
            metavar="SECONDS",
            help="when the mailbox is paused, wait for its pause to end and go on "
            f"(at most SECONDS in all, {DEFAULT_WAIT_S} without a number)",
        )

    def handle(self, *args: Any, email: str, full: bool, wait: float, **options: Any) -> None:
        account = GmailAccount.objects.filter(email__iexact=email).first()
        if account is None:
            raise CommandError(f"No connected Gmail account {email}.")
        deadline = time.monotonic() + wait
        result = mailbox_sync(account_id=account.pk, full=full)
        while result.outcome in (Outcome.MORE, Outcome.PAUSED):
            if result.outcome == Outcome.PAUSED and not self._wait_out(result, deadline):
                break
            result = mailbox_sync(account_id=account.pk)  # a full sync, slice after slice
        status = account.sync_status
        status.refresh_from_db()
        if result.outcome == Outcome.PAUSED:
            raise CommandError(
                f"Sync of {email} did not finish: paused until {_when(result.retry_at)}"
                f" ({status.last_error or 'backing off'})."
            )
        if result.outcome != Outcome.DONE:
            raise CommandError(f"Sync of {email} did not finish: {result.outcome}.")
        self.stdout.write(f"{email}: in sync at history id {status.history_id} {result.changes}")

    def _wait_out(self, result: Result, deadline: float) -> bool:
        """Sleep until the pause ends, if that is before `deadline`; False if not."""
        until = result.retry_at or timezone.now()
        seconds = max(0.0, (until - timezone.now()).total_seconds())
        if time.monotonic() + seconds > deadline:
            return False
        self.stdout.write(f"paused until {_when(until)}: waiting {seconds:.0f} s")
        time.sleep(seconds + 0.05)
        return True


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "unknown"
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
