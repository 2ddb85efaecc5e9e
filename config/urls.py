from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.adapter import oauth2_callback
from sync import label_views
from sync.views import attached_message_page, attachment_download, inline_image

urlpatterns = [
    path("", include("accounts.urls")),
    # Under /mail/ with the rest of the mail, served by sync, which owns Gmail's calls.
    path("mail/attachment/<int:attachment_id>/", attachment_download, name="attachment_download"),
    path(
        "mail/attachment/<int:attachment_id>/message/",
        attached_message_page,
        name="attached_message",
    ),
    path("mail/inline/<str:token>/", inline_image, name="inline_image"),
    path("mail/labels/", label_views.labels_page, name="labels"),
    path("mail/labels/new/", label_views.label_create, name="label_create"),
    path("mail/labels/<int:label_id>/", label_views.label_edit, name="label_edit"),
    path("mail/labels/<int:label_id>/delete/", label_views.label_delete, name="label_delete"),
    path("mail/", include("mail.urls")),
    path("webhooks/", include("sync.urls")),
    path("health/", include("monitoring.urls")),
    # Ours first: the same callback, keeping the scopes Google says were granted.
    path("accounts/google/login/callback/", oauth2_callback, name="google_callback"),
    # allauth's own connections page would remove an account without stopping its watch,
    # revoking its token or deleting its mail: Tern's settings page does all that.
    path("accounts/3rdparty/", RedirectView.as_view(pattern_name="accounts:settings")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
