from django.urls import path

from mail import views

app_name = "mail"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path(
        "failed/<int:action_id>/dismiss/",
        views.dismiss_failed_action,
        name="dismiss_failed_action",
    ),
]
