"""The header's search in a real Chromium: typed on a desktop and on a phone,
submitted, landing on ranked, highlighted results that axe-core finds clean."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, wait_for_dsfr

pytestmark = pytest.mark.browser


def open_home(open_page, live_site, **options):
    page = open_page(**options)
    page.goto(live_site + "/", wait_until="networkidle")
    wait_for_dsfr(page)
    return page


def assert_results(page, live_site, query, first_result):
    expect(page).to_have_url(re.compile(re.escape(f"{live_site}/recherche/?q={query}")))
    expect(page.locator("h2#resultats")).to_contain_text(f"pour « {query} »")
    first = page.locator(".portal-search-results h3 a").first
    expect(first).to_have_attribute("href", first_result)
    expect(first.locator("mark").first).to_be_visible()
    assert page.title().startswith(f"Recherche « {query} » : ")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_search_typed_in_the_desktop_header_lands_on_the_results(live_site, open_page, assert_accessible, scheme):
    page = open_home(open_page, live_site, color_scheme=scheme)
    search = page.get_by_role("search", name="Rechercher sur le site")
    field = search.get_by_label("Rechercher sur le site")
    expect(field).to_be_visible()
    field.fill("lavande")
    field.press("Enter")

    assert_results(page, live_site, "lavande", "/projets/deperissement-de-la-lavande/")
    wait_for_dsfr(page)
    assert_accessible(page, f"/recherche/?q=lavande ({scheme})")
    assert page.problems.console_errors == [] and page.problems.failed_requests == []


def test_a_search_on_a_phone_opens_from_the_header_button(live_site, open_page, assert_accessible):
    page = open_home(open_page, live_site, viewport=PHONE, is_mobile=True, has_touch=True)
    field = page.locator("#recherche-entete-champ")
    expect(field).to_be_hidden()

    page.locator("#bouton-recherche").click()
    expect(page.locator("#recherche-entete")).to_have_class(re.compile(r"\bfr-modal--opened\b"))
    expect(field).to_be_visible()
    assert_accessible(page, "/ (recherche ouverte sur téléphone)")
    field.fill("drome")
    page.get_by_role("search", name="Rechercher sur le site").get_by_role("button", name="Rechercher").click()

    assert_results(page, live_site, "drome", "/territoires/drome/")
    wait_for_dsfr(page)
    assert_accessible(page, "/recherche/?q=drome (téléphone)")
    assert page.problems.console_errors == [] and page.problems.failed_requests == []
