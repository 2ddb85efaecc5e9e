import datetime as dt

import factory

from mail.models import Attachment, Label, Message, MessageLabel, Thread, ThreadLabel
from tests.accounts.factories import GmailAccountFactory

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class LabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Label
        django_get_or_create = ["account", "gmail_id"]

    account = factory.SubFactory(GmailAccountFactory)
    gmail_id = "INBOX"
    name = factory.LazyAttribute(lambda label: label.gmail_id.title())
    type = factory.LazyAttribute(
        lambda label: Label.Type.USER if label.gmail_id.startswith("Label_") else Label.Type.SYSTEM
    )


class ThreadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Thread
        skip_postgeneration_save = True

    account = factory.SubFactory(GmailAccountFactory)
    gmail_id = factory.Sequence(lambda n: f"{0x18F0000000000000 + n:x}")
    subject = factory.Sequence(lambda n: f"Subject {n}")
    snippet = "Hello there"
    last_message_at = factory.Sequence(lambda n: EPOCH + dt.timedelta(minutes=n))
    participants = "Alice"
    message_count = 1

    @factory.post_generation
    def label_ids(thread, create, extracted, **kwargs):
        """ThreadFactory(label_ids=["INBOX", "UNREAD"]) files the thread under those labels."""
        for gmail_id in extracted or ():
            label = LabelFactory(account=thread.account, gmail_id=gmail_id)
            ThreadLabel.objects.create(
                thread=thread,
                label=label,
                user_id=thread.account.user_id,
                label_gmail_id=gmail_id,
                last_message_at=thread.last_message_at,
                snippet=thread.snippet,
                is_unread=thread.is_unread,
            )


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message
        skip_postgeneration_save = True

    thread = factory.SubFactory(ThreadFactory)
    account = factory.LazyAttribute(lambda m: m.thread.account)
    gmail_id = factory.Sequence(lambda n: f"{0x19F0000000000000 + n:x}")
    rfc822_message_id = factory.Sequence(lambda n: f"<m{n}@example.com>")
    sender = "Alice <alice@example.com>"
    to = "Bob <bob@example.com>"
    subject = factory.LazyAttribute(lambda m: m.thread.subject)
    internal_date = factory.LazyAttribute(lambda m: m.thread.last_message_at)
    body_text = "Hello there"

    @factory.post_generation
    def label_ids(message, create, extracted, **kwargs):
        for gmail_id in extracted or ():
            label = LabelFactory(account=message.account, gmail_id=gmail_id)
            MessageLabel.objects.create(message=message, label=label)


class AttachmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attachment

    message = factory.SubFactory(MessageFactory)
    gmail_attachment_id = factory.Sequence(lambda n: f"ANGjdJ{n}")
    part_id = factory.Sequence(lambda n: f"{n + 1}")
    filename = "report.pdf"
    mime_type = "application/pdf"
    size = 1024
