"""The editors' admin in a real Chromium: an editor logs in by typing, edits a pole and sees the
change on the public page, and restores the previous version from the history; drafts
are previewed by staff only; five wrong passwords lock the account; the admin pages an editor
uses have no serious accessibility violation and a clean console."""
import importlib
import re

import pytest
from django.contrib.auth.models import Group, Permission, User
from playwright.sync_api import expect

from poles.models import Pole, Project
from tests.browser.conftest import format_axe_violations, wait_for_animations

pytestmark = pytest.mark.browser

ROLES = importlib.import_module("poles.migrations.0003_roles")
EDITOR = "editrice@example.org"
PASSWORD = "un-mot-de-passe-solide-2026"
NEW_SUMMARY = "Capenergies fédère les acteurs des énergies décarbonées, dont ceux de Manosque."
SERIOUS = ("serious", "critical")


@pytest.fixture
def editor(live_site):
    """A staff member of the "Éditeurs" group with a real password. The flush after every
    transactional test removes the groups the data migration created (permissions come back
    with post_migrate, groups do not): the group is made again as the migration makes it."""
    group, created = Group.objects.get_or_create(name=ROLES.EDITORS)
    if created:
        group.permissions.set(Permission.objects.filter(
            content_type__app_label="poles", codename__in=ROLES.content_permissions()))
    user = User.objects.create_user(username=EDITOR, email=EDITOR, password=PASSWORD, is_staff=True)
    user.groups.add(group)
    return user


def follow(page, element):
    """Click a link or a submit button and wait until the page it leads to has loaded (leaving
    a page still loading would abort its requests); the response of that page."""
    with page.expect_navigation() as navigation:
        element.click()
    return navigation.value


def log_in(page, site, password=PASSWORD):
    """Type the editor's name and password into the admin's login form and submit it."""
    page.goto(site + "/admin/login/?next=/admin/")
    page.get_by_label("Nom d’utilisateur").press_sequentially(EDITOR)
    page.get_by_label("Mot de passe").press_sequentially(password)
    return follow(page, page.get_by_role("button", name="Connexion"))


def open_capenergies_form(page, site):
    """From the admin index, through the pole change list, to Capenergies' change form."""
    page.goto(site + "/admin/")
    follow(page, page.locator(".app-poles").get_by_role("link", name="Pôles de compétitivité", exact=True))
    expect(page).to_have_url(site + "/admin/poles/pole/")
    follow(page, page.locator("#result_list").get_by_role("link", name="Capenergies", exact=True))
    pk = Pole.objects.get(slug="capenergies").pk
    expect(page).to_have_url(f"{site}/admin/poles/pole/{pk}/change/")


def edit_capenergies(page, site, partners="172", summary=NEW_SUMMARY):
    """Change the partner count (160 in the prefecture's content) and the French summary on
    Capenergies' form, and save."""
    open_capenergies_form(page, site)
    figures = page.locator("#key_figures-group")
    expect(figures.get_by_role("heading", name="Chiffres clés")).to_be_visible()
    figures.locator("input[name$='-value'][value='160']").fill(partners)
    page.locator("#id_summary_fr").fill(summary)
    response = follow(page, page.get_by_role("button", name="Enregistrer", exact=True))
    assert response.ok
    expect(page.locator(".messagelist .success")).to_contain_text("a été modifié avec succès")


def assert_no_problem(page, label):
    assert page.problems.failed_requests == [], f"requêtes en échec sur {label}"
    assert page.problems.console_errors == [], f"erreurs de console sur {label}"


def assert_no_serious_violation(axe, page, label):
    """axe-core's default rules report no serious or critical violation; the minor and moderate
    ones (the Django admin's own markup) are tolerated, and returned."""
    wait_for_animations(page)
    violations = axe.run(page).response["violations"]
    serious = [violation for violation in violations if violation["impact"] in SERIOUS]
    assert not serious, (
        f"axe-core : {len(serious)} règle(s) gravement enfreinte(s) sur {label}\n{format_axe_violations(serious)}")
    return [violation for violation in violations if violation["impact"] not in SERIOUS]


def test_an_editor_logs_in_edits_a_pole_and_sees_it_on_the_public_page(live_site, editor, open_page):
    page = open_page()
    response = log_in(page, live_site)
    assert response.ok
    expect(page).to_have_url(live_site + "/admin/")

    edit_capenergies(page, live_site, partners="172", summary=NEW_SUMMARY)

    page.goto(live_site + "/poles/capenergies/")
    main = page.locator("main")
    expect(main).to_contain_text(NEW_SUMMARY)
    partners = main.locator("p").filter(has=page.locator(".portal-figure__value"), has_text="partenaires")
    expect(partners).to_have_text("172 partenaires")
    expect(main).not_to_contain_text("Brouillon")
    assert_no_problem(page, "la connexion, la modification et la page publique")


def test_the_history_lists_the_change_with_its_author_and_both_values(live_site, editor, open_page):
    old_summary = Pole.objects.get(slug="capenergies").summary_fr
    page = open_page()
    log_in(page, live_site)
    edit_capenergies(page, live_site)  # saving leads back to the change list
    follow(page, page.locator("#result_list").get_by_role("link", name="Capenergies", exact=True))

    follow(page, page.locator(".object-tools").get_by_role("link", name="Historique", exact=True))
    expect(page).to_have_url(re.compile(r"/admin/poles/pole/\d+/history/$"))
    versions = page.locator("#change-history > tbody > tr")
    edit = versions.first  # the most recent first
    expect(edit.locator("> td").nth(0)).to_have_text("Modifié")
    expect(edit.locator("> td").nth(1)).to_have_text(EDITOR)
    changes = edit.locator(".history-changes > tbody > tr")
    # The key figure is another record: on the pole, the editor changed the summary only.
    expect(changes.get_by_role("rowheader")).to_have_text(["Résumé [fr]"])
    expect(changes.get_by_role("cell")).to_have_text([old_summary, NEW_SUMMARY])
    expect(versions.nth(1).locator("> td").nth(1)).to_have_text("chargement initial")


def test_the_previous_version_is_restored_from_the_history(live_site, editor, open_page):
    pole = Pole.objects.get(slug="capenergies")
    old_summary = pole.summary_fr
    page = open_page()
    log_in(page, live_site)
    edit_capenergies(page, live_site)  # saving leads back to the change list
    follow(page, page.locator("#result_list").get_by_role("link", name="Capenergies", exact=True))
    follow(page, page.locator(".object-tools").get_by_role("link", name="Historique", exact=True))
    expect(page).to_have_url(f"{live_site}/admin/poles/pole/{pole.pk}/history/")

    earlier = page.locator("#change-history > tbody > tr").nth(1)  # the version before the edit
    follow(page, earlier.get_by_role("link", name=re.compile("^Version du ")))
    expect(page).to_have_url(re.compile(rf"/admin/poles/pole/{pole.pk}/history/\d+/$"))
    expect(page.locator("#id_summary_fr")).to_have_value(old_summary)
    response = follow(page, page.get_by_role("button", name="Rétablir", exact=True))
    assert response.ok

    page.goto(live_site + "/poles/capenergies/")
    expect(page.locator("main")).to_contain_text(old_summary)
    expect(page.locator("main")).not_to_contain_text(NEW_SUMMARY)
    assert_no_problem(page, "le rétablissement")


def test_a_draft_is_previewed_by_the_editor_and_hidden_from_visitors(live_site, editor, open_page):
    Project.objects.filter(slug="iter").update(is_published=False)
    page = open_page()
    log_in(page, live_site)

    response = page.goto(live_site + "/projets/iter/")
    assert response.status == 200
    expect(page.locator("main .fr-notice__title")).to_have_text("Brouillon — non publié.")

    visitor = open_page()  # another context: no session
    response = visitor.goto(live_site + "/projets/iter/")
    assert response.status == 404
    expect(visitor.locator("main")).not_to_contain_text("Brouillon")


def test_five_wrong_passwords_lock_the_account_for_15_minutes(live_site, editor, open_page):
    page = open_page()
    for _ in range(4):
        response = log_in(page, live_site, password="mauvais-mot-de-passe")
        assert response.status == 200
        expect(page.locator(".errornote")).to_be_visible()
    response = log_in(page, live_site, password="mauvais-mot-de-passe")
    assert response.status == 429, "la cinquième erreur bloque le compte"

    response = log_in(page, live_site, password=PASSWORD)

    assert response.status == 429
    expect(page).to_have_title(re.compile("^Compte temporairement bloqué"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Compte temporairement bloqué")
    expect(page.locator("#content-main")).to_contain_text("15 minutes")
    page.goto(live_site + "/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))  # not logged in


ADMIN_PAGES = {
    "connexion": "/admin/login/?next=/admin/",
    "accueil": "/admin/",
    "liste-des-poles": "/admin/poles/pole/",
    "formulaire-de-pole": "/admin/poles/pole/{pk}/change/",
    "historique-de-pole": "/admin/poles/pole/{pk}/history/",
}


@pytest.mark.parametrize("path", ADMIN_PAGES.values(), ids=ADMIN_PAGES.keys())
def test_an_admin_page_an_editor_uses_is_accessible_and_clean(live_site, editor, open_page, axe, path):
    page = open_page()
    if not path.startswith("/admin/login/"):
        log_in(page, live_site)
        page.wait_for_load_state("networkidle")
        page.problems.clear()  # the login page is checked on its own
    path = path.format(pk=Pole.objects.get(slug="capenergies").pk)

    response = page.goto(live_site + path, wait_until="networkidle")

    assert response.status == 200
    assert_no_serious_violation(axe, page, path)
    assert_no_problem(page, path)
