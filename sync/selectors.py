from mail.models import Message, MessageLabel
from sync.models import SyncStatus


def mailbox_state(*, account):
    """The mirror in the emulator's state shape (DESIGN.md, control API):
    {"historyId": "…", "messages": {"<id>": {"threadId": "…", "labelIds": [sorted]}}}."""
    labels = {}
    for message_id, gmail_id in MessageLabel.objects.filter(message__account=account).values_list(
        "message_id", "label__gmail_id"
    ):
        labels.setdefault(message_id, []).append(gmail_id)
    messages = {
        gmail_id: {"threadId": thread_gmail_id, "labelIds": sorted(labels.get(pk, []))}
        for pk, gmail_id, thread_gmail_id in Message.objects.filter(account=account).values_list(
            "pk", "gmail_id", "thread__gmail_id"
        )
    }
    # Read fresh: `account.sync_status` may be a copy cached before the last sync.
    history_id = (
        SyncStatus.objects.filter(account=account).values_list("history_id", flat=True).first()
    )
    return {"historyId": str(history_id or ""), "messages": messages}
