from django.urls import path

from mail.views import lists, thread

app_name = "mail"
urlpatterns = [
    path("", lists.inbox, name="inbox"),
    path("thread/<int:thread_id>/", thread.thread_page, name="thread"),
    path(
        "failed/<int:action_id>/dismiss/",
        lists.dismiss_failed_action,
        name="dismiss_failed_action",
    ),
]
