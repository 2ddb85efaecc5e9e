"""Writing in Chromium: a reply with an attached file, sent, reaches Bob (another
emulated user) in his conversation with the file's bytes intact; a send is undone within
its window and nothing reaches Gmail; what is typed survives a reload. axe-core runs on
the compose page; screenshots are saved in the test's tmp_path (compose-*.png), at
desktop and phone widths, light and dark."""

import base64
import email
import email.message
import email.policy

import pytest
from playwright.sync_api import expect

from accounts.models import GmailAccount
from mail.models import Draft
from support.mailbox import sync_until_done
from sync.outbox import outbox_flush
from tests.browser.conftest import ALICE, django_thread
from tests.browser.test_inbox_layout import DESKTOP, PHONE, serious_violations
from tests.browser.test_sign_in import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BOB = "bob@example.com"


def flush():
    account_id = django_thread(lambda: GmailAccount.objects.get(email=ALICE).pk)
    django_thread(outbox_flush, account_id=account_id)


def bobs_mail(google):
    """What reached Bob: [(thread id, parsed message)], oldest first."""
    gmail = google.gmail(BOB)
    listed = gmail.users().messages().list(userId="me", labelIds=["INBOX"]).execute()
    found = []
    for ref in reversed(listed.get("messages", [])):
        got = gmail.users().messages().get(userId="me", id=ref["id"], format="raw").execute()
        raw = base64.urlsafe_b64decode(got["raw"] + "==")
        found.append((got["threadId"], email.message_from_bytes(raw, policy=email.policy.default)))
    return found


def signed_in_with_bobs_mail(page, live_server, google):
    google.create_user(BOB, "Bob Example")
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server, google, ALICE)
    message = email.message.EmailMessage()
    message["From"] = f"Bob Example <{BOB}>"
    message["To"] = ALICE
    message["Subject"] = "Weekend trip"
    message.set_content("Shall we leave on Saturday morning?\nBob")
    raw = base64.urlsafe_b64encode(message.as_bytes()).decode()
    bob = google.gmail(BOB)
    sent = bob.users().messages().send(userId="me", body={"raw": raw}).execute()
    django_thread(lambda: sync_until_done(GmailAccount.objects.get(email=ALICE)))
    page.goto(f"{live_server.url}/mail/")
    return sent["threadId"]


def test_reply_with_an_attachment_reaches_bob_in_his_thread(
    page, live_server, google, settings, tmp_path
):
    settings.UNDO_SEND_SECONDS = 0
    bobs_thread = signed_in_with_bobs_mail(page, live_server, google)
    page.get_by_role("list", name="Conversations").get_by_role("link").filter(
        has_text="Weekend trip"
    ).click()
    thread_url = page.url
    page.get_by_role("link", name="Reply", exact=True).click()

    # The reply opens in place, below the message, on the thread's own page.
    expect(page.get_by_role("form", name="Reply")).to_be_visible()
    assert page.url == thread_url
    expect(page.get_by_role("heading", level=1)).to_have_text("Weekend trip")
    expect(page.get_by_role("combobox", name="To")).to_have_value(f"Bob Example <{BOB}>")
    expect(page.get_by_label("Subject")).to_have_value("Re: Weekend trip")
    body = page.get_by_role("textbox", name="Message", exact=True)
    expect(body).to_be_focused()
    assert body.input_value().startswith("\n\nOn ")  # the quote, below the cursor
    assert "wrote:\n> Shall we leave on Saturday morning?" in body.input_value()
    body.press_sequentially("Yes, 8 o'clock works.")
    data = bytes(range(256)) * 64
    page.get_by_label("Attach files").set_input_files(
        files=[{"name": "route.gpx", "mimeType": "application/gpx+xml", "buffer": data}]
    )
    files = page.get_by_role("list", name="Attached files")
    expect(files).to_contain_text("route.gpx")
    expect(page.locator("#save-status")).to_have_text("Draft saved")
    assert serious_violations(page) == []
    page.screenshot(path=tmp_path / "compose-reply-desktop.png", full_page=True)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=tmp_path / "compose-reply-dark.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=tmp_path / "compose-reply-phone-dark.png", full_page=True)
    assert serious_violations(page) == []
    page.emulate_media(color_scheme="light")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#toast")).to_contain_text("Message sent.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Weekend trip")
    flush()

    [(thread_id, reply)] = bobs_mail(google)
    assert thread_id == bobs_thread
    assert reply["Subject"] == "Re: Weekend trip"
    assert reply.get_body(("plain",)).get_content().startswith("Yes, 8 o'clock works.")
    [part] = list(reply.iter_attachments())
    assert part.get_filename() == "route.gpx" and part.get_content() == data
    assert django_thread(lambda: Draft.objects.count()) == 0


def test_undo_send_brings_the_message_back_and_nothing_reaches_gmail(
    page, live_server, google, settings, tmp_path
):
    settings.UNDO_SEND_SECONDS = 30
    signed_in_with_bobs_mail(page, live_server, google)
    page.get_by_role("link", name="Compose").click()
    to = page.get_by_role("combobox", name="To")
    expect(to).to_be_focused()
    to.press_sequentially("bo")  # Bob wrote to Alice: he is suggested
    suggestion = page.get_by_role("option", name="Bob Example")
    expect(suggestion).to_be_visible()
    expect(to).to_have_attribute("aria-expanded", "true")
    assert serious_violations(page) == []
    page.screenshot(path=tmp_path / "compose-suggestions.png")
    to.press("ArrowDown")
    expect(suggestion).to_have_attribute("aria-selected", "true")
    to.press("Enter")  # takes the suggestion; Enter never sends
    expect(to).to_have_value(f"Bob Example <{BOB}>, ")
    page.get_by_label("Subject").fill("Second thoughts")
    page.get_by_role("textbox", name="Message", exact=True).fill("I may regret this.")
    page.get_by_role("button", name="Send", exact=True).click()

    toast = page.locator("#toast")
    expect(toast).to_contain_text("Sending…")
    page.screenshot(path=tmp_path / "compose-sending-toast.png")
    flush()  # inside the window: the outbox holds it
    toast.get_by_role("button", name="Undo").click()

    expect(page.locator("#toast")).to_contain_text("Sending undone.")
    expect(page.get_by_label("Subject")).to_have_value("Second thoughts")
    expect(page.get_by_role("textbox", name="Message", exact=True)).to_have_value(
        "I may regret this."
    )
    flush()
    assert bobs_mail(google) == []
    sent = google.gmail(ALICE).users().messages().list(userId="me", labelIds=["SENT"]).execute()
    assert sent.get("messages", []) == []


def test_what_is_typed_survives_a_reload(page, live_server, google, tmp_path):
    signed_in_with_bobs_mail(page, live_server, google)
    page.goto(f"{live_server.url}/mail/compose/")
    assert serious_violations(page) == []
    page.get_by_role("combobox", name="To").fill(BOB)
    cc = page.get_by_role("combobox", name="Cc", exact=True)
    cc.fill("carol@example.org, bob")
    cc.press("Tab")  # leaving the field checks it, before any Send
    expect(page.get_by_text("“bob” is not an email address.")).to_be_visible()
    expect(cc).to_have_attribute("aria-invalid", "true")
    cc.fill("carol@example.org")
    expect(cc).not_to_have_attribute("aria-invalid", "true")
    page.get_by_label("Subject").fill("Half written")
    page.get_by_role("textbox", name="Message", exact=True).press_sequentially(
        "Dear Bob, I was thinking"
    )
    expect(page.locator("#save-status")).to_have_text("Draft saved")
    expect(page).to_have_url(f"{live_server.url}/mail/compose/{django_thread(_only_draft)}/")

    page.reload()

    expect(page.get_by_label("Subject")).to_have_value("Half written")
    expect(page.get_by_role("textbox", name="Message", exact=True)).to_have_value(
        "Dear Bob, I was thinking"
    )
    page.set_viewport_size(PHONE)
    page.screenshot(path=tmp_path / "compose-new-phone.png", full_page=True)


def _only_draft():
    return Draft.objects.get().pk


def test_rich_mode_sends_bold_text_as_html(page, live_server, google, settings, tmp_path):
    settings.UNDO_SEND_SECONDS = 0
    signed_in_with_bobs_mail(page, live_server, google)
    page.goto(f"{live_server.url}/mail/compose/")
    page.get_by_role("combobox", name="To").fill(BOB)
    page.get_by_label("Subject").fill("Formatted")
    page.get_by_role("button", name="Formatting").click()
    editor = page.get_by_role("textbox", name="Message", exact=True)
    expect(editor).to_be_focused()
    editor.press_sequentially("Hello ")
    page.get_by_role("button", name="Bold").click()
    editor.press_sequentially("world")
    page.get_by_role("button", name="• List").click()
    expect(page.locator("#save-status")).to_have_text("Draft saved")
    assert serious_violations(page) == []
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=tmp_path / "compose-rich-dark.png", full_page=True)

    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#toast")).to_contain_text("Message sent.")
    flush()
    [(_, message)] = bobs_mail(google)
    html = message.get_body(("html",)).get_content()
    assert "<b>world</b>" in html and "<li>" in html
    assert message.get_body(("plain",)).get_content().strip().startswith("Hello world")
