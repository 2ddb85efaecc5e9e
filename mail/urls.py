from django.urls import path

from mail.views import actions, compose, images, lists, senders, thread

app_name = "mail"
urlpatterns = [
    path("", lists.inbox, name="inbox"),
    path("search/", lists.search, name="search"),
    path("search/suggest/", lists.search_suggest, name="search_suggest"),
    path("label/<str:label_id>/", lists.folder, name="folder"),
    path("account/<int:account_id>/", lists.account_inbox, name="account"),
    path(
        "account/<int:account_id>/label/<str:label_id>/",
        lists.account_folder,
        name="account_folder",
    ),
    path("act/", actions.act, name="act"),
    path("undo/", actions.undo, name="undo"),
    path("snooze/", actions.snooze, name="snooze"),
    path("thread/<int:thread_id>/", thread.thread_page, name="thread"),
    path("compose/", compose.compose_page, name="compose"),
    path("compose/<int:draft_id>/", compose.draft_page, name="draft"),
    path("compose/<int:draft_id>/undo/", compose.send_undo, name="send_undo"),
    path("compose/files/", compose.attach, name="compose_attach"),
    path("compose/people/", compose.people, name="compose_people"),
    path("compose/files/<int:file_id>/remove/", compose.file_remove, name="compose_file_remove"),
    path("reply/<int:message_id>/", compose.reply_page, name="reply"),
    path("draft/<int:message_id>/edit/", compose.draft_adopt, name="draft_adopt"),
    path("scheduled/", compose.scheduled_page, name="scheduled"),
    path("scheduled/<int:draft_id>/dismiss/", compose.late_send_dismiss, name="late_send_dismiss"),
    path(
        "failed/<int:action_id>/dismiss/",
        lists.dismiss_failed_action,
        name="dismiss_failed_action",
    ),
    path("image/<str:token>/", images.image_proxy, name="image_proxy"),
    path("senders/", senders.trusted_senders, name="trusted_senders"),
    path("senders/trust/", senders.sender_trust, name="sender_trust"),
    path("senders/<int:sender_id>/forget/", senders.sender_forget, name="sender_forget"),
]
