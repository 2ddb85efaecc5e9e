from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.landing, name="landing"),
    path("settings/", views.account_settings, name="settings"),
    path(
        "settings/accounts/<int:account_id>/disconnect/",
        views.disconnect,
        name="disconnect",
    ),
    path("settings/delete/", views.delete_user, name="delete"),
]
