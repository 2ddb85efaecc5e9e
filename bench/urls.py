"""The app's URLs plus the floors: pages that do nothing, measured beside the real ones."""

from functools import cache

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.template import engines
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as app_urlpatterns


@login_required
def floor(request):
    """A trivial signed-in page: the session, the user, a tiny response."""
    return HttpResponse("ok", content_type="text/plain")


@login_required
def floor_page(request):
    """An empty signed-in page in the site's layout (base.html): what every page pays."""
    return HttpResponse(_empty_page().render({}, request))


@cache
def _empty_page():
    return engines["django"].from_string('{% extends "base.html" %}')


@csrf_exempt
def floor_public(request):
    """A trivial public endpoint (GET or POST), the floor of the webhook."""
    return HttpResponse(status=204)


urlpatterns = [
    path("bench/floor/", floor, name="bench_floor"),
    path("bench/floor/page/", floor_page, name="bench_floor_page"),
    path("bench/floor/public/", floor_public, name="bench_floor_public"),
    *app_urlpatterns,
]
