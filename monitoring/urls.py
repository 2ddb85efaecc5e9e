from django.urls import path

from monitoring import views

urlpatterns = [
    path("", views.health, name="health"),
    path("details/", views.health_details, name="health_details"),
]
