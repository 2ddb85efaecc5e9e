"""Another user's ids lead nowhere: for every URL of Tern that takes an id, Bob asking
with Alice's id (GET and POST) gets 404, and Alice with her own does not.

A guard for later too: the test walks the URL resolver, and a Tern URL with a parameter
that has no case here fails `test_every_url_with_a_parameter_has_a_case`, so a new URL
cannot ship without its check. Forms that carry ids in their fields (`/mail/act/`,
`/mail/undo/`) are covered in tests/mail/test_action_views.py.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from mail.models import Draft, DraftAttachment, OutboxAction, TrustedSender
from tests.accounts.factories import GmailAccountFactory
from tests.mail.factories import LabelFactory, MessageFactory, ThreadFactory

pytestmark = pytest.mark.django_db

# Not Tern's, or not an id of anyone's mail.
NOT_OURS = ("admin:", "account_", "socialaccount_", "google_", "openid_")
# The token is itself the permission (signed, expiring): the proxy's for one image URL,
# the inline image's for one user and attachment (tests/sync/test_inline_images.py).
NOT_PER_USER = {"mail:image_proxy", "inline_image"}


@pytest.fixture
def alices(alice):
    account = GmailAccountFactory(user=alice, email=alice.email)
    thread = ThreadFactory(account=account, label_ids=["INBOX", "Label_7"])
    message = MessageFactory(thread=thread)
    attachment = message.attachments.create(
        part_id="1", filename="plan.pdf", mime_type="application/pdf", gmail_attachment_id="a1"
    )
    attached = message.attachments.create(
        part_id="2", filename="Fwd", mime_type="message/rfc822", gmail_attachment_id="a2"
    )
    label = LabelFactory(account=account, gmail_id="Label_7")
    failed = OutboxAction.objects.create(
        account=account, kind="archive", state=OutboxAction.State.FAILED, message_ids=["x"]
    )
    sender = TrustedSender.objects.create(user=alice, address="carol@elsewhere.example")
    draft = Draft.objects.create(account=account, message_id="<d1@example.com>", subject="Hi")
    file = DraftAttachment.objects.create(
        draft=draft, filename="a.txt", mime_type="text/plain", size=1, data=b"a"
    )
    return {
        "mail:draft": {"draft_id": draft.pk},
        "mail:send_undo": {"draft_id": draft.pk},
        "mail:late_send_dismiss": {"draft_id": draft.pk},
        "mail:compose_file_remove": {"file_id": file.pk},
        "mail:reply": {"message_id": message.pk},
        "mail:draft_adopt": {"message_id": message.pk},
        "mail:thread": {"thread_id": thread.pk},
        "mail:sender_forget": {"sender_id": sender.pk},
        "mail:account": {"account_id": account.pk},
        "mail:account_folder": {"account_id": account.pk, "label_id": label.gmail_id},
        "mail:folder": {"label_id": label.gmail_id},
        "mail:dismiss_failed_action": {"action_id": failed.pk},
        "accounts:disconnect": {"account_id": account.pk},
        "attachment_download": {"attachment_id": attachment.pk},
        "attached_message": {"attachment_id": attached.pk},
        "label_edit": {"label_id": label.pk},
        "label_delete": {"label_id": label.pk},
    }


def tern_url_names_with_parameters() -> set[str]:
    names = set()

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                name = namespace + pattern.name
                if pattern.pattern.regex.groups and not name.startswith(NOT_OURS):
                    names.add(name)

    walk(get_resolver().url_patterns)
    return names


def test_every_url_with_a_parameter_has_a_case(alices):
    assert tern_url_names_with_parameters() - NOT_PER_USER == set(alices)


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_user_s_ids_are_404(client, alices, bob, method):
    client.force_login(bob)
    for name, kwargs in alices.items():
        response = getattr(client, method)(reverse(name, kwargs=kwargs))
        # 405 would tell that the object exists only if it came after the lookup; these
        # views check the method first, the same for every id.
        assert response.status_code in (404, 405), (name, method, response.status_code)
        if response.status_code == 405:
            assert getattr(client, method)(_with_unknown_ids(name, kwargs)).status_code == 405


# How the owner uses each: the POST-only ones by POST, the rest by GET.
POST_ONLY = {
    "mail:dismiss_failed_action",
    "mail:sender_forget",
    "label_edit",
    "label_delete",
    "mail:send_undo",
    "mail:late_send_dismiss",
    "mail:compose_file_remove",
    "mail:draft_adopt",
}


def test_the_owner_reaches_her_own(client, alices, alice):
    client.force_login(alice)
    for name, kwargs in alices.items():
        method = client.post if name in POST_ONLY else client.get
        # The attachments answer 502 here and deleting a label 400: her factory-made
        # account has no tokens.
        assert method(reverse(name, kwargs=kwargs)).status_code != 404, name


def test_tern_s_own_links_carry_no_address_or_mail_content(client, alices, alice):
    client.force_login(alice)
    page = client.get(reverse("mail:thread", kwargs=alices["mail:thread"])).content.decode()
    page += client.get("/mail/").content.decode()

    hrefs = [chunk.split('"', 1)[0] for chunk in page.split('href="')[1:]]
    assert hrefs, "the pages have links"
    for href in hrefs:
        assert "@" not in href and "Subject" not in href and "plan.pdf" not in href, href


def _with_unknown_ids(name, kwargs):
    return reverse(
        name, kwargs={k: 10**9 if isinstance(v, int) else "Label_999" for k, v in kwargs.items()}
    )
