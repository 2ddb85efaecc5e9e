from django.urls import path

from mail.views import lists

app_name = "mail"
urlpatterns = [
    path("", lists.inbox, name="inbox"),
    path(
        "failed/<int:action_id>/dismiss/",
        lists.dismiss_failed_action,
        name="dismiss_failed_action",
    ),
]
