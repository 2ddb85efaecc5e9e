"""Static files: served by WhiteNoise in every way Tern runs, with compressed,
content-hashed copies from `collectstatic` where production settings ask for them."""

from django.core.management import call_command
from django.templatetags.static import static

MANIFEST = "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_the_stylesheet_answers_through_the_app_without_collectstatic(client):
    response = client.get("/static/css/tern.css")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b"--bg" in b"".join(response.streaming_content)


def test_htmx_is_served_from_our_origin(client):
    response = client.get("/static/vendor/htmx-2.0.11.min.js")

    assert response.status_code == 200


def test_every_deployed_setting_stores_compressed_hashed_files():
    """Production (and anything else built on base) serves what `collectstatic` wrote."""
    from config.settings import base

    assert base.STORAGES["staticfiles"]["BACKEND"] == MANIFEST


def test_collectstatic_writes_hashed_and_compressed_copies(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST}}

    call_command("collectstatic", "--noinput", verbosity=0)

    hashed = static("css/tern.css")
    assert hashed.startswith("/static/css/tern.") and hashed != "/static/css/tern.css"
    on_disk = tmp_path / hashed.removeprefix("/static/")
    assert on_disk.exists()
    assert on_disk.with_name(on_disk.name + ".gz").exists()
