"""What a visitor sees: every public page answers, drafts never show, and the
page furniture (title, description, canonical link, breadcrumb, footer) is there."""
import re

import html5lib
import pytest
from django.urls import reverse

from poles.models import KeyFigure, Page, Pole, Project, Territory, Theme
from tests.pages import PUBLIC_PAGES

PAGE_URLS = PUBLIC_PAGES

FOOTER_URL_NAMES = ["site-map", "accessibility", "legal-notice", "personal-data", "cookies"]


@pytest.fixture
def site(site_pages, project):
    """A small published site: every page type has something to show."""


def text_of(response):
    return response.content.decode()


@pytest.mark.parametrize("url", PAGE_URLS)
def test_every_public_page_answers_in_french_with_its_furniture(client, site, url):
    response = client.get(url)
    assert response.status_code == 200
    page = text_of(response)
    assert '<html lang="fr"' in page
    assert f'<link rel="canonical" href="http://testserver{url}">' in page
    assert '<meta name="description" content="' in page
    assert 'class="fr-header"' in page and 'class="fr-footer"' in page
    assert 'href="#contenu"' in page and 'id="contenu"' in page
    if url != "/":
        assert 'class="fr-breadcrumb"' in page


@pytest.mark.parametrize("url", PAGE_URLS)
def test_every_public_page_is_well_formed_html(client, site, url):
    """A strict HTML5 parser finds no error: screen readers get the tree we meant."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    parser.parse(client.get(url).content)


def test_every_page_has_its_own_title(client, site):
    titles = set()
    for url in PAGE_URLS:
        page = text_of(client.get(url))
        titles.add(page.split("<title>")[1].split("</title>")[0])
    assert len(titles) == len(PAGE_URLS)


def test_pole_page_shows_what_a_citizen_looks_for(client, site, pole):
    pole.website = "https://www.capenergies.fr"
    pole.save()
    page = text_of(client.get(pole.get_absolute_url()))
    assert "Le pôle Capenergies" in page
    assert "Statut : actif" in page
    assert "le 12 juillet 2005" in page
    assert "160</span> partenaires" in page
    assert 'href="/thematiques/solaire/"' in page
    assert 'href="/territoires/manosque/"' in page
    assert 'href="/projets/iter/"' in page
    assert "https://www.capenergies.fr" in page
    assert "Informations non vérifiées depuis leur publication" in page
    assert "source : Préfecture" in page


def test_pole_page_names_its_successor(client, site, pole):
    successor = Pole.objects.create(name="Nouveau", acronym="NEW", slug="new", title="Nouveau", summary="S.")
    pole.status = Pole.Status.MERGED
    pole.successor = successor
    pole.save()
    page = text_of(client.get(pole.get_absolute_url()))
    assert "Statut : fusionné" in page
    assert 'pour successeur le pôle <a href="/poles/new/">NEW</a>' in page


def test_verification_date_is_shown(client, site, pole):
    pole.verified_on = "2026-03-01"
    pole.save()
    assert "Informations vérifiées le 1 mars 2026" in text_of(client.get(pole.get_absolute_url()))


@pytest.mark.parametrize(
    "make_draft, url",
    [
        (lambda: Pole.objects.filter(slug="capenergies").update(is_published=False), "/poles/capenergies/"),
        (lambda: Project.objects.filter(slug="iter").update(is_published=False), "/projets/iter/"),
        (lambda: Pole.objects.filter(slug="capenergies").update(is_published=False), "/projets/iter/"),
        (lambda: Theme.objects.filter(slug="solaire").update(is_published=False), "/thematiques/solaire/"),
        (lambda: Territory.objects.filter(slug="manosque").update(is_published=False), "/territoires/manosque/"),
        (lambda: Page.objects.filter(slug="mentions-legales").update(is_published=False), "/mentions-legales/"),
    ],
    ids=["pole", "project", "project-of-draft-pole", "theme", "territory", "page"],
)
def test_drafts_answer_404_to_visitors(client, site, make_draft, url):
    make_draft()
    response = client.get(url)
    assert response.status_code == 404
    assert "Page non trouvée" in text_of(response)


def test_a_draft_pole_appears_in_no_list(client, site, pole):
    Pole.objects.filter(pk=pole.pk).update(is_published=False)
    for url in ["/", "/poles/", "/plan-du-site/", "/thematiques/solaire/", "/territoires/manosque/", "/projets/"]:
        page = text_of(client.get(url))
        assert "/poles/capenergies/" not in page, url
        assert "/projets/iter/" not in page, url


def test_a_draft_figure_is_not_shown(client, site, pole):
    KeyFigure.objects.filter(pole=pole).update(is_published=False)
    assert "partenaires" not in text_of(client.get(pole.get_absolute_url()))
    assert "partenaires" not in text_of(client.get("/"))


def test_lists_paginate(client, site, make_projects):
    make_projects(30)
    first = text_of(client.get("/projets/"))
    assert 'aria-current="page">1</a>' in first
    assert 'href="?page=2"' in first
    second = client.get("/projets/?page=2")
    assert second.status_code == 200
    assert "Projets — page 2" in text_of(second)
    assert client.get("/projets/?page=99").status_code == 404


def test_territories_are_grouped_by_kind(client, site):
    page = text_of(client.get("/territoires/"))
    assert page.index("<h2>Régions</h2>") < page.index("<h2>Communes</h2>")
    assert "(code 04112)" in page


@pytest.mark.parametrize("name", FOOTER_URL_NAMES)
def test_every_mandatory_footer_link_reaches_a_real_page(client, site, name):
    url = reverse(f"poles:{name}")
    assert f'href="{url}"' in text_of(client.get("/"))
    assert client.get(url).status_code == 200


def test_footer_states_the_accessibility_status(client, site):
    assert "Accessibilité : non conforme" in text_of(client.get("/"))


def test_main_navigation_marks_the_current_section(client, site):
    """The header is kept per section between visits: each page still marks its own, only."""
    page = text_of(client.get("/poles/capenergies/"))
    assert '<a class="fr-nav__link" href="/poles/" aria-current="true">Pôles</a>' in page
    for path, section in [("/thematiques/", "/thematiques/"), ("/", "/"), ("/poles/capenergies/", "/poles/")]:
        marked = re.findall(r'<a class="fr-nav__link" href="([^"]+)" aria-current', text_of(client.get(path)))
        assert marked == [section], path


def test_unknown_address_gets_the_french_404_page(client, site):
    response = client.get("/nexiste-pas/")
    assert response.status_code == 404
    page = text_of(response)
    assert "Page non trouvée" in page and 'class="fr-header"' in page
    assert 'href="/plan-du-site/"' in page


def test_server_error_gets_the_french_500_page_without_details(client, site, settings):
    settings.ROOT_URLCONF = "tests.urls_failing"
    client.raise_request_exception = False
    response = client.get("/boum/")
    assert response.status_code == 500
    page = text_of(response)
    assert "Erreur inattendue" in page and 'class="fr-footer"' in page
    assert "Traceback" not in page and "RuntimeError" not in page


def test_markdown_abbreviations_become_abbr_elements(client, site, site_pages):
    policy = site_pages["politique-nationale"]
    policy.body = "au bénéfice des PME ;\n\n*[PME]: Petites et moyennes entreprises"
    policy.save()
    page = text_of(client.get("/politique-nationale/"))
    assert '<abbr title="Petites et moyennes entreprises">PME</abbr>' in page
    assert "*[PME]" not in page


QUERIES_PER_PAGE = {
    "/": 8,  # the 8th: the territories of the published poles, for the map
    "/politique-nationale/": 2,
    "/poles/": 4,
    "/poles/capenergies/": 5,  # territories and centres in one query
    "/thematiques/": 3,
    "/thematiques/solaire/": 4,
    "/territoires/": 2,
    "/territoires/manosque/": 5,
    "/projets/": 2,
    "/projets/iter/": 3,
    "/plan-du-site/": 5,
}


@pytest.mark.parametrize("url", QUERIES_PER_PAGE)
def test_query_count_does_not_grow_with_content(client, site, make_projects, django_assert_num_queries, url):
    """The same number of queries with 1 project as with 50: no query per row."""
    expected = QUERIES_PER_PAGE[url]
    with django_assert_num_queries(expected):
        client.get(url)
    make_projects(49)
    eolien = Theme.objects.create(name="Éolien", slug="eolien", parent=Theme.objects.get(slug="solaire"))
    Pole.objects.get(slug="capenergies").themes.add(eolien)
    with django_assert_num_queries(expected):
        client.get(url)
