"""What protects the site: response headers on every kind of response, the
Content-Security-Policy and its violation reports, production settings as
`check --deploy` sees them, bounded request bodies, error pages that leak nothing,
and an admin that shows strangers its login page and nothing else."""
import io
import json
import os
import random
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import html5lib
import openpyxl
import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver

from poles.models import ImportLog
from security import views as security_views
from security.models import CspReport
from tests.test_admin_import import editor, editor_client  # noqa: F401 - fixtures
from tests.pages import NOT_FOUND, PUBLIC_PAGES

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "un-mot-de-passe-solide-2026"
REPORT_URL = "/rapport-csp/"
DISABLED_FEATURES = ["camera", "microphone", "geolocation", "payment", "usb", "interest-cohort", "browsing-topics"]


def csp_directives(response):
    """The response's Content-Security-Policy, as {directive: [sources]}."""
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_security_headers(response):
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = dict(item.strip().split("=", 1) for item in response["Permissions-Policy"].split(","))
    assert all(policy[feature] == "()" for feature in DISABLED_FEATURES)
    directives = csp_directives(response)
    assert directives["default-src"] == ["'none'"]  # each kind of resource allowed by name
    # The manifest: the DSFR favicons' web manifest (Lighthouse counts its refusal as an error).
    assert all(directives[kind] == ["'self'"] for kind in ("font-src", "connect-src", "manifest-src"))
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["report-uri"] == [REPORT_URL]
    # The report-to group is the one Reporting-Endpoints names, and it leads to the same place.
    assert response["Reporting-Endpoints"] == f'{directives["report-to"][0]}="{REPORT_URL}"'
    scripts = directives["script-src"]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    return directives


@pytest.fixture
def site(site_pages, project):
    """A small published site: every public page type has something to show."""


@pytest.fixture
def superuser_client(db):
    client = Client()
    client.force_login(User.objects.create_superuser("technique", "technique@example.org", PASSWORD))
    return client


@pytest.mark.parametrize("url", PUBLIC_PAGES + [NOT_FOUND])
def test_every_public_page_has_the_security_headers_and_a_strict_policy(client, site, url):
    directives = assert_security_headers(client.get(url))
    assert directives["style-src"] == ["'self'"]
    assert directives["script-src"][0] == "'self'"


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_no_public_page_needs_an_inline_script_or_style(client, site, url):
    """What a strict policy would block: a script without `src` (unless it carries the nonce the
    header names), a <style> element, a style attribute."""
    response = client.get(url)
    tree = html5lib.parse(response.content, namespaceHTMLElements=False)
    nonces = [source[len("'nonce-"):-1] for source in csp_directives(response)["script-src"]
              if source.startswith("'nonce-")]
    for script in tree.iter("script"):
        if script.get("type") in ("application/json", "application/ld+json"):
            continue  # data, never run
        assert script.get("src") or script.get("nonce") in nonces, f"script en ligne sans nonce sur {url}"
    assert not list(tree.iter("style")), f"élément <style> sur {url}"
    assert not [element.tag for element in tree.iter() if element.get("style") is not None], url


def test_admin_pages_have_the_same_headers(superuser_client, site):
    for url in ["/admin/", "/admin/poles/pole/", f"/admin/poles/pole/{site_pole_pk()}/change/",
                "/admin/poles/project/import/", "/admin/security/cspreport/"]:
        response = superuser_client.get(url)
        assert response.status_code == 200, url
        assert_security_headers(response)


def site_pole_pk():
    from poles.models import Pole

    return Pole.objects.get(slug="capenergies").pk


def test_the_login_page_json_answers_and_static_files_have_the_headers_too(client, superuser_client, site):
    login = client.get("/admin/login/")
    assert login.status_code == 200
    assert_security_headers(login)
    assert login["X-Frame-Options"] == "DENY"  # for browsers that ignore frame-ancestors
    autocomplete = superuser_client.get(
        "/admin/autocomplete/", {"app_label": "poles", "model_name": "project", "field_name": "pole", "term": "cap"})
    assert autocomplete["Content-Type"] == "application/json"
    assert "Capenergies" in autocomplete.content.decode()
    assert_security_headers(autocomplete)
    for url in ("/api/poles/", "/sante/"):  # the read API, the supervisor's health check
        response = client.get(url)
        assert response["Content-Type"].startswith("application/json"), url
        assert_security_headers(response)
    static = client.get("/static/css/portal.css")
    static.close()  # whitenoise streams the file
    assert static.status_code == 200
    assert_security_headers(static)


# --- Production settings, as `check --deploy` and a browser see them --------------------------


def production_env(tmp_path):
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("DJANGO_", "PORTAL_", "DATABASE_URL", "REDIS_URL"))}
    environment.update(
        DJANGO_DEBUG="0", DJANGO_SECRET_KEY="k" * 20 + "Zq8#vN2!pL5@wR7$tY1%uI3^oP6&aS9*dF4(gH0)jK",
        DJANGO_ALLOWED_HOSTS="poles.example.gouv.fr", DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3", PORTAL_CACHE_DIR=str(tmp_path / "cache"))
    return environment


def test_check_deploy_in_production_reports_only_the_hsts_preload_notice(tmp_path):
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT,
                            env=production_env(tmp_path), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert re.findall(r"\(([a-z_.]+\.[WE]\d+)\)", result.stderr) == ["security.W021"], result.stderr


PRODUCTION_PROBE = """
import json
import django
django.setup()
from django.test import Client
from django.test.utils import override_settings
# Static files as in the tests (no collectstatic): the manifest storage is not under test.
override_settings(STORAGES={"staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}).enable()
client = Client(HTTP_HOST="poles.example.gouv.fr")
plain = client.get("/admin/login/")
secure = client.get("/admin/login/", secure=True)
cookie = secure.cookies["csrftoken"]
print(json.dumps({
    "plain_status": plain.status_code, "plain_location": plain.get("Location"),
    "hsts": secure.get("Strict-Transport-Security"),
    "cookie": {key: cookie[key] for key in ("secure", "httponly", "samesite")},
}))
"""


def test_production_redirects_to_https_sends_hsts_and_guards_cookies(tmp_path):
    result = subprocess.run([sys.executable, "-c", PRODUCTION_PROBE], cwd=ROOT,
                            env=production_env(tmp_path), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["plain_status"] == 301
    assert seen["plain_location"] == "https://poles.example.gouv.fr/admin/login/"
    assert seen["hsts"] == "max-age=31536000; includeSubDomains"
    assert seen["cookie"] == {"secure": True, "httponly": True, "samesite": "Lax"}


def test_the_session_cookie_is_httponly_and_same_site(client, editor):
    response = client.post("/admin/login/?next=/admin/", {"username": editor.username, "password": PASSWORD})
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["httponly"] is True and session["samesite"] == "Lax"


# --- CSP violation reports ---------------------------------------------------------------------

LEGACY_REPORT = {"csp-report": {
    "document-uri": "https://poles.example.gouv.fr/projets/?q=nom+prenom#haut",
    "referrer": "",
    "violated-directive": "script-src-elem",
    "effective-directive": "script-src-elem",
    "original-policy": "default-src 'self'",
    "disposition": "enforce",
    "blocked-uri": "inline",
    "line-number": 12,
    "column-number": 3,
    "source-file": "https://poles.example.gouv.fr/projets/?q=nom+prenom",
    "status-code": 200,
    "script-sample": "alert(1)",
}}


def post_report(client, payload, content_type="application/csp-report"):
    return client.post(REPORT_URL, json.dumps(payload), content_type=content_type,
                       HTTP_USER_AGENT="Mozilla/5.0 Firefox/140.0")


def test_a_browser_report_is_stored_without_query_strings_and_counted(db):
    client = Client(enforce_csrf_checks=True)  # browsers send no CSRF token
    assert post_report(client, LEGACY_REPORT).status_code == 204
    assert post_report(client, LEGACY_REPORT).status_code == 204
    report = CspReport.objects.get()
    assert report.count == 2
    assert report.document_uri == "https://poles.example.gouv.fr/projets/"
    assert report.source_file == "https://poles.example.gouv.fr/projets/"
    assert (report.directive, report.blocked_uri, report.line_number, report.sample) == (
        "script-src-elem", "inline", 12, "alert(1)")
    assert report.user_agent == "Mozilla/5.0 Firefox/140.0"
    assert "sessionid" not in post_report(client, LEGACY_REPORT).cookies


def test_reporting_api_batches_keep_only_csp_violations(db):
    batch = [
        {"type": "csp-violation", "age": 10, "url": "https://poles.example.gouv.fr/", "user_agent": "Chrome/156",
         "body": {"documentURL": "https://poles.example.gouv.fr/", "blockedURL": "https://tiers.example.com/x.js",
                  "effectiveDirective": "script-src-elem", "disposition": "enforce", "sourceFile": None,
                  "lineNumber": None, "sample": ""}},
        {"type": "deprecation", "url": "https://poles.example.gouv.fr/", "body": {"id": "x"}},
    ]
    assert post_report(Client(), batch, "application/reports+json").status_code == 204
    report = CspReport.objects.get()
    assert (report.blocked_uri, report.user_agent) == ("https://tiers.example.com/x.js", "Chrome/156")


@pytest.mark.parametrize(("method", "body", "content_type", "status"), [
    ("get", None, None, 405),
    ("post", json.dumps(LEGACY_REPORT), "text/plain", 415),
    ("post", "{pas du json", "application/csp-report", 400),
    ("post", json.dumps({"csp-report": {**LEGACY_REPORT["csp-report"], "script-sample": "x" * 70_000}}),
     "application/csp-report", 413),
])
def test_the_report_endpoint_refuses_what_is_not_a_report(db, method, body, content_type, status):
    client = Client()
    if method == "get":
        response = client.get(REPORT_URL)
    else:
        response = client.post(REPORT_URL, body, content_type=content_type)
    assert response.status_code == status
    assert not CspReport.objects.exists()


def test_a_flood_of_distinct_reports_stops_at_the_limit(db, monkeypatch):
    monkeypatch.setattr(security_views, "STORED_KINDS_MAX", 3)
    client = Client()
    for number in range(5):
        report = {"csp-report": {**LEGACY_REPORT["csp-report"], "blocked-uri": f"https://x{number}.example/"}}
        assert post_report(client, report).status_code == 204
    assert CspReport.objects.count() == 3
    post_report(client, {"csp-report": {**LEGACY_REPORT["csp-report"], "blocked-uri": "https://x0.example/"}})
    assert CspReport.objects.get(blocked_uri="https://x0.example/").count == 2  # known kinds still counted


def test_reports_are_read_only_in_the_admin_and_hidden_from_editors(superuser_client, editor_client):
    post_report(Client(), LEGACY_REPORT)
    report = CspReport.objects.get()
    listing = superuser_client.get("/admin/security/cspreport/")
    assert listing.status_code == 200
    assert "script-src-elem" in listing.content.decode()
    assert superuser_client.get("/admin/security/cspreport/add/").status_code == 403
    change = superuser_client.get(f"/admin/security/cspreport/{report.pk}/change/")
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    assert editor_client.get("/admin/security/cspreport/").status_code == 403


# --- Request bodies and uploads ------------------------------------------------------------------


def xlsx_with_picture(client, size):
    """The projects' XLSX export, ITER renamed, with a picture (random bytes, which do not
    compress) that brings the file to exactly `size` bytes, as a logo pasted in a sheet would."""
    workbook = openpyxl.load_workbook(io.BytesIO(client.get("/admin/poles/project/export/xlsx/").content))
    sheet = workbook.active
    header = [cell.value for cell in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        if row[header.index("slug")].value == "iter":
            row[header.index("titre")].value = "ITER, réacteur expérimental"
    base = io.BytesIO()
    workbook.save(base)

    def with_picture(length):
        out = io.BytesIO(base.getvalue())
        with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr("xl/media/image1.png", random.Random(length).randbytes(length))
        return out.getvalue()

    content = with_picture(size - len(base.getvalue()))
    content = with_picture(2 * size - len(base.getvalue()) - len(content))  # less the zip's own headers
    assert len(content) == size
    return SimpleUploadedFile("projets.xlsx", content)


def test_a_spreadsheet_of_the_largest_size_accepted_is_previewed(editor_client, project, settings):
    upload = xlsx_with_picture(editor_client, settings.SPREADSHEET_MAX_BYTES)
    response = editor_client.post("/admin/poles/project/import/", {"fichier": upload})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>1</strong> modifié(s)" in page and "<strong>0</strong> erreur(s)" in page


def test_a_spreadsheet_just_over_the_limit_is_refused_with_its_size_in_french(editor_client, settings):
    upload = SimpleUploadedFile("projets.csv", b"x" * (settings.SPREADSHEET_MAX_BYTES + 1))
    response = editor_client.post("/admin/poles/project/import/", {"fichier": upload})
    assert response.status_code == 200
    assert "Le fichier « projets.csv » dépasse la taille maximale de 5 Mo." in response.content.decode()
    assert not ImportLog.objects.exists()


def test_a_much_larger_upload_is_refused_before_it_is_read_with_a_french_page(editor_client, settings):
    upload = SimpleUploadedFile("enorme.csv", b"x" * (settings.REQUEST_MAX_BYTES + 1))
    response = editor_client.post("/admin/poles/project/import/", {"fichier": upload},
                                  HTTP_REFERER="http://testserver/admin/poles/project/import/")
    page = response.content.decode()
    assert response.status_code == 413
    assert "Envoi trop volumineux" in page and "ne doit pas dépasser 5 Mo" in page
    assert 'href="http://testserver/admin/poles/project/import/">Revenir au formulaire' in page
    assert not ImportLog.objects.exists()
    assert_security_headers(response)


def test_too_many_form_fields_get_the_french_400_page(editor_client, settings):
    fields = {f"champ{number}": "x" for number in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = editor_client.post("/admin/poles/theme/add/", fields)
    assert response.status_code == 400
    assert "Requête incorrecte" in response.content.decode()


# --- Error pages ---------------------------------------------------------------------------------

LEAKS = ["Traceback", "DisallowedHost", "ALLOWED_HOSTS", "SECRET_KEY", "settings.py", "DEBUG", "CSRF", "csrftoken",
         "site-packages", "Django"]


def assert_no_leak(response):
    page = response.content.decode()
    for leak in LEAKS:
        assert leak not in page, f"« {leak} » visible sur la page d'erreur {response.status_code}"
    assert '<html lang="fr"' in page and 'class="fr-header"' in page


def test_a_refused_host_gets_the_french_400_page_without_details(client, site, settings):
    settings.ALLOWED_HOSTS = ["poles.example.gouv.fr"]
    response = client.get("/", HTTP_HOST="attaquant.example")
    assert response.status_code == 400
    assert "Requête incorrecte" in response.content.decode()
    assert_no_leak(response)


def test_an_editor_refused_the_accounts_gets_the_french_403_page(editor_client):
    response = editor_client.get("/admin/auth/user/")
    assert response.status_code == 403
    assert "Accès refusé" in response.content.decode()
    assert_no_leak(response)


def test_a_form_without_its_token_gets_the_french_expired_form_page(db, site):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "Formulaire expiré" in response.content.decode()
    assert_no_leak(response)


# --- The admin to strangers ---------------------------------------------------------------------


def admin_urls(patterns=None, prefix="/admin/"):
    """Every address of the admin, with placeholder values for its parameters."""
    for pattern in patterns if patterns is not None else admin.site.get_urls():
        route = str(pattern.pattern).lstrip("^").rstrip("$").replace("(?P<url>.*)", "nimporte/quoi/")
        route = re.sub(r"\(\?P<\w+>([^|)]+)[^)]*\)", r"\1", route)  # (?P<app_label>auth|poles) -> auth
        route = re.sub(r"<[^>]+>", "1", route)
        if isinstance(pattern, URLResolver):
            yield from admin_urls(pattern.url_patterns, prefix + route)
        elif isinstance(pattern, URLPattern):
            yield prefix + route


def test_every_admin_address_sends_a_stranger_to_the_login_page(client, site):
    urls = sorted(set(admin_urls()))
    assert len(urls) > 50  # the walk reached the models' pages
    for url in urls:
        if url in ("/admin/login/", "/admin/logout/"):
            continue
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/?next="), url


def test_a_stranger_sees_only_the_login_form(client, site):
    response = client.get("/admin/login/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="username"' in page and 'name="password"' in page
    assert "Capenergies" not in page and "Projets" not in page
