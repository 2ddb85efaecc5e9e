from django.shortcuts import get_object_or_404

from accounts.models import GmailAccount


def gmail_accounts_of(*, user):
    accounts = GmailAccount.objects.filter(user=user).select_related("sync_status")
    return list(accounts.defer("encrypted_credentials"))


def gmail_account_for_user(*, user, account_id):
    """The user's own account, or 404: other people's accounts do not exist for them."""
    return get_object_or_404(GmailAccount, pk=account_id, user=user)
