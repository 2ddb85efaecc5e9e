"""Managing labels on /mail/labels/: each change is made at Gmail (the emulator's labels
are checked) and in the mirror, and a refused one says why, keeps what was typed and
changes nothing anywhere."""

import pytest
from django.urls import reverse

from mail.models import Label, ThreadLabel
from support.mailbox import sync_until_done as sync
from sync.labels import PALETTE
from tests.sync.helpers import deliver, raw_message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_celery")]

RED = PALETTE[0]


def gmail_labels(gmail):
    listed = gmail.users().labels().list(userId="me").execute()["labels"]
    return {label["name"]: label for label in listed if label["type"] == "user"}


def a_label(gmail, mailbox, name, **fields):
    created = gmail.users().labels().create(userId="me", body={"name": name, **fields}).execute()
    sync(mailbox)
    return Label.objects.get(account=mailbox, gmail_id=created["id"])


@pytest.fixture
def signed_in(client, mailbox):
    client.force_login(mailbox.user)
    return client


def test_a_new_label_with_a_colour_is_made_at_gmail_and_listed(signed_in, mailbox, gmail):
    response = signed_in.post(
        reverse("label_create"),
        {"account": mailbox.pk, "name": " Projects / Tern ", "colour": RED.background},
        follow=True,
    )

    at_gmail = gmail_labels(gmail)["Projects/Tern"]
    assert at_gmail["color"] == {"backgroundColor": RED.background, "textColor": RED.text}
    label = Label.objects.get(account=mailbox, gmail_id=at_gmail["id"])
    assert (label.name, label.background_color) == ("Projects/Tern", RED.background)
    page = response.content.decode()
    assert "Label “Projects/Tern” created." in page
    assert 'value="Projects/Tern"' in page


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Muted", "Gmail keeps the name “Muted” for itself"),
        ("", "A label needs a name."),
        ("Tabs\there", "control characters"),
        ("Projects//Tern", "Each part of a nested label needs a name"),
        ("receipts", "A label with this name exists already."),
    ],
)
def test_a_refused_name_says_why_and_keeps_what_was_typed(signed_in, mailbox, gmail, name, problem):
    a_label(gmail, mailbox, "Receipts")
    before = gmail_labels(gmail)

    response = signed_in.post(
        reverse("label_create"),
        {"account": mailbox.pk, "name": name, "colour": RED.background},
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert problem in page
    assert f'value="{name}"' in page  # what was typed is still in the form
    assert gmail_labels(gmail) == before
    assert Label.objects.filter(account=mailbox, type="user").count() == 1


def test_a_colour_outside_gmail_s_palette_is_refused(signed_in, mailbox, gmail):
    response = signed_in.post(
        reverse("label_create"), {"account": mailbox.pk, "name": "Odd", "colour": "#123456"}
    )

    assert response.status_code == 400
    assert "Choose one of the colours offered." in response.content.decode()
    assert "Odd" not in gmail_labels(gmail)


def test_renaming_a_parent_renames_its_nested_labels(signed_in, mailbox, gmail):
    parent = a_label(gmail, mailbox, "Projects")
    a_label(gmail, mailbox, "Projects/Tern")
    a_label(gmail, mailbox, "Projects/Tern/Bugs")
    a_label(gmail, mailbox, "Projectsx")  # not nested: a different name

    signed_in.post(reverse("label_edit", args=[parent.pk]), {"name": "Work", "colour": ""})

    assert set(gmail_labels(gmail)) == {"Work", "Work/Tern", "Work/Tern/Bugs", "Projectsx"}
    names = set(Label.objects.filter(account=mailbox, type="user").values_list("name", flat=True))
    assert names == {"Work", "Work/Tern", "Work/Tern/Bugs", "Projectsx"}


def test_recolouring_and_taking_the_colour_away(signed_in, mailbox, gmail):
    label = a_label(gmail, mailbox, "Travel")
    blue = PALETTE[5]

    signed_in.post(
        reverse("label_edit", args=[label.pk]), {"name": "Travel", "colour": blue.background}
    )
    assert gmail_labels(gmail)["Travel"]["color"]["backgroundColor"] == blue.background
    label.refresh_from_db()
    assert label.background_color == blue.background

    signed_in.post(reverse("label_edit", args=[label.pk]), {"name": "Travel", "colour": ""})
    assert "color" not in gmail_labels(gmail)["Travel"]
    label.refresh_from_db()
    assert label.background_color == ""


def test_deleting_a_label_takes_it_off_its_conversations_only(signed_in, mailbox, gmail):
    label = a_label(gmail, mailbox, "Old")
    sent = deliver(
        gmail, raw_message(to=mailbox.email, subject="Tagged"), ("INBOX", label.gmail_id)
    )
    sync(mailbox)

    response = signed_in.post(reverse("label_delete", args=[label.pk]), follow=True)

    assert "Old" not in gmail_labels(gmail)
    message = gmail.users().messages().get(userId="me", id=sent["id"]).execute()
    assert message["labelIds"] == ["INBOX"]
    assert not Label.objects.filter(pk=label.pk).exists()
    labels = ThreadLabel.objects.filter(thread__gmail_id=sent["threadId"])
    assert set(labels.values_list("label_gmail_id", flat=True)) == {"INBOX"}
    assert "Label “Old” deleted." in response.content.decode()


def test_gmail_out_of_reach_changes_nothing_and_says_so(signed_in, emulator, mailbox, gmail):
    label = a_label(gmail, mailbox, "Keep")
    emulator.set_faults(error_rate=1.0, statuses=[503], methods=["users.labels.patch"])
    try:
        response = signed_in.post(
            reverse("label_edit", args=[label.pk]), {"name": "Renamed", "colour": ""}
        )
    finally:
        emulator.set_faults(error_rate=0.0)

    assert response.status_code == 400
    page = response.content.decode()
    assert "Gmail is busy or out of reach just now." in page
    assert 'value="Renamed"' in page  # what was typed is still there
    label.refresh_from_db()
    assert label.name == "Keep" and "Keep" in gmail_labels(gmail)


def test_a_system_label_cannot_be_edited(signed_in, mailbox, gmail):
    sync(mailbox)
    inbox = Label.objects.get(account=mailbox, gmail_id="INBOX")

    assert signed_in.post(reverse("label_edit", args=[inbox.pk]), {"name": "X"}).status_code == 404
    assert signed_in.post(reverse("label_delete", args=[inbox.pk])).status_code == 404


def test_the_page_lists_each_account_s_labels_nested(signed_in, mailbox, gmail):
    a_label(gmail, mailbox, "Projects")
    a_label(gmail, mailbox, "Projects/Tern")

    page = signed_in.get(reverse("labels")).content.decode()

    assert f'<h2 id="account-{mailbox.pk}">{mailbox.email}</h2>' in page
    assert page.index('value="Projects"') < page.index('value="Projects/Tern"')
    assert 'class="depth-1"' in page
