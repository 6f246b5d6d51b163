"""The language selector in a real Chromium: opened from the keyboard, it leads to the same
page in English and back, each page with its own language, and axe-core finds nothing
wrong with the open menu."""
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, wait_for_dsfr

pytestmark = pytest.mark.browser


def test_the_language_selector_leads_to_the_same_page_in_english_and_back(live_site, open_page, assert_accessible):
    page = open_page()
    page.goto(live_site + "/poles/capenergies/", wait_until="networkidle")
    wait_for_dsfr(page)
    button = page.locator(".fr-header__tools .fr-translate__btn")
    expect(button).to_have_attribute("aria-expanded", "false")

    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    english = page.locator(".fr-header__tools").get_by_role("link", name="EN - English")
    expect(english).to_be_visible()
    assert_accessible(page, "/poles/capenergies/ (sélecteur de langue ouvert)")
    english.focus()
    page.keyboard.press("Enter")

    page.wait_for_url(live_site + "/en/poles/capenergies/")
    wait_for_dsfr(page)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#navigation-principale").get_by_role("link", name="Clusters")).to_have_attribute(
        "aria-current", "true"
    )
    page.locator(".fr-header__tools .fr-translate__btn").click()
    page.locator(".fr-header__tools").get_by_role("link", name="FR - Français").click()
    page.wait_for_url(live_site + "/poles/capenergies/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert page.problems.console_errors == [] and page.problems.failed_requests == []


def test_the_selector_is_in_the_phone_menu(live_site, open_page):
    page = open_page(viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto(live_site + "/en/", wait_until="networkidle")
    wait_for_dsfr(page)
    page.locator("#bouton-menu").click()
    menu = page.locator("#menu-principal")
    menu.locator(".fr-translate__btn").click()
    menu.get_by_role("link", name="FR - Français").click()
    page.wait_for_url(live_site + "/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
