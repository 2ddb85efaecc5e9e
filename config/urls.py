from django.contrib import admin
from django.urls import include, path

from accounts.adapter import oauth2_callback

urlpatterns = [
    path("", include("accounts.urls")),
    path("mail/", include("mail.urls")),
    path("webhooks/", include("sync.urls")),
    path("health/", include("monitoring.urls")),
    # Ours first: the same callback, keeping the scopes Google says were granted.
    path("accounts/google/login/callback/", oauth2_callback, name="google_callback"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
