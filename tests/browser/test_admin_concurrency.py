"""Two tabs on the same pole in a real Chromium: the first saves, the second is told in
French that the record changed meanwhile, and keeps what was typed in it."""
import pytest
from playwright.sync_api import expect

from poles.models import Pole
from tests.browser.test_admin_flow import (  # noqa: F401 (editor is a fixture)
    assert_no_serious_violation,
    editor,
    follow,
    log_in,
    open_capenergies_form,
)

pytestmark = pytest.mark.browser


def test_the_second_of_two_open_forms_is_refused_and_keeps_its_text(live_site, editor, open_page, axe):
    first, second = open_page(), open_page()
    for page in (first, second):
        log_in(page, live_site)
        open_capenergies_form(page, live_site)

    first.locator("#id_summary_fr").fill("Le résumé du premier onglet.")
    assert follow(first, first.get_by_role("button", name="Enregistrer", exact=True)).ok
    second.locator("#id_summary_fr").fill("Le résumé du second onglet.")
    follow(second, second.get_by_role("button", name="Enregistrer", exact=True))

    expect(second.locator(".errornote + .errorlist")).to_contain_text(
        "Cette fiche a été modifiée par editrice@example.org le ")
    expect(second.locator(".errornote + .errorlist")).to_contain_text("Rechargez la page")
    expect(second.locator("#id_summary_fr")).to_have_value("Le résumé du second onglet.")
    assert Pole.objects.get(slug="capenergies").summary_fr == "Le résumé du premier onglet."
    assert_no_serious_violation(axe, second, "le formulaire refusé")
