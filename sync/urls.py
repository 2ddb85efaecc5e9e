from django.urls import path

from sync import views

urlpatterns = [
    path("gmail/", views.gmail_push, name="gmail_push"),
]
