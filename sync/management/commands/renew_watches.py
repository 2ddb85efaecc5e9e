from typing import Any

from django.core.management.base import BaseCommand

from accounts.credentials import NeedsReconnect
from gmail.errors import SyncError
from sync.selectors import watches_due
from sync.services import watch_register


class Command(BaseCommand):
    help = "Renew every Gmail watch that is missing or expires within 48 hours."

    def handle(self, *args: Any, **options: Any) -> None:
        failures = 0
        for account in watches_due():
            try:
                watch = watch_register(account=account)
            except (SyncError, NeedsReconnect) as error:
                failures += 1
                self.stderr.write(f"{account.email}: {error}")
            else:
                self.stdout.write(
                    f"{account.email}: watched until {watch.expiration:%Y-%m-%d %H:%M}"
                )
        if failures:
            raise SystemExit(1)
