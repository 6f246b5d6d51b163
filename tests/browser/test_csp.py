"""The Content-Security-Policy in a real Chromium: every public page type and the editors'
admin (change list, change form with its autocomplete and prepopulated address, history,
spreadsheet import and its preview, import log, violation reports) work with no violation
and no header error in the console, the DSFR's JavaScript runs, and a script slipped into
a page is blocked and reported to the site."""
import io
import re

import openpyxl
import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from poles.models import Pole
from security.models import CspReport
from tests.browser.conftest import PHONE, wait_for_dsfr
from tests.pages import ENGLISH_PAGES, NOT_FOUND, PUBLIC_PAGES, SEARCH_RESULTS

pytestmark = pytest.mark.browser

PASSWORD = "un-mot-de-passe-solide-2026"
# Each violation the browser sees, as a console error: Chromium's own message does not say
# which directive of which file when the blocked thing is an attribute or an eval.
WATCH_VIOLATIONS = """document.addEventListener("securitypolicyviolation", event => console.error(
  `Violation CSP : ${event.effectiveDirective} bloque ${event.blockedURI || "?"}`
  + ` (${event.sourceFile}:${event.lineNumber}) ${event.sample}`));"""
HEADER_WORDS = ("Content Security Policy", "Content-Security-Policy", "Permissions-Policy", "Reporting-Endpoints",
                "Violation CSP")


@pytest.fixture
def watched_page(open_page):
    """open_page(), also recording every console message about the policies, warnings included."""

    def _open(**options):
        page = open_page(**options)
        page.add_init_script(WATCH_VIOLATIONS)
        page.policy_messages = []
        page.on("console", lambda message: any(word in message.text for word in HEADER_WORDS)
                and page.policy_messages.append(f"{message.type} : {message.text}"))
        return page

    return _open


def assert_clean(page, label):
    assert page.policy_messages == [], f"politique de sécurité sur {label}"
    assert page.problems.console_errors == [], f"erreurs de console sur {label}"
    assert page.problems.failed_requests == [], f"requêtes en échec sur {label}"


def test_every_public_page_type_runs_its_scripts_under_the_policy(live_site, watched_page):
    page = watched_page()
    for path in PUBLIC_PAGES + ENGLISH_PAGES + [SEARCH_RESULTS]:
        page.goto(live_site + path)
        wait_for_dsfr(page)  # the DSFR's module started and applied the display mode
        assert page.evaluate("typeof window.dsfr") == "function", path
        assert_clean(page, path)
    response = page.goto(live_site + NOT_FOUND)
    assert response.status == 404
    wait_for_dsfr(page)
    # The page's own status, which Chromium logs too: nothing else.
    page.problems.failed_requests.remove(f"GET {live_site}{NOT_FOUND} : HTTP 404")
    page.problems.console_errors.remove(
        f"Failed to load resource: the server responded with a status of 404 (Not Found) ({live_site}{NOT_FOUND}:0)")
    assert_clean(page, NOT_FOUND)


def test_the_dsfr_opens_the_phone_menu_under_the_policy(live_site, watched_page):
    page = watched_page(viewport=PHONE)
    page.goto(live_site + "/poles/capenergies/")
    wait_for_dsfr(page)
    page.get_by_role("button", name="Menu", exact=True).click()
    expect(page.locator("#menu-principal")).to_have_class(re.compile(r"\bfr-modal--opened\b"))
    expect(page.get_by_role("navigation", name="Menu principal")).to_be_visible()
    assert_clean(page, "le menu du téléphone")


def test_a_script_slipped_into_a_page_is_blocked_and_reported_to_the_site(live_site, watched_page, settings):
    """Chromium sends reports to `report-to` only over HTTPS (and then ignores `report-uri`):
    over the test server's plain HTTP the policy names `report-uri` alone, as Firefox reads it."""
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {
        name: sources for name, sources in directives.items() if name != "report-to"}}
    page = watched_page()
    page.goto(live_site + "/poles/")
    wait_for_dsfr(page)
    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.injected = true";
        document.body.append(script);
    }""")
    assert page.evaluate("window.injected") is None
    assert any("script-src-elem bloque inline" in message for message in page.policy_messages)
    for _ in range(50):  # the browser posts the report in the background
        if CspReport.objects.exists():
            break
        page.wait_for_timeout(100)
    report = CspReport.objects.get()
    assert (report.directive, report.blocked_uri) == ("script-src-elem", "inline")
    assert report.document_uri == live_site + "/poles/"


@pytest.fixture
def superuser(live_site):
    return User.objects.create_superuser("technique", "technique@example.org", PASSWORD)


def follow(page, element):
    with page.expect_navigation():
        element.click()


def test_the_admin_works_under_the_policy(live_site, superuser, watched_page, tmp_path, settings):
    settings.PENDING_IMPORTS_DIR = tmp_path / "imports"
    page = watched_page()
    admin = live_site + "/admin/"
    page.goto(admin + "login/?next=/admin/")
    page.get_by_label("Nom d’utilisateur").fill(superuser.username)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    follow(page, page.get_by_role("button", name="Connexion"))
    expect(page).to_have_url(admin)
    assert_clean(page, "la connexion")

    pole = Pole.objects.get(slug="capenergies")
    page.goto(admin + "poles/pole/")
    expect(page.locator("#result_list")).to_contain_text("Capenergies")
    page.goto(admin + f"poles/pole/{pole.pk}/change/")
    # The themes' autocomplete (select2, fed by the admin's JSON view).
    page.locator(".field-themes .select2-selection").click()
    page.get_by_role("searchbox", name="Thématiques").fill("sol")
    expect(page.locator(".select2-results__option").first).to_contain_text("Solaire")
    page.keyboard.press("Escape")
    assert_clean(page, "la fiche d'un pôle et son autocomplétion")

    page.goto(admin + "poles/pole/add/")
    page.locator("#id_acronym").press_sequentially("Nouveau Pôle")
    expect(page.locator("#id_slug")).to_have_value("nouveau-pole")  # prepopulate.js ran
    page.goto(admin + f"poles/pole/{pole.pk}/history/")
    expect(page.locator("#change-history")).to_be_visible()
    assert_clean(page, "l'ajout et l'historique")

    page.goto(admin + "poles/project/")
    with page.expect_download() as download:
        page.locator(".object-tools").get_by_role("link", name="Exporter (XLSX)").click()
    workbook = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes()))
    header = [cell.value for cell in workbook.active[1]]
    for row in workbook.active.iter_rows(min_row=2):
        if row[header.index("slug")].value == "iter":
            row[header.index("titre")].value = "ITER, réacteur expérimental"
    workbook.save(tmp_path / "projets.xlsx")
    page.goto(admin + "poles/project/import/")
    page.locator("#fichier").set_input_files(tmp_path / "projets.xlsx")
    follow(page, page.get_by_role("button", name="Vérifier le fichier", exact=True))
    expect(page.locator("#modifications")).to_contain_text("ITER, réacteur expérimental")
    follow(page, page.get_by_role("button", name="Confirmer l'import"))
    expect(page.locator(".messagelist .success")).to_contain_text("Import de « projets.xlsx » appliqué")
    page.goto(admin + "poles/project/import/colonnes/")
    page.goto(admin + "poles/importlog/")
    expect(page.locator("#result_list")).to_contain_text("projets.xlsx")
    page.goto(admin + "security/cspreport/")
    assert_clean(page, "l'import, le journal et les rapports CSP")
