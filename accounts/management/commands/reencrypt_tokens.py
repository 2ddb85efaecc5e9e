from typing import Any

from django.core.management.base import BaseCommand

from accounts.credentials import reencrypt_all


class Command(BaseCommand):
    help = "Re-encrypt every stored Gmail token with the first key of TOKEN_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        count = reencrypt_all()
        self.stdout.write(f"Re-encrypted the tokens of {count} account(s).")
