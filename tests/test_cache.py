"""Public pages come from the cache, and no visitor ever sees a page older than
the last change, whatever made it: admin form, bulk action, history revert,
deletion, relation change, spreadsheet import, another process."""
import csv
import gzip
import io
import os
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import brotli
import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client

from poles import cache
from poles.models import Pole, Project, Theme
from tests.test_admin import pole_form_data

BASE_DIR = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").strip().lower() == "true"
# The Redis-backed tests' server: TEST_REDIS_URL (.ci/run), else the site's REDIS_URL.
REDIS_URL = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL", "")
DEAD_REDIS = "redis://127.0.0.1:9/0"  # the discard port: nothing listens there


def redis_caches(location):
    backend = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": location,
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
    return {"default": backend, "content-generation": backend}


@pytest.fixture
def live_redis(settings):
    """The site's caches in a real Redis server, required under CI=true."""
    if not REDIS_URL:
        if IN_CI:
            pytest.fail("CI=true mais TEST_REDIS_URL est absent : .ci/run démarre Redis et l'exporte.", pytrace=False)
        pytest.skip("ni TEST_REDIS_URL ni REDIS_URL : tests avec un vrai serveur Redis ignorés")
    settings.CACHES = {**settings.CACHES, **redis_caches(REDIS_URL)}
    cache.bump()


@pytest.fixture
def dead_redis(settings):
    settings.CACHES = {**settings.CACHES, **redis_caches(DEAD_REDIS)}
    yield
    # This process skipped the cache after the failure: back to normal for the next tests.
    cache._unavailable_until = 0.0
    cache._bump_pending = False


@pytest.fixture
def editor(db):
    user = User.objects.create_user("editrice@example.org", password="un-mot-de-passe-solide-2026", is_staff=True)
    user.groups.add(Group.objects.get(name="Éditeurs"))
    return user


@pytest.fixture
def editor_client(editor):
    staff = Client()
    staff.force_login(editor)
    return staff


def visit(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return unescape(response.content.decode())


def cached_visit(client, url):
    """Two visits, the second served from the cache: returns its text."""
    visit(client, url)
    response = client.get(url)
    assert response["X-Cache"] == "HIT"
    return unescape(response.content.decode())


def test_a_second_visit_is_served_from_the_cache_without_queries(client, prefecture, django_assert_num_queries):
    first = client.get("/poles/capenergies/")
    assert first["X-Cache"] == "MISS"
    with django_assert_num_queries(0):
        second = client.get("/poles/capenergies/")
    assert second["X-Cache"] == "HIT"
    assert second.content == first.content


def test_a_page_from_the_cache_has_the_headers_it_was_rendered_with(client, prefecture):
    rendered = client.get("/poles/capenergies/")
    cached = client.get("/poles/capenergies/")
    assert cached["X-Cache"] == "HIT"
    for header in ["Content-Security-Policy", "Permissions-Policy", "X-Frame-Options", "Referrer-Policy",
                   "X-Content-Type-Options", "Cross-Origin-Opener-Policy", "Content-Type", "Content-Language"]:
        assert cached[header] == rendered[header], header


def test_an_edit_through_the_admin_form_reaches_visitors_at_once(client, editor_client, prefecture):
    assert "Un nouveau résumé." not in cached_visit(client, "/poles/capenergies/")
    pole = Pole.objects.get(slug="capenergies")
    response = editor_client.post(f"/admin/poles/pole/{pole.pk}/change/", pole_form_data(pole, summary_fr="Un nouveau résumé."))
    assert response.status_code == 302
    assert "Un nouveau résumé." in visit(client, "/poles/capenergies/")
    assert "Un nouveau résumé." in visit(client, "/poles/"), "lists too"


def test_a_bulk_action_reaches_visitors_at_once(client, editor_client, prefecture):
    cached_visit(client, "/poles/pass/")
    editor_client.post("/admin/poles/pole/", {"action": "unpublish", "_selected_action": [Pole.objects.get(slug="pass").pk]})
    assert client.get("/poles/pass/").status_code == 404
    assert "/poles/pass/" not in visit(client, "/")


def test_a_restored_version_reaches_visitors_at_once(client, editor_client, prefecture):
    pole = Pole.objects.get(slug="capenergies")
    original = pole.summary_fr
    editor_client.post(f"/admin/poles/pole/{pole.pk}/change/", pole_form_data(pole, summary_fr="Résumé erroné."))
    assert "Résumé erroné." in cached_visit(client, "/poles/capenergies/")
    first = pole.history.earliest()
    response = editor_client.post(
        f"/admin/poles/pole/{pole.pk}/history/{first.history_id}/",
        pole_form_data(Pole.objects.get(pk=pole.pk), summary_fr=original),
    )
    assert response.status_code == 302
    page = visit(client, "/poles/capenergies/")
    assert original in page and "Résumé erroné." not in page


def test_a_deletion_reaches_visitors_at_once(client, prefecture):
    assert "/projets/iter/" in cached_visit(client, "/projets/")
    cached_visit(client, "/projets/iter/")
    Project.objects.get(slug="iter").delete()
    assert "/projets/iter/" not in visit(client, "/projets/")
    assert client.get("/projets/iter/").status_code == 404


def test_a_relation_change_alone_reaches_visitors_at_once(client, prefecture):
    """A theme taken off a pole: no record is saved, only the link is removed."""
    pole = Pole.objects.get(slug="capenergies")
    theme = pole.themes.first()
    assert theme.get_absolute_url() in cached_visit(client, "/poles/capenergies/")
    pole.themes.remove(theme)
    assert theme.get_absolute_url() not in visit(client, "/poles/capenergies/")
    Theme.objects.get(pk=theme.pk).poles.add(pole)
    assert theme.get_absolute_url() in visit(client, "/poles/capenergies/"), "from the other side too"


def test_a_spreadsheet_import_reaches_visitors_at_once(client, prefecture, tmp_path):
    """Projects are imported in batches, bypassing save() and its signals."""
    assert "ITER, réacteur expérimental" not in cached_visit(client, "/projets/iter/")
    exported = tmp_path / "projets.csv"
    call_command("export_spreadsheet", "--model", "projects", "--format", "csv", "-o", str(exported))
    rows = list(csv.reader(io.StringIO(exported.read_text(encoding="utf-8-sig")), delimiter=";"))
    title = rows[0].index("titre")
    for row in rows[1:]:
        if row[0] == "iter":
            row[title] = "ITER, réacteur expérimental"
    with exported.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out, delimiter=";").writerows(rows)
    call_command("import_spreadsheet", str(exported), "--model", "projects", stdout=io.StringIO())
    assert "ITER, réacteur expérimental" in visit(client, "/projets/iter/")


def test_a_change_made_by_another_process_reaches_this_one(client, prefecture):
    """An import from the command line, or another gunicorn worker: the generation is shared
    (files, or Redis), even though each process keeps its own pages in memory."""
    cached_visit(client, "/poles/")
    subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from poles import cache; cache.bump()"],
        cwd=BASE_DIR, env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test"}, check=True,
    )
    assert client.get("/poles/")["X-Cache"] == "MISS"


def test_staff_are_never_served_from_the_cache(client, editor_client, prefecture):
    """Editors see drafts and their banner: their pages are rendered for them."""
    cached_visit(client, "/poles/capenergies/")
    response = editor_client.get("/poles/capenergies/")
    assert response.status_code == 200 and "X-Cache" not in response
    Pole.objects.filter(slug="capenergies").update(is_published=False)  # no signal: what staff see is still fresh
    assert "Brouillon — non publié" in visit(editor_client, "/poles/capenergies/")


def test_a_visitor_with_a_message_waiting_is_not_served_from_the_cache(client, prefecture):
    cached_visit(client, "/")
    client.cookies["messages"] = "un message"
    assert "X-Cache" not in client.get("/")


def test_english_pages_are_cached_apart_from_french_ones(client, prefecture):
    if client.get("/en/").status_code == 404:
        pytest.skip("pas encore de pages en anglais (/en/)")
    french = cached_visit(client, "/")
    english = cached_visit(client, "/en/")
    assert '<html lang="fr"' in french and '<html lang="en"' in english


def test_an_unchanged_page_answers_304_and_a_changed_one_200(client, prefecture):
    first = client.get("/poles/capenergies/")
    etag, last_modified = first["ETag"], first["Last-Modified"]
    assert first["Cache-Control"] == "no-cache", "browsers keep the page but always ask whether it changed"
    assert client.get("/poles/capenergies/", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/poles/capenergies/", headers={"If-Modified-Since": last_modified}).status_code == 304
    Pole.objects.get(slug="capenergies").save()
    # The same text again: the same ETag, so a browser keeps its copy.
    assert client.get("/poles/capenergies/", headers={"If-None-Match": etag}).status_code == 304
    pole = Pole.objects.get(slug="capenergies")
    pole.summary_fr = "Un autre résumé."
    pole.save()
    changed = client.get("/poles/capenergies/", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "Un autre résumé." in changed.content.decode()


def test_cached_pages_are_sent_compressed_to_browsers_that_accept_it(client, prefecture):
    plain = client.get("/poles/capenergies/")
    as_brotli = client.get("/poles/capenergies/", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    as_gzip = client.get("/poles/capenergies/", headers={"Accept-Encoding": "gzip"})
    refused = client.get("/poles/capenergies/", headers={"Accept-Encoding": "br;q=0, gzip;q=0"})
    assert as_brotli["Content-Encoding"] == "br" and brotli.decompress(as_brotli.content) == plain.content
    assert as_gzip["Content-Encoding"] == "gzip" and gzip.decompress(as_gzip.content) == plain.content
    assert "Content-Encoding" not in refused and refused.content == plain.content
    assert len(as_brotli.content) < len(plain.content) / 3
    assert all("Accept-Encoding" in response["Vary"] for response in (plain, as_brotli, as_gzip))
    assert len({plain["ETag"], as_brotli["ETag"], as_gzip["ETag"]}) == 3, "one ETag per coding"
    again = client.get("/poles/capenergies/", headers={"Accept-Encoding": "br", "If-None-Match": as_brotli["ETag"]})
    assert again.status_code == 304


def test_a_head_request_is_answered_from_the_cache_without_body(client, prefecture):
    cached_visit(client, "/")
    response = client.head("/")
    assert response.status_code == 200 and response["X-Cache"] == "HIT" and response.content == b""


def test_redis_holds_the_pages_and_forgets_them_at_a_change(client, live_redis, prefecture):
    assert "Un nouveau résumé." not in cached_visit(client, "/poles/capenergies/")
    pole = Pole.objects.get(slug="capenergies")
    pole.summary_fr = "Un nouveau résumé."
    pole.save()
    assert "Un nouveau résumé." in visit(client, "/poles/capenergies/")


def test_with_redis_down_pages_are_served_uncached_and_edits_still_saved(client, dead_redis, prefecture):
    page = visit(client, "/poles/capenergies/")
    assert "Capenergies" in page and "X-Cache" not in client.get("/poles/capenergies/")
    pole = Pole.objects.get(slug="capenergies")
    pole.summary_fr = "Écrit pendant la panne."
    pole.save()
    assert "Écrit pendant la panne." in visit(client, "/poles/capenergies/")


def test_static_files_are_immutable_for_a_year_and_compressed(client, db, settings, tmp_path):
    """As collectstatic and whitenoise serve them in production: hashed names, Brotli and gzip."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
    # The portal's own stylesheet only: every app's files would take a minute to compress, and
    # the DSFR subset points into django-dsfr's.
    (tmp_path / "source" / "css").mkdir(parents=True)
    shutil.copy(settings.BASE_DIR / "static" / "css" / "portal.css", tmp_path / "source" / "css")
    settings.STATICFILES_DIRS = [tmp_path / "source"]
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    settings.WHITENOISE_USE_FINDERS = False
    settings.WHITENOISE_AUTOREFRESH = False
    call_command("collectstatic", interactive=False, verbosity=0)
    hashed = next(path.name for path in (tmp_path / "static" / "css").iterdir()
                  if path.name.startswith("portal.") and path.suffix == ".css")
    url = f"/static/css/{hashed}"

    def fetch(**headers):
        response = client.get(url, headers=headers)
        response.close()
        return response

    plain = fetch()
    assert plain.status_code == 200
    # At least a year (whitenoise gives hashed files ten), never asked again.
    max_age = int(plain["Cache-Control"].split("max-age=")[1].split(",")[0])
    assert max_age >= 31536000 and "immutable" in plain["Cache-Control"]
    brotli = fetch(**{"Accept-Encoding": "br, gzip"})
    assert brotli["Content-Encoding"] == "br" and "Accept-Encoding" in brotli["Vary"]
    assert fetch(**{"Accept-Encoding": "gzip"})["Content-Encoding"] == "gzip"
