"""The territory map used with a keyboard only, and seen in light and dark display: its links
come in the order of the list, show where the focus is, lead to the territory, and its outlines
stand out from the page (WCAG 1.4.11, 3:1)."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_display, computed_style, wait_for_dsfr

pytestmark = pytest.mark.browser

FOCUS_BLUE = "rgb(10, 118, 246)"  # the DSFR's focus colour, #0a76f6


def open_map(open_page, url, scheme="light"):
    page = open_page(color_scheme=scheme)
    page.goto(url, wait_until="networkidle")
    wait_for_dsfr(page)
    return page


def focused_href(page):
    return page.evaluate("document.activeElement.getAttribute('href')")


def relative_luminance(rgb):
    channels = [int(value) / 255 for value in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first, second):
    lighter, darker = sorted([relative_luminance(first), relative_luminance(second)], reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_keyboard_reaches_the_map_links_in_order_sees_the_focus_and_follows_a_link(live_site, open_page):
    page = open_map(open_page, live_site + "/poles/pass/")
    shapes = page.locator("a.portal-map__shape")
    map_hrefs = [shapes.nth(i).get_attribute("href") for i in range(shapes.count())]
    list_hrefs = page.locator(".portal-map__list a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert map_hrefs == list_hrefs and len(map_hrefs) == 6

    for _ in range(150):  # from the top of the page, Tab only
        page.keyboard.press("Tab")
        if focused_href(page) == map_hrefs[0] and page.evaluate(
            "document.activeElement.classList.contains('portal-map__shape')"
        ):
            break
    else:
        pytest.fail("la tabulation n'atteint pas la carte")
    reached = [focused_href(page)]
    for _ in map_hrefs[1:]:
        page.keyboard.press("Tab")
        reached.append(focused_href(page))
    assert reached == map_hrefs
    page.keyboard.press("Tab")
    assert focused_href(page) == list_hrefs[0], "après la carte, la liste des mêmes territoires"

    page.keyboard.press("Shift+Tab")
    focused = page.locator("a.portal-map__shape:focus")
    expect(focused).to_have_count(1)
    outline = focused.evaluate(
        "a => { const s = getComputedStyle(a); return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }"
    )
    assert outline == ["solid", "2px", FOCUS_BLUE]
    stroke = focused.locator("path").evaluate(
        "p => [getComputedStyle(p).stroke, getComputedStyle(p).strokeWidth]"
    )
    assert stroke == [FOCUS_BLUE, "4px"]

    name = focused.get_attribute("aria-label").split(" (")[0]
    page.keyboard.press("Enter")
    page.wait_for_url(live_site + map_hrefs[-1])
    expect(page.locator("h1")).to_have_text(name)
    assert page.problems.console_errors == [] and page.problems.failed_requests == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_map_outlines_stand_out_and_axe_finds_nothing(live_site, open_page, assert_accessible, scheme):
    page = open_map(open_page, live_site + "/territoires/alpes-de-haute-provence/", scheme)
    assert_display(page, scheme)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    context_fill = computed_style(page, ".portal-map__context--region", "fill")
    for kind in ["departement", "commune"]:
        stroke = computed_style(page, f".portal-map__shape--{kind} path", "stroke")
        assert contrast(stroke, background) >= 3, f"contour {kind} / page ({scheme})"
        assert contrast(stroke, context_fill) >= 3, f"contour {kind} / territoires voisins ({scheme})"
    commune_fill = computed_style(page, ".portal-map__shape--commune path", "fill")
    departement_fill = computed_style(page, ".portal-map__shape--departement path", "fill")
    assert contrast(commune_fill, departement_fill) >= 3, f"commune dans son département ({scheme})"
    assert_accessible(page, f"carte du département ({scheme})")
