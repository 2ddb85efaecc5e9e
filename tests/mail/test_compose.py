"""Compose, end to end against the emulator: what a person types in /mail/compose/ is
kept by Tern and saved to Gmail's drafts; Send waits out the undo window in the outbox,
then Bob, another emulated user, receives it (threaded, files intact); reply, reply all
and forward start as Gmail's do; a draft edited in Gmail is not overwritten; a
scheduled send goes once, also after downtime."""

import base64
import datetime as dt
import email
import email.message
import email.policy

import pytest
from django.urls import reverse
from django.utils import timezone

from mail import compose
from mail.models import Draft, DraftAttachment, OutboxAction, Thread
from support.mailbox import sync_until_done as sync
from sync.outbox import outbox_flush
from sync.selectors import accounts_with_sends_due
from sync.send_as import send_as_refresh
from tests.sync.chaos import WorkerKilled
from tests.sync.helpers import deliver, raw_message
from tests.sync.test_outbox_send import crash_at

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_celery")]

BOB = "bob@example.com"


@pytest.fixture
def bob(emulator):
    emulator.create_user(BOB, "Bob Example")
    return emulator.gmail(BOB)


@pytest.fixture
def signed_in(client, mailbox):
    client.force_login(mailbox.user)
    return client


@pytest.fixture
def at_once(settings):
    settings.UNDO_SEND_SECONDS = 0


def post(client, mailbox, intent, **fields):
    data = {"account": mailbox.pk, "intent": intent, **fields}
    return client.post(reverse("mail:compose"), data)


def flush(mailbox):
    outbox_flush(account_id=mailbox.pk)
    assert not OutboxAction.objects.filter(state=OutboxAction.State.FAILED).exists()


def received(gmail, query=""):
    """The messages in the mailbox behind `gmail` (parsed), oldest first."""
    listed = gmail.users().messages().list(userId="me", q=query).execute()
    found = []
    for ref in reversed(listed.get("messages", [])):
        got = gmail.users().messages().get(userId="me", id=ref["id"], format="raw").execute()
        raw = base64.urlsafe_b64decode(got["raw"] + "==")
        found.append((got, email.message_from_bytes(raw, policy=email.policy.default)))
    return found


def gmail_drafts(gmail):
    listed = gmail.users().drafts().list(userId="me").execute().get("drafts", [])
    out = {}
    for entry in listed:
        got = gmail.users().drafts().get(userId="me", id=entry["id"], format="raw").execute()
        raw = base64.urlsafe_b64decode(got["message"]["raw"] + "==")
        out[entry["id"]] = email.message_from_bytes(raw, policy=email.policy.default)
    return out


def test_the_compose_page_offers_every_field_and_stores_nothing(signed_in, mailbox):
    page = signed_in.get(reverse("mail:compose"))

    assert page.status_code == 200
    html = page.content.decode()
    for name in ("from", "to", "cc", "bcc", "subject", "body", "files"):
        assert f'name="{name}"' in html
    assert 'value="send"' in html and 'value="schedule"' in html
    assert not Draft.objects.exists()


def test_typing_is_kept_and_saved_to_gmail_as_one_draft(signed_in, mailbox, gmail):
    first = post(signed_in, mailbox, "autosave", to=BOB, subject="Plans", body="Hello Bob")
    draft = Draft.objects.get()
    assert first.json() == {"draft": draft.pk, "url": f"/mail/compose/{draft.pk}/"}
    flush(mailbox)
    assert [m["Subject"] for m in gmail_drafts(gmail).values()] == ["Plans"]

    post(signed_in, mailbox, "autosave", draft=draft.pk, to=BOB, subject="Plans v2", body="Hi")
    flush(mailbox)

    drafts = gmail_drafts(gmail)
    assert list(drafts) == [Draft.objects.get().gmail_draft_id]  # the same draft, updated
    assert drafts[Draft.objects.get().gmail_draft_id]["Subject"] == "Plans v2"
    assert drafts[Draft.objects.get().gmail_draft_id].get_content().strip() == "Hi"
    reopened = signed_in.get(reverse("mail:draft", args=[draft.pk])).content.decode()
    assert 'value="Plans v2"' in reopened and ">\nHi</textarea>" in reopened


def test_an_autosave_with_nothing_typed_stores_nothing(signed_in, mailbox):
    assert post(signed_in, mailbox, "autosave").status_code == 204
    assert not Draft.objects.exists()


def test_send_waits_for_the_undo_window_and_undo_brings_the_draft_back(
    signed_in, mailbox, gmail, bob, settings
):
    settings.UNDO_SEND_SECONDS = 10
    post(signed_in, mailbox, "autosave", to=BOB, subject="Oops", body="Not yet")
    draft = Draft.objects.get()
    sent = post(signed_in, mailbox, "send", draft=draft.pk, to=BOB, subject="Oops", body="x")
    assert sent.status_code == 303
    toast = signed_in.get(sent["Location"]).content.decode()
    assert "Sending…" in toast and reverse("mail:send_undo", args=[draft.pk]) in toast

    flush(mailbox)  # within the window: nothing goes
    assert received(bob) == []
    undone = signed_in.post(reverse("mail:send_undo", args=[draft.pk]))
    assert undone["Location"] == reverse("mail:draft", args=[draft.pk])
    draft.refresh_from_db()
    assert draft.state == Draft.State.EDITING and draft.body_text == "x"

    flush(mailbox)
    assert received(bob) == []
    assert [m["Subject"] for m in gmail_drafts(gmail).values()] == ["Oops"]


def test_a_sent_message_reaches_bob_and_leaves_no_draft(signed_in, mailbox, gmail, bob, at_once):
    post(signed_in, mailbox, "autosave", to=BOB, subject="Dinner", body="Friday?")
    flush(mailbox)  # saved to Gmail's drafts first
    draft = Draft.objects.get()
    post(
        signed_in,
        mailbox,
        "send",
        draft=draft.pk,
        to=f"Bob <{BOB}>",
        cc="",
        subject="Dinner",
        body="Friday at 8?",
    )
    # The flush says it sent, so that its task syncs the sent message in at once.
    assert outbox_flush(account_id=mailbox.pk).sent

    [(_, message)] = received(bob)
    assert message["Subject"] == "Dinner"
    assert message.get_content().strip() == "Friday at 8?"
    assert gmail_drafts(gmail) == {}  # the saved draft became the sent message
    assert [m["Subject"] for _, m in received(gmail, "in:sent")] == ["Dinner"]
    assert not Draft.objects.exists()
    assert not OutboxAction.objects.exists()


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"to": ""}, "Add at least one recipient."),
        ({"to": "bob"}, "To: “bob” is not an email address."),
        ({"to": BOB, "cc": "carol@"}, "Cc: “carol@” is not an email address."),
    ],
)
def test_a_message_that_cannot_go_says_why_and_keeps_everything(
    signed_in, mailbox, gmail, bob, at_once, fields, problem
):
    typed = {"subject": "Kept", "body": "Every word", **fields}
    refused = post(signed_in, mailbox, "send", **typed)

    assert refused.status_code == 400
    html = refused.content.decode()
    assert problem in html and "Everything you wrote is kept" in html
    assert 'value="Kept"' in html and "Every word</textarea>" in html
    draft = Draft.objects.get()
    assert draft.state == Draft.State.EDITING and draft.body_text == "Every word"
    assert not OutboxAction.objects.filter(kind="send").exists()
    flush(mailbox)
    assert received(bob) == []
    # Not sent, so saved to Gmail's drafts after all, as any draft is.
    assert [m["Subject"] for m in gmail_drafts(gmail).values()] == ["Kept"]


def test_a_message_sent_at_once_is_not_saved_as_a_draft_first(signed_in, mailbox, bob, at_once):
    post(signed_in, mailbox, "send", to=BOB, subject="Straight out", body="No detour")

    # Only the send is queued: no drafts.create before it, which it would delete.
    assert list(OutboxAction.objects.values_list("kind", flat=True)) == ["send"]
    flush(mailbox)
    assert [m["Subject"] for _, m in received(bob)] == ["Straight out"]


def test_an_uploaded_file_arrives_with_its_bytes(signed_in, mailbox, bob, at_once):
    data = bytes(range(256)) * 40
    upload = signed_in.post(
        reverse("mail:compose_attach"),
        {
            "account": mailbox.pk,
            "to": BOB,
            "subject": "The file",
            "files": [_file("data.bin", data)],
        },
    )
    assert upload.status_code == 303
    draft = Draft.objects.get()
    assert [(f.filename, f.size) for f in draft.attachments.all()] == [("data.bin", len(data))]
    post(signed_in, mailbox, "send", draft=draft.pk, to=BOB, subject="The file", body="Here")
    flush(mailbox)

    [(_, message)] = received(bob)
    [part] = list(message.iter_attachments())
    assert part.get_filename() == "data.bin"
    assert part.get_content() == data


def test_files_past_25_mb_are_refused_at_once_and_nothing_is_lost(signed_in, mailbox, monkeypatch):
    monkeypatch.setattr(compose, "MAX_ATTACHMENTS_BYTES", 1000)
    refused = signed_in.post(
        reverse("mail:compose_attach"),
        {"account": mailbox.pk, "subject": "Big", "files": [_file("big.bin", b"x" * 1500)]},
    )
    assert refused.status_code == 400
    assert "Gmail sends at most" in refused.content.decode()
    draft = Draft.objects.get()
    assert draft.subject == "Big" and not draft.attachments.exists()


def test_a_file_can_be_removed(signed_in, mailbox):
    signed_in.post(
        reverse("mail:compose_attach"),
        {"account": mailbox.pk, "files": [_file("a.txt", b"a")]},
    )
    file = DraftAttachment.objects.get()
    signed_in.post(reverse("mail:compose_file_remove", args=[file.pk]))
    assert not DraftAttachment.objects.exists()


def _file(name, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def bob_writes_to_alice(bob, mailbox, *, cc="", subject="Trip", attachment=None):
    message = email.message.EmailMessage()
    message["From"] = f"Bob Example <{BOB}>"
    message["To"] = f"Alice Example <{mailbox.email}>, Dave <dave@example.net>"
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message.set_content("Shall we go on Monday?\nBob")
    if attachment:
        message.add_attachment(attachment, maintype="image", subtype="png", filename="map.png")
    raw = base64.urlsafe_b64encode(message.as_bytes()).decode()
    return bob.users().messages().send(userId="me", body={"raw": raw}).execute()


def test_a_reply_is_quoted_and_threaded_at_both_ends(signed_in, mailbox, bob, at_once):
    sent_by_bob = bob_writes_to_alice(bob, mailbox)
    sync(mailbox)
    message = Thread.objects.get().messages.get()

    page = signed_in.get(reverse("mail:reply", args=[message.pk])).content.decode()
    assert 'value="Re: Trip"' in page
    assert f"Bob Example &lt;{BOB}&gt;" in page  # To
    assert "wrote:\n&gt; Shall we go on Monday?" in page
    post(
        signed_in,
        mailbox,
        "send",
        reply_to=message.pk,
        mode="reply",
        to=BOB,
        subject="Re: Trip",
        body="Yes!\n\n> Shall we go on Monday?",
    )
    flush(mailbox)

    [(got, reply)] = received(bob, "in:inbox")
    assert got["threadId"] == sent_by_bob["threadId"]  # Bob sees one conversation
    assert reply["In-Reply-To"] == message.rfc822_message_id
    assert message.rfc822_message_id in reply["References"]
    sync(mailbox)
    assert Thread.objects.get().messages.count() == 2  # and so does Alice


def test_reply_all_leaves_out_the_users_own_address(signed_in, mailbox, bob):
    bob_writes_to_alice(bob, mailbox, cc=f"Carol <carol@example.org>, {mailbox.email}")
    sync(mailbox)
    message = Thread.objects.get().messages.get()

    start = compose.reply_start(message, mode="reply_all", own={mailbox.email})

    assert start.to == f"Bob Example <{BOB}>, Dave <dave@example.net>"
    assert start.cc == "Carol <carol@example.org>"
    assert mailbox.email not in start.to + start.cc


def test_a_forward_carries_the_original_files_byte_for_byte(
    signed_in, mailbox, bob, at_once, emulator
):
    emulator.create_user("erin@example.com", "Erin")
    erin = emulator.gmail("erin@example.com")
    picture = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 30
    bob_writes_to_alice(bob, mailbox, attachment=picture)
    sync(mailbox)
    message = Thread.objects.get().messages.get()

    page = signed_in.get(reverse("mail:reply", args=[message.pk]) + "?mode=forward")
    html = page.content.decode()
    assert 'value="Fwd: Trip"' in html and "map.png" in html
    assert "---------- Forwarded message ---------" in html
    post(
        signed_in,
        mailbox,
        "send",
        reply_to=message.pk,
        mode="forward",
        to="erin@example.com",
        subject="Fwd: Trip",
        body="See below",
    )
    flush(mailbox)

    [(_, forwarded)] = received(erin)
    [part] = list(forwarded.iter_attachments())
    assert part.get_filename() == "map.png"
    assert part.get_content() == picture


def test_a_draft_edited_in_gmail_is_not_overwritten(signed_in, mailbox, gmail):
    post(signed_in, mailbox, "autosave", to=BOB, subject="Ours", body="Tern's words")
    flush(mailbox)
    draft = Draft.objects.get()
    theirs = email.message.EmailMessage()
    theirs["To"] = BOB
    theirs["Subject"] = "Edited in Gmail"
    theirs.set_content("Gmail's words")
    raw = base64.urlsafe_b64encode(theirs.as_bytes()).decode()
    gmail.users().drafts().update(
        userId="me", id=draft.gmail_draft_id, body={"message": {"raw": raw}}
    ).execute()

    post(signed_in, mailbox, "autosave", draft=draft.pk, to=BOB, subject="Ours", body="More")
    flush(mailbox)

    subjects = sorted(m["Subject"] for m in gmail_drafts(gmail).values())
    assert subjects == ["Edited in Gmail", "Ours"]
    draft.refresh_from_db()
    assert draft.conflict
    page = signed_in.get(reverse("mail:draft", args=[draft.pk])).content.decode()
    assert "also changed in Gmail" in page


def test_discard_deletes_the_draft_at_gmail_too(signed_in, mailbox, gmail):
    post(signed_in, mailbox, "autosave", to=BOB, subject="Never mind")
    flush(mailbox)
    draft = Draft.objects.get()
    assert gmail_drafts(gmail)

    post(signed_in, mailbox, "discard", draft=draft.pk)
    flush(mailbox)

    assert not Draft.objects.exists()
    assert gmail_drafts(gmail) == {}


def test_a_scheduled_send_goes_once_after_downtime_and_says_it_was_late(signed_in, mailbox, bob):
    at = timezone.localtime(timezone.now() + dt.timedelta(hours=2), dt.UTC)
    post(
        signed_in,
        mailbox,
        "schedule",
        to=BOB,
        subject="Later",
        body="Scheduled",
        send_at=at.strftime("%Y-%m-%dT%H:%M"),
        tz="UTC",
    )
    draft = Draft.objects.get()
    assert draft.state == Draft.State.QUEUED and draft.scheduled
    listed = signed_in.get(reverse("mail:scheduled")).content.decode()
    assert "Later" in listed and "Cancel and edit" in listed
    flush(mailbox)
    assert received(bob) == []
    assert accounts_with_sends_due(now=timezone.now()) == []

    # Tern was down when it was due: beat finds it when it comes back.
    gone_by = timezone.now() - dt.timedelta(minutes=30)
    OutboxAction.objects.filter(kind="send").update(not_before=gone_by)
    Draft.objects.filter(pk=draft.pk).update(send_at=gone_by)
    assert accounts_with_sends_due(now=timezone.now()) == [mailbox.pk]
    flush(mailbox)
    flush(mailbox)

    assert [m["Subject"] for _, m in received(bob)] == ["Later"]
    draft.refresh_from_db()
    assert draft.state == Draft.State.SENT  # kept to say it went late
    assert accounts_with_sends_due(now=timezone.now()) == []
    notice = signed_in.get(reverse("mail:scheduled")).content.decode()
    assert "Sent late:" in notice and "“Later” was scheduled for" in notice
    signed_in.post(reverse("mail:late_send_dismiss", args=[draft.pk]))
    assert "Sent late:" not in signed_in.get(reverse("mail:scheduled")).content.decode()
    assert not Draft.objects.exists()


def test_a_scheduled_send_can_be_cancelled_back_to_a_draft(signed_in, mailbox, bob):
    at = timezone.now() + dt.timedelta(days=1)
    post(
        signed_in,
        mailbox,
        "schedule",
        to=BOB,
        subject="Tomorrow",
        send_at=at.strftime("%Y-%m-%dT%H:%M"),
        tz="UTC",
    )
    draft = Draft.objects.get()
    signed_in.post(reverse("mail:send_undo", args=[draft.pk]))

    draft.refresh_from_db()
    assert draft.state == Draft.State.EDITING and not draft.scheduled
    assert not OutboxAction.objects.filter(kind="send").exists()


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_draft_send_whose_worker_dies_is_delivered_exactly_once(
    signed_in, mailbox, gmail, bob, at_once, monkeypatch, when
):
    post(signed_in, mailbox, "autosave", to=BOB, subject="Once", body="Only once")
    flush(mailbox)
    draft = Draft.objects.get()
    post(signed_in, mailbox, "send", draft=draft.pk, to=BOB, subject="Once", body="Only once")
    armed = crash_at(monkeypatch, {"drafts.send"}, when)

    with pytest.raises(WorkerKilled):
        outbox_flush(account_id=mailbox.pk)
    assert not armed[0]
    flush(mailbox)

    assert [m["Subject"] for _, m in received(bob)] == ["Once"]
    assert gmail_drafts(gmail) == {}


def test_a_message_being_sent_cannot_be_changed(signed_in, mailbox, settings):
    settings.UNDO_SEND_SECONDS = 10
    post(signed_in, mailbox, "send", to=BOB, subject="Going", body="Final")
    draft = Draft.objects.get()
    post(signed_in, mailbox, "autosave", draft=draft.pk, to=BOB, subject="Changed")

    draft.refresh_from_db()
    assert draft.subject == "Going"
    page = signed_in.get(reverse("mail:draft", args=[draft.pk])).content.decode()
    assert "Being sent." in page and "inert" in page


def test_names_in_a_reply_read_as_typed_and_go_out_encoded(signed_in, mailbox, gmail, bob, at_once):
    deliver(
        gmail,
        raw_message(to=mailbox.email, subject="Hi", sender='"Zoë, Ltd" <zoe@example.org>'),
    )
    sync(mailbox)
    message = Thread.objects.get().messages.get()
    start = compose.reply_start(message, mode="reply", own={mailbox.email})
    assert start.to == '"Zoë, Ltd" <zoe@example.org>'  # one address, readable

    post(signed_in, mailbox, "send", to=f"{start.to}, Bob <{BOB}>", subject="Re: Hi", body="ok")
    flush(mailbox)
    [(_, got)] = received(bob)
    assert [a.addr_spec for a in got["To"].addresses] == ["zoe@example.org", BOB]
    assert got["To"].addresses[0].display_name == "Zoë, Ltd"


def test_a_reply_draft_shows_in_its_thread_and_reopens(signed_in, mailbox, bob):
    bob_writes_to_alice(bob, mailbox)
    sync(mailbox)
    message = Thread.objects.get().messages.get()
    post(
        signed_in,
        mailbox,
        "autosave",
        reply_to=message.pk,
        mode="reply",
        to=BOB,
        subject="Re: Trip",
        body="Draft",
    )
    flush(mailbox)
    sync(mailbox)  # the draft comes back from Gmail into the thread
    draft = Draft.objects.get()
    assert draft.thread == message.thread

    page = signed_in.get(reverse("mail:thread", args=[message.thread_id])).content.decode()

    assert f'href="{draft.get_absolute_url()}">Edit draft' in page


@pytest.fixture
def with_alias(emulator, mailbox):
    emulator.add_send_as(
        mailbox.email,
        mailbox.email,
        displayName="Alice Example",
        signature="Alice<br>Sent with <b>Tern</b> &amp; love",
        isDefault=True,
    )
    emulator.add_send_as(
        mailbox.email,
        "alice@work.example",
        displayName="Alice at Work",
        replyToAddress="desk@work.example",
        signature="<div>Team Tern</div>",
    )
    send_as_refresh(account=mailbox)
    return mailbox


def test_from_offers_the_aliases_gmail_verified_with_their_signatures(signed_in, with_alias):
    page = signed_in.get(reverse("mail:compose")).content.decode()

    assert f'<option value="{with_alias.pk}:alice@example.com" selected>' in page
    assert (
        f'value="{with_alias.pk}:alice@work.example">Alice at Work &lt;alice@work.example&gt;'
        in page
    )
    assert "\n\n-- \nAlice\nSent with Tern &amp; love</textarea>" in page  # text, escaped once


def test_a_message_sent_from_an_alias_goes_as_the_alias_with_its_reply_to(
    signed_in, with_alias, bob, at_once
):
    post(
        signed_in,
        with_alias,
        "send",
        **{"from": f"{with_alias.pk}:alice@work.example"},
        to=BOB,
        subject="From work",
        body="Hello",
    )
    flush(with_alias)

    [(_, message)] = received(bob)
    assert message["From"].addresses[0].addr_spec == "alice@work.example"
    assert message["From"].addresses[0].display_name == "Alice at Work"
    assert message["Reply-To"] == "desk@work.example"


def test_a_reply_goes_from_the_alias_it_was_sent_to(signed_in, with_alias, gmail):
    deliver(gmail, raw_message(to="alice@work.example", subject="Invoice"))
    sync(with_alias)
    message = Thread.objects.get().messages.get()

    page = signed_in.get(reverse("mail:reply", args=[message.pk])).content.decode()

    assert f'<option value="{with_alias.pk}:alice@work.example" selected>' in page
    assert "-- \nTeam Tern\n\nOn " in page  # the alias's signature, above the quote


def test_a_draft_written_in_gmail_with_formatting_reopens_in_rich_mode(signed_in, mailbox, gmail):
    theirs = email.message.EmailMessage()
    theirs["To"] = BOB
    theirs["Subject"] = "Formatted"
    theirs.set_content("Started on the bus")
    theirs.add_alternative(
        '<div dir="ltr">Started <b>on the bus</b><ul><li>tickets</li></ul>'
        '<img src="https://tracker.example/p.gif"><script>alert(1)</script></div>',
        subtype="html",
    )
    raw = base64.urlsafe_b64encode(theirs.as_bytes()).decode()
    gmail.users().drafts().create(userId="me", body={"message": {"raw": raw}}).execute()
    sync(mailbox)
    message = Thread.objects.get().messages.get()

    opened = signed_in.post(reverse("mail:draft_adopt", args=[message.pk]))

    draft = Draft.objects.get()
    assert "Started <b>on the bus</b><ul><li>tickets</li></ul>" in draft.body_html
    assert "tracker.example" not in draft.body_html and "script" not in draft.body_html
    page = signed_in.get(opened["Location"]).content.decode()
    assert '<input type="hidden" name="rich" value="1" data-rich-flag>' in page
    editor = page.split("data-rich-editor", 1)[1].split("</div>", 1)[0]
    assert "Started <b>on the bus</b>" in editor and " hidden" not in editor.split(">", 1)[0]


def test_a_draft_written_in_gmail_reopens_in_tern_and_saves_back_to_itself(
    signed_in, mailbox, gmail, bob, at_once
):
    theirs = email.message.EmailMessage()
    theirs["To"] = BOB
    theirs["Subject"] = "Written on the phone"
    theirs.set_content("Started on the bus")
    theirs.add_attachment(
        b"%PDF-1.4 plan", maintype="application", subtype="pdf", filename="plan.pdf"
    )
    raw = base64.urlsafe_b64encode(theirs.as_bytes()).decode()
    created = gmail.users().drafts().create(userId="me", body={"message": {"raw": raw}}).execute()
    sync(mailbox)
    message = Thread.objects.get().messages.get()
    thread_page = signed_in.get(reverse("mail:thread", args=[message.thread_id])).content.decode()
    assert reverse("mail:draft_adopt", args=[message.pk]) in thread_page
    assert "Reply all" not in thread_page  # a draft is edited, not answered

    opened = signed_in.post(reverse("mail:draft_adopt", args=[message.pk]))
    draft = Draft.objects.get()
    assert opened["Location"] == draft.get_absolute_url()
    page = signed_in.get(opened["Location"]).content.decode()
    assert 'value="Written on the phone"' in page and "Started on the bus" in page
    assert "plan.pdf" in page
    assert (
        signed_in.post(reverse("mail:draft_adopt", args=[message.pk]))["Location"]
        == opened["Location"]
    )

    post(
        signed_in,
        mailbox,
        "autosave",
        draft=draft.pk,
        to=BOB,
        subject="Written on the phone",
        body="Finished at my desk",
    )
    flush(mailbox)
    drafts = gmail_drafts(gmail)
    assert list(drafts) == [created["id"]]  # the same Gmail draft, not a second one
    assert drafts[created["id"]].get_body(("plain",)).get_content().strip() == "Finished at my desk"
    assert [p.get_filename() for p in drafts[created["id"]].iter_attachments()] == ["plan.pdf"]

    post(
        signed_in,
        mailbox,
        "send",
        draft=draft.pk,
        to=BOB,
        subject="Written on the phone",
        body="Finished at my desk",
    )
    flush(mailbox)
    [(_, sent)] = received(bob)
    [part] = list(sent.iter_attachments())
    assert part.get_content() == b"%PDF-1.4 plan"
    assert gmail_drafts(gmail) == {}


def test_rich_mode_sends_html_cleaned_by_the_allowlist_beside_its_text(
    signed_in, mailbox, bob, at_once
):
    hostile = (
        "<b>Bold</b> and <i>italic</i><ul><li>one</li></ul><blockquote>quoted</blockquote>"
        '<a href="https://example.org/" onclick="steal()">a link</a>'
        '<img src="https://tracker.example/p.gif"><script>alert(1)</script>'
        '<a href="javascript:alert(1)">bad</a><p style="background:url(https://x.example/)">p</p>'
    )
    post(
        signed_in,
        mailbox,
        "autosave",
        to=BOB,
        subject="Rich",
        body="Bold and italic",
        rich="1",
        body_html=hostile,
    )
    draft = Draft.objects.get()
    for gone in ("onclick", "<img", "<script", "javascript:", "style=", "tracker.example"):
        assert gone not in draft.body_html
    assert "<b>Bold</b>" in draft.body_html and "<blockquote>quoted</blockquote>" in draft.body_html
    page = signed_in.get(reverse("mail:draft", args=[draft.pk])).content.decode()
    assert 'aria-pressed="true"' in page and "<b>Bold</b> and <i>italic</i>" in page

    post(
        signed_in,
        mailbox,
        "send",
        draft=draft.pk,
        to=BOB,
        subject="Rich",
        body="Bold and italic",
        rich="1",
        body_html=draft.body_html,
    )
    flush(mailbox)
    [(_, message)] = received(bob)
    html = message.get_body(("html",)).get_content()
    assert "<b>Bold</b>" in html and "<li>one</li>" in html
    assert 'href="https://example.org/"' in html and "<script" not in html
    assert message.get_body(("plain",)).get_content().strip() == "Bold and italic"


def test_plain_mode_sends_no_html_even_if_some_was_posted(signed_in, mailbox, bob, at_once):
    post(
        signed_in,
        mailbox,
        "send",
        to=BOB,
        subject="Plain",
        body="Just text",
        rich="0",
        body_html="<b>x</b>",
    )
    flush(mailbox)
    [(_, message)] = received(bob)
    assert message.get_body(("html",)) is None


def test_a_reply_waiting_in_its_undo_window_shows_in_its_thread_with_undo(
    signed_in, mailbox, bob, settings
):
    settings.UNDO_SEND_SECONDS = 10
    bob_writes_to_alice(bob, mailbox)
    sync(mailbox)
    message = Thread.objects.get().messages.get()
    fields = {"reply_to": message.pk, "mode": "reply", "to": BOB, "subject": "Re: Trip"}
    post(signed_in, mailbox, "autosave", **fields, body="On my way")
    flush(mailbox)
    sync(mailbox)  # its Gmail draft is in the thread
    draft = Draft.objects.get()
    post(signed_in, mailbox, "send", draft=draft.pk, **fields, body="On my way")

    page = signed_in.get(reverse("mail:thread", args=[message.thread_id])).content.decode()

    assert "Sending…" in page and reverse("mail:send_undo", args=[draft.pk]) in page
    assert reverse("mail:draft_adopt", args=[message.pk]) not in page
    assert "Edit draft" not in page  # not a second copy of what is being sent


def test_a_send_gmail_refuses_comes_back_as_a_draft_and_says_why(
    signed_in, mailbox, emulator, gmail, bob, at_once
):
    post(signed_in, mailbox, "send", to=BOB, subject="Refused", body="Keep me")
    # Something Gmail refuses for good: its recipients gone behind the form's back, which
    # Gmail answers 400 "Recipient address required" (the form itself never lets it go).
    Draft.objects.update(to="")
    assert "did not send" not in signed_in.get(reverse("mail:inbox")).content.decode()  # kept
    outbox_flush(account_id=mailbox.pk)

    draft = Draft.objects.get()
    assert draft.state == Draft.State.EDITING and draft.body_text == "Keep me"
    assert received(bob) == []
    inbox = signed_in.get(reverse("mail:inbox")).content.decode()
    assert "Gmail did not send this message" in inbox and "is a draft again" in inbox
    post(signed_in, mailbox, "autosave", draft=draft.pk, to=BOB, subject="Refused", body="Edited")
    draft.refresh_from_db()
    assert draft.body_text == "Edited"  # editable again, nothing lost
    outbox_flush(account_id=mailbox.pk)
    assert [m.get_content().strip() for m in gmail_drafts(gmail).values()] == ["Edited"]


def test_a_send_gmail_refuses_is_in_gmail_s_drafts_again(signed_in, mailbox, gmail, bob, at_once):
    post(signed_in, mailbox, "send", to=BOB, subject="Refused", body="Keep me")
    Draft.objects.update(to="")  # Gmail: 400 "Recipient address required" (as above)
    outbox_flush(account_id=mailbox.pk)  # refused

    outbox_flush(account_id=mailbox.pk)  # the save it queued

    [(gmail_draft_id, kept)] = gmail_drafts(gmail).items()
    assert kept["Subject"] == "Refused" and kept.get_content().strip() == "Keep me"
    assert Draft.objects.get().gmail_draft_id == gmail_draft_id
