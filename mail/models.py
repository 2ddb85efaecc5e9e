"""The local mirror of each Gmail mailbox.

Every row carries its Gmail id and is unique per (account, gmail_id), so every upsert is
idempotent. Foreign keys already covered by the leading column of a composite index or unique
constraint skip their own index (`db_index=False`): fewer indexes to write per message.
Gmail's label membership is kept twice, on purpose: per message (the truth,
`MessageLabel`) and per thread (`ThreadLabel`, the union over the thread's messages),
with the thread's last message time copied into `ThreadLabel` so that "the newest 50
threads with label L" is one index range scan whatever the mailbox size.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse

from accounts.models import GmailAccount
from mail.actions import ACTIONS, Action, Kind


class Label(models.Model):
    class Type(models.TextChoices):
        SYSTEM = "system", "System"
        USER = "user", "User"

    account = models.ForeignKey(
        GmailAccount, on_delete=models.DB_CASCADE, related_name="labels", db_index=False
    )
    gmail_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=8, choices=Type.choices, default=Type.USER)
    background_color = models.CharField(max_length=7, blank=True)
    text_color = models.CharField(max_length=7, blank=True)
    label_list_visibility = models.CharField(max_length=32, blank=True)
    message_list_visibility = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["account", "type", "name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "gmail_id"], name="label_account_gmail_id")
        ]

    def __str__(self) -> str:
        return self.name


class Thread(models.Model):
    account = models.ForeignKey(
        GmailAccount, on_delete=models.DB_CASCADE, related_name="threads", db_index=False
    )
    gmail_id = models.CharField(max_length=64)
    subject = models.TextField(blank=True)
    snippet = models.TextField(blank=True)
    last_message_at = models.DateTimeField(db_index=False)
    is_unread = models.BooleanField(default=False)
    is_starred = models.BooleanField(default=False)
    has_attachments = models.BooleanField(default=False)
    participants = models.CharField(
        max_length=512, blank=True, help_text="Display names of senders, newest last."
    )
    message_count = models.PositiveIntegerField(default=0)
    labels = models.ManyToManyField(Label, through="ThreadLabel", related_name="threads")

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "gmail_id"], name="thread_account_gmail_id")
        ]
        indexes = [
            # "All mail" of one account, newest first, keyset-paginated.
            models.Index(
                fields=["account", "-last_message_at", "-id"], name="thread_account_recent"
            ),
        ]

    def __str__(self) -> str:
        # An id, not the subject: names of rows show up in admin and in logs.
        return f"thread {self.gmail_id}"

    def get_absolute_url(self) -> str:
        return reverse("mail:thread", kwargs={"thread_id": self.pk})

    @property
    def is_muted(self) -> bool:
        return hasattr(self, "mute")  # the reverse one-to-one (select_related("mute"))


class ThreadLabel(models.Model):
    """Thread T carries label L: true when any message of T carries L (Gmail's rule).

    `snippet`, `is_unread` and `last_message_at` are the thread's row as the list of L
    shows it, from the messages that list shows (`mail.mirror.shown_in`): Gmail leaves
    trashed and spam messages out of every list but Trash and Spam, and drafts out of
    every list but Drafts.

    `user`, `label_gmail_id` and `last_message_at` are copies kept by the sync engine so
    that the two list queries are each one index range scan:
    - one account:       WHERE label_id = L ORDER BY last_message_at DESC, thread_id DESC
    - a user's accounts: WHERE user_id = U AND label_gmail_id = 'INBOX' ORDER BY ... (system
      labels share their Gmail id across accounts, which is what a unified inbox needs).
    """

    thread = models.ForeignKey(Thread, on_delete=models.DB_CASCADE, related_name="thread_labels")
    label = models.ForeignKey(
        Label, on_delete=models.DB_CASCADE, related_name="thread_labels", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DB_CASCADE, related_name="+", db_index=False
    )
    label_gmail_id = models.CharField(max_length=255)
    last_message_at = models.DateTimeField()
    snippet = models.TextField(blank=True)
    is_unread = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["label", "thread"], name="threadlabel_label_thread")
        ]
        indexes = [
            models.Index(
                fields=["label", "-last_message_at", "-thread"], name="threadlabel_label_recent"
            ),
            models.Index(
                fields=["user", "label_gmail_id", "-last_message_at", "-thread"],
                name="threadlabel_user_recent",
            ),
            # The sidebar's unread counts: an index-only scan of the unread rows alone,
            # not of every thread the user has (the Gmail id a key column, not INCLUDE,
            # which SQLite, the embedded default, lacks).
            models.Index(
                fields=["user", "label", "label_gmail_id"],
                condition=models.Q(is_unread=True),
                name="threadlabel_user_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label_gmail_id} on thread {self.thread_id}"


class Message(models.Model):
    account = models.ForeignKey(
        GmailAccount, on_delete=models.DB_CASCADE, related_name="messages", db_index=False
    )
    thread = models.ForeignKey(
        Thread, on_delete=models.DB_CASCADE, related_name="messages", db_index=False
    )
    gmail_id = models.CharField(max_length=64)
    rfc822_message_id = models.CharField("Message-ID", max_length=998, blank=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    sender = models.TextField("From", blank=True)
    to = models.TextField(blank=True)
    cc = models.TextField(blank=True)
    bcc = models.TextField(blank=True)
    reply_to = models.TextField(blank=True)
    subject = models.TextField(blank=True)
    snippet = models.TextField(blank=True)
    internal_date = models.DateTimeField(help_text="Gmail's internalDate: when it arrived.")
    date_header = models.DateTimeField(null=True, blank=True)
    size_estimate = models.PositiveIntegerField(default=0)
    history_id = models.BigIntegerField(null=True, blank=True)
    # The full sync that last saw this message (its starting historyId): a full resync
    # deletes what it did not see.
    full_sync_mark = models.BigIntegerField(null=True, blank=True)
    has_attachments = models.BooleanField(default=False)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    # body_html through mail.sanitize, made on first view and kept; made again when
    # mail.sanitize.VERSION differs from the version it was made with (0: not made yet).
    body_html_safe = models.TextField(blank=True)
    body_html_safe_version = models.PositiveSmallIntegerField(default=0)
    labels = models.ManyToManyField(Label, through="MessageLabel", related_name="messages")

    class Meta:
        ordering = ["internal_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "gmail_id"], name="message_account_gmail_id")
        ]
        indexes = [
            # The thread page: its messages in order.
            models.Index(fields=["thread", "internal_date"], name="message_thread_date"),
            models.Index(fields=["account", "rfc822_message_id"], name="message_account_msgid"),
            # Search (mail.search): dates, sizes and files, when few messages match.
            models.Index(fields=["account", "internal_date"], name="message_account_date"),
            models.Index(fields=["account", "size_estimate"], name="message_account_size"),
            models.Index(
                fields=["account"],
                condition=models.Q(has_attachments=True),
                name="message_account_files",
            ),
        ]

    def __str__(self) -> str:
        return f"message {self.gmail_id}"


class MessageLabel(models.Model):
    message = models.ForeignKey(
        Message, on_delete=models.DB_CASCADE, related_name="message_labels", db_index=False
    )
    label = models.ForeignKey(
        Label, on_delete=models.DB_CASCADE, related_name="message_labels", db_index=False
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "label"], name="messagelabel_message_label")
        ]
        indexes = [models.Index(fields=["label", "message"], name="messagelabel_label")]

    def __str__(self) -> str:
        return f"label {self.label_id} on message {self.message_id}"


class Attachment(models.Model):
    """An attachment's description. Its bytes stay at Gmail until someone downloads it.

    An attached message (message/rfc822) is one row of that type, named by its subject
    when it has no file name: its own body and files are not the outer message's.
    """

    message = models.ForeignKey(
        Message, on_delete=models.DB_CASCADE, related_name="attachments", db_index=False
    )
    # Gmail's attachment ids run to hundreds of characters with no documented bound.
    gmail_attachment_id = models.TextField(blank=True)
    part_id = models.CharField(max_length=255)
    filename = models.CharField(max_length=1024, blank=True)
    mime_type = models.CharField(max_length=255)
    size = models.PositiveIntegerField(default=0)
    content_id = models.CharField(
        max_length=998, blank=True, help_text="Content-ID, for inline images (cid: URLs)."
    )
    is_inline = models.BooleanField(default=False)

    class Meta:
        ordering = ["message", "part_id"]
        constraints = [
            models.UniqueConstraint(fields=["message", "part_id"], name="attachment_message_part")
        ]

    def __str__(self) -> str:
        return f"part {self.part_id} of message {self.message_id}"


class OutboxAction(models.Model):
    """A user's action on their mail, applied to the mirror at once and waiting here,
    in order, until Gmail has accepted it (sync/outbox.py writes it back)."""

    Kind = Kind  # the table of kinds: mail/actions.py

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for Gmail"
        FAILED = "failed", "Failed"

    account = models.ForeignKey(
        GmailAccount, on_delete=models.DB_CASCADE, related_name="outbox", db_index=False
    )
    kind = models.CharField(
        max_length=16, choices=[(kind.value, ACTIONS[kind].title) for kind in Kind]
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    message_ids = models.JSONField(default=list, help_text="Gmail ids of the messages.")
    # The labels the action adds to and removes from each message: its kind's, or the
    # user's choice for Kind.LABELS.
    add_label_ids = models.JSONField(default=list)
    remove_label_ids = models.JSONField(default=list)
    raw = models.TextField(blank=True, help_text="A message to send, base64url RFC 822.")
    thread_gmail_id = models.CharField(max_length=64, blank=True)
    # A send goes through a Gmail draft: its id once drafts.create answered, and the
    # sent message's id once drafts.send did (sync/outbox.py: how a retry uses them).
    draft_gmail_id = models.CharField(max_length=64, blank=True)
    sent_gmail_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # A refused action's messages are fetched again by the next sync, under its lock, so
    # the mirror shows Gmail's truth again (sync.services._restore_refused).
    restored = models.BooleanField(default=False)
    # A draft's save, discard or send: the draft it writes (its MIME is made from it when
    # the outbox gets to it). A send waits until `not_before` (the undo window, or the
    # time it is scheduled for) and is `started` once the outbox takes it: from then on
    # it can no longer be undone (mail.services.send_undo).
    draft = models.ForeignKey(
        "Draft", on_delete=models.DB_CASCADE, null=True, blank=True, related_name="actions"
    )
    not_before = models.DateTimeField(null=True, blank=True)
    started = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["account", "state", "id"], name="outbox_account_state"),
            # Beat's look for sends that are due (scheduled ones, or after downtime).
            models.Index(
                fields=["not_before"],
                condition=models.Q(not_before__isnull=False, started=False),
                name="outbox_sends_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({len(self.message_ids)} messages)"

    @property
    def spec(self) -> Action:
        """The action's entry in the table of mail/actions.py."""
        return ACTIONS[Kind(self.kind)]

    def label_delta(self) -> tuple[list[str], list[str]]:
        """(labels added, labels removed) on each message, as Gmail applies the action."""
        return list(self.add_label_ids), list(self.remove_label_ids)


class SkippedMessage(models.Model):
    """A Gmail message the mirror could not store even after cleaning its values.

    It is skipped so that the rest of its page, the history cursor and the mailbox go
    on; each incremental sync tries it again, and operators see it in admin and in the
    health details. `error` names the kind of failure, never the message's content.
    """

    account = models.ForeignKey(
        GmailAccount, on_delete=models.DB_CASCADE, related_name="skipped_messages", db_index=False
    )
    gmail_id = models.CharField(max_length=255)
    error = models.CharField(max_length=255)
    attempts = models.PositiveIntegerField(default=1)
    first_failed_at = models.DateTimeField(auto_now_add=True)
    last_failed_at = models.DateTimeField(auto_now=True)
    # Each failure doubles the wait (mail.mirror.skipped_retry_at); empty: never again.
    retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["last_failed_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "gmail_id"], name="skipped_account_gmail_id")
        ]

    def __str__(self) -> str:
        return f"message {self.gmail_id} skipped: {self.error}"


class Snooze(models.Model):
    """A thread the user snoozed: out of the inbox until `until`, when it comes back
    (Gmail's API has no snooze: Tern keeps it; mail.services.snoozes_wake returns it)."""

    thread = models.OneToOneField(Thread, on_delete=models.DB_CASCADE, related_name="snooze")
    until = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"thread {self.thread_id} snoozed"


class Mute(models.Model):
    """A thread the user muted: archived, and archived again when new mail arrives in it
    (Gmail's API has no mute either: mail.services.threads_got_mail)."""

    thread = models.OneToOneField(Thread, on_delete=models.DB_CASCADE, related_name="mute")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"thread {self.thread_id} muted"


class TrustedSender(models.Model):
    """A sender whose mail shows its remote images at once ("Always show from this
    sender"), still through Tern's image proxy. One list per user, by lowercase address."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DB_CASCADE,
        related_name="trusted_senders",
        db_index=False,
    )
    address = models.CharField(max_length=320)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["address"]
        constraints = [
            models.UniqueConstraint(fields=["user", "address"], name="trustedsender_user_address")
        ]

    def __str__(self) -> str:
        return "trusted sender"


class Draft(models.Model):
    """A message being written in Tern, kept here as it is typed, so that nothing typed is
    lost (a failed send, a reload, a closed tab), and saved to Gmail's drafts by the
    outbox a moment after typing stops (mail/compose.py makes its MIME; sync/outbox.py
    writes it). Sending queues it in the outbox, which waits out the undo window or the
    scheduled time first: while it waits, the draft can come back (mail.services)."""

    class State(models.TextChoices):
        EDITING = "editing", "Draft"
        QUEUED = "queued", "Sending"  # in the outbox, waiting for its time
        SENT = "sent", "Sent"  # kept only to tell the user it went late (Tern was down)

    class Mode(models.TextChoices):
        NEW = "new", "New message"
        REPLY = "reply", "Reply"
        REPLY_ALL = "reply_all", "Reply all"
        FORWARD = "forward", "Forward"

    account = models.ForeignKey(GmailAccount, on_delete=models.DB_CASCADE, related_name="drafts")
    from_address = models.EmailField(
        blank=True, help_text="A send-as address; empty: the account's."
    )
    to = models.TextField(blank=True)
    cc = models.TextField(blank=True)
    bcc = models.TextField(blank=True)
    subject = models.TextField(blank=True)
    body_text = models.TextField(blank=True)
    # Rich mode's HTML (mail.sanitize.compose_html), sent beside body_text; empty: plain.
    body_html = models.TextField(blank=True)
    # A forward's original as HTML (mail.compose.forwarded_html), sent below what was
    # typed while the text still holds the forward; its cid: images are the draft's
    # files with that content_id.
    quoted_html = models.TextField(blank=True)
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.NEW)
    # A reply or forward: the thread it joins at Gmail, and the headers that thread it.
    thread = models.ForeignKey(
        Thread, on_delete=models.DB_SET_NULL, null=True, blank=True, related_name="+"
    )
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    # Chosen when the draft is made: the sent message's Message-ID, and the header by which
    # a retried save finds the Gmail draft an earlier attempt made (sync/outbox.py).
    message_id = models.CharField(max_length=255, unique=True)
    # Gmail's draft, once saved there, and the message id Gmail gave that version: a
    # different one at Gmail means the draft was edited in Gmail meanwhile.
    gmail_draft_id = models.CharField(max_length=64, blank=True)
    gmail_message_id = models.CharField(max_length=64, blank=True)
    save_attempts = models.PositiveIntegerField(default=0)
    conflict = models.BooleanField(
        default=False,
        help_text="Gmail's copy was edited elsewhere: Tern saved this as another draft.",
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.EDITING)
    send_at = models.DateTimeField(null=True, blank=True)
    scheduled = models.BooleanField(default=False, help_text="Sent at a chosen time, not at once.")
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["account", "state"], name="draft_account_state")]

    def __str__(self) -> str:
        return f"draft {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("mail:draft", args=[self.pk])


class DraftAttachment(models.Model):
    """A file of a draft: uploaded (its bytes here), or forwarded from a message of the
    mirror (its bytes stay at Gmail until the MIME is made: `source`)."""

    draft = models.ForeignKey(Draft, on_delete=models.DB_CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    mime_type = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    data = models.BinaryField(blank=True, default=b"")
    source = models.ForeignKey(
        Attachment, on_delete=models.DB_SET_NULL, null=True, blank=True, related_name="+"
    )
    content_id = models.CharField(max_length=998, blank=True)  # kept for inline images

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"file {self.pk} of draft {self.draft_id}"
