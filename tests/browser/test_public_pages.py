"""The public pages in a real Chromium: the DSFR is applied, nothing fails to load, the
console stays clean and axe-core finds no violation, in light and in dark display."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, assert_display, wait_for_dsfr
from tests.pages import ENGLISH_PAGES, NOT_FOUND, PUBLIC_PAGES

pytestmark = pytest.mark.browser

PAGE_URLS = [*PUBLIC_PAGES, NOT_FOUND, *ENGLISH_PAGES]
# DSFR's "blue-france" action colour in each display mode.
BLUE_FRANCE = {"light": "#000091", "dark": "#8585f6"}


def open_site_page(open_page, url, scheme="light", **options):
    page = open_page(color_scheme=scheme, **options)
    # networkidle: late requests (fonts, icons, the DSFR's scripts) are recorded too.
    response = page.goto(url, wait_until="networkidle")
    wait_for_dsfr(page)
    return page, response


@pytest.mark.parametrize("path", PAGE_URLS)
def test_page_is_styled_clean_and_accessible(live_site, open_page, assert_accessible, path):
    """In light, then dark display: one test for both, since loading the content for the live
    server costs more than checking a page."""
    for scheme in ["light", "dark"]:
        assert_styled_clean_and_accessible(open_page, assert_accessible, live_site + path, path, scheme)


def assert_styled_clean_and_accessible(open_page, assert_accessible, url, path, scheme):
    page, response = open_site_page(open_page, url, scheme)
    assert response.status == (404 if path == NOT_FOUND else 200)

    # The DSFR's stylesheet, its Marianne font and the display mode are all applied.
    assert_display(page, scheme)
    assert "Marianne" in page.evaluate("getComputedStyle(document.body).fontFamily")
    assert page.evaluate("document.fonts.check('1em Marianne')"), "police Marianne non chargée"
    blue = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--background-action-high-blue-france')"
    )
    assert blue.strip().lower() == BLUE_FRANCE[scheme]
    expect(page.locator(".fr-header")).to_be_visible()
    expect(page.locator(".fr-footer")).to_be_visible()

    assert_accessible(page, f"{path} ({scheme})")

    failed = list(page.problems.failed_requests)
    console_errors = list(page.problems.console_errors)
    if path == NOT_FOUND:  # the document's own 404 is the point of this page
        failed.remove(f"GET {url} : HTTP 404")
        console_errors = [error for error in console_errors if not (
            "status of 404" in error and f"({url}:" in error)]
    assert failed == [], f"requêtes en échec sur {path} ({scheme})"
    assert console_errors == [], f"erreurs de console sur {path} ({scheme})"


def test_phone_menu_button_opens_the_navigation(live_site, open_page):
    page, _ = open_site_page(open_page, live_site + "/", viewport=PHONE, is_mobile=True, has_touch=True)
    navigation = page.locator("#navigation-principale")
    expect(navigation).to_be_hidden()

    page.locator("#bouton-menu").click()

    expect(page.locator("#menu-principal")).to_have_class(re.compile(r"\bfr-modal--opened\b"))
    expect(navigation).to_be_visible()
    expect(navigation.get_by_role("link", name="Projets")).to_be_visible()
    page.locator("#menu-principal").get_by_role("button", name="Fermer").click()
    expect(navigation).to_be_hidden()
    assert page.problems.console_errors == [] and page.problems.failed_requests == []


def test_display_settings_switch_to_dark_and_stay_dark(live_site, open_page, assert_accessible):
    page, _ = open_site_page(open_page, live_site + "/", "light")
    assert_display(page, "light")

    page.locator(".fr-header").get_by_role("button", name="Paramètres d’affichage").click()
    modal = page.locator("#fr-theme-modal")
    expect(modal).to_be_visible()
    assert_accessible(page, "/ (modale des paramètres d’affichage)")
    modal.locator("label[for='fr-radios-theme-dark']").click()

    expect(page.locator("html")).to_have_attribute("data-fr-theme", "dark")
    assert_display(page, "dark")
    page.reload(wait_until="networkidle")
    wait_for_dsfr(page)
    assert_display(page, "dark")  # the choice is remembered
    assert page.problems.console_errors == [] and page.problems.failed_requests == []
