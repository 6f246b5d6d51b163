"""The portal in English: French at every unprefixed address whatever the browser asks,
English under /en/, each page linking to its other version, and French text left in
an English page (an untranslated field) marked lang="fr" for screen readers."""
import html5lib
import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import Resolver404, resolve
from django.utils import translation

from poles.models import KeyFigure
from tests.pages import ENGLISH_PAGES, PUBLIC_PAGES


@pytest.fixture
def site(site_pages, project):
    """A small published site, written in French only."""


def parse(response):
    return html5lib.parse(response.content, namespaceHTMLElements=False)


def alternates(tree):
    """The page's language versions (other alternates, such as a feed, have no hreflang)."""
    links = tree.iterfind(".//head/link[@rel='alternate'][@hreflang]")
    return {link.get("hreflang"): link.get("href") for link in links}


def text_of(element):
    return " ".join(" ".join(element.itertext()).split())


def is_public_page(path):
    """Whether a French address is one of the public pages that exist in both languages."""
    with translation.override("fr"):
        try:
            return resolve(path.split("?")[0]).namespace == "poles"
        except Resolver404:
            return False


def selector_links(tree):
    """The language selector's links: language code -> (address, marked current)."""
    return {
        link.get("lang"): (link.get("href"), link.get("aria-current") == "true")
        for link in tree.iterfind(".//nav[@class='fr-translate fr-nav']//a")
    }


@pytest.mark.parametrize("accept_language", ["en", "en-GB,en;q=0.9", "de-DE,de;q=0.8,en;q=0.5"])
def test_an_unprefixed_address_is_french_whatever_the_browser_asks(client, site, accept_language):
    client.cookies["django_language"] = "en"
    response = client.get("/", headers={"accept-language": accept_language})
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "fr"
    tree = parse(response)
    assert tree.get("lang") == "fr"
    assert tree.find(".//nav[@id='navigation-principale']//a").text == "Accueil"


def test_english_pages_are_english_whatever_the_browser_asks(client, site):
    response = client.get("/en/", headers={"accept-language": "fr-FR,fr;q=0.9"})
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "en"
    tree = parse(response)
    assert tree.get("lang") == "en"


def test_the_interface_of_an_english_page_is_translated(client, site):
    """Fails when the English catalogue is missing or not compiled (make compiles it)."""
    tree = parse(client.get("/en/poles/capenergies/"))
    navigation = [link.text for link in tree.iterfind(".//nav[@id='navigation-principale']//a")]
    assert navigation == ["Home", "National policy", "Clusters", "Themes", "Territories", "Projects"]
    page = text_of(tree)
    assert "Display settings" in page and "Paramètres d’affichage" not in page
    assert "Status: active" in page  # a model's choice label
    assert "Fact sheet" in page and "Labelled on" not in page
    assert "on 12 July 2005" in page  # Django's own month names
    footer = text_of(tree.find(".//footer"))
    assert "Accessibility: not compliant" in footer and "Legal notice" in footer



@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_every_page_type_exists_in_english_with_its_alternates(client, site, url):
    english = "/en" + url
    response = client.get(english)
    assert response.status_code == 200
    tree = parse(response)
    assert tree.get("lang") == "en"
    assert tree.find(".//head/link[@rel='canonical']").get("href") == f"http://testserver{english}"
    assert alternates(tree) == {
        "fr": f"http://testserver{url}",
        "en": f"http://testserver{english}",
        "x-default": f"http://testserver{url}",
    }
    assert selector_links(tree) == {"fr": (url, False), "en": (english, True)}
    # Every link of the body to another public page stays in English (the API's are not pages).
    body_links = [a.get("href") for a in tree.iterfind(".//main//a[@href]") if a.get("href").startswith("/")]
    assert body_links
    assert [href for href in body_links if not href.startswith("/en/") and is_public_page(href)] == []


def test_a_french_page_offers_its_english_version(client, site):
    tree = parse(client.get("/territoires/manosque/"))
    assert alternates(tree) == {
        "fr": "http://testserver/territoires/manosque/",
        "en": "http://testserver/en/territoires/manosque/",
        "x-default": "http://testserver/territoires/manosque/",
    }
    assert selector_links(tree) == {"fr": ("/territoires/manosque/", True), "en": ("/en/territoires/manosque/", False)}
    button = tree.find(".//button[@class='fr-translate__btn fr-btn fr-btn--tertiary']")
    assert button.get("aria-controls") == tree.find(".//div[@id='choix-langue']").get("id")


def test_the_selector_keeps_the_page_number(client, site, make_projects):
    make_projects(25)
    tree = parse(client.get("/en/projets/?page=2"))
    assert selector_links(tree)["fr"] == ("/projets/?page=2", False)


def test_a_missing_page_in_english_is_an_english_404_leading_to_the_french_home(client, site):
    response = client.get("/en/nexiste-pas/")
    assert response.status_code == 404
    tree = parse(response)
    assert tree.get("lang") == "en"
    assert tree.find(".//h1").text == "Page not found"
    assert alternates(tree) == {}  # a missing page has no version to point to
    assert selector_links(tree) == {"fr": ("/", False), "en": ("/en/nexiste-pas/", True)}


def test_the_admin_stays_french_and_outside_english_addresses(client, site, admin_user):
    response = client.get("/admin/login/", headers={"accept-language": "en"})
    assert parse(response).get("lang") == "fr"
    assert client.get("/en/admin/login/").status_code == 404


def test_untranslated_content_is_marked_french_on_an_english_page(client, site, pole):
    tree = parse(client.get("/en/poles/capenergies/"))
    assert tree.find(".//h1").get("lang") == "fr"
    assert tree.find(".//p[@class='fr-text--lead fr-mt-2w']").get("lang") == "fr"  # summary
    assert tree.find(".//div[@class='portal-prose']").get("lang") == "fr"  # body
    figure = tree.find(".//p[@class='fr-mb-0']/span[@lang='fr']")
    assert figure is not None and figure.text == "partenaires"
    # Texts that are always French (a source's name) are marked too.
    assert tree.find(".//main//span[@lang='fr']") is not None


def test_translated_content_is_shown_in_english_without_a_french_mark(client, site, pole):
    pole.title_en = "The Capenergies cluster"
    pole.summary_en = "An energy cluster."
    pole.body_en = "It includes Manosque and its area."
    pole.save()
    KeyFigure.objects.filter(pole=pole).update(label_en="partners")
    tree = parse(client.get("/en/poles/capenergies/"))
    title = tree.find(".//h1")
    assert title.text == "The Capenergies cluster" and title.get("lang") is None
    summary = tree.find(".//p[@class='fr-text--lead fr-mt-2w']")
    assert summary.text == "An energy cluster." and summary.get("lang") is None
    body = tree.find(".//div[@class='portal-prose']")
    assert text_of(body) == "It includes Manosque and its area." and body.get("lang") is None
    assert tree.find(".//p[@class='fr-mb-0']/span[@lang='fr']") is None
    assert "partners" in text_of(tree.find(".//p[@class='fr-mb-0']"))


def test_a_french_page_marks_nothing_as_foreign(client, site, pole):
    """On French pages the fallback marks would be noise: only the selector's English link has a lang."""
    tree = parse(client.get("/poles/capenergies/"))
    marked = [element.get("lang") for element in tree.find(".//body").iter() if element.get("lang")]
    assert marked == ["fr", "en"]  # the language selector's two links


@pytest.mark.parametrize("url", ["/", "/poles/capenergies/", "/territoires/manosque/", "/projets/"])
def test_an_english_page_costs_no_more_queries_than_the_french_one(client, site, url):
    counts = []
    for address in (url, "/en" + url):
        client.get(address)  # warm caches that are not the database's
        with CaptureQueriesContext(connection) as queries:
            assert client.get(address).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_prefecture_content_reads_in_english(client, prefecture):
    """The fixtures carry an English version of the poles' summaries and of the national policy in short."""
    tree = parse(client.get("/en/"))
    page = text_of(tree)
    assert "Labelled in 2005, the PASS cluster brings together" in page
    assert "Labelled in 2005, Capenergies brings together" in page
    assert "Labelled in 2006, the Orpheme cluster" in page
    assert "In short: since 2004, the State has supported competitiveness clusters" in page
    assert "giving new clusters of critical size international visibility" in page
    for summary in tree.iterfind(".//p[@class='fr-card__desc']"):
        assert summary.get("lang") is None, summary.text
    policy = parse(client.get("/en/politique-nationale/"))
    assert policy.find(".//h1").text == "A national policy" and policy.find(".//h1").get("lang") is None
    # The pages the HTML and accessibility checks visit in English exist in this content.
    for url in ENGLISH_PAGES:
        response = client.get(url)
        assert response.status_code == 200 and parse(response).get("lang") == "en", url


def test_a_file_downloaded_from_an_english_page_keeps_the_french_labels(client, prefecture):
    """Spreadsheet columns are the import templates': a download must read back in,
    whichever language the page it came from was in."""
    response = client.get("/en/donnees/projets.csv")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200
    assert "programme de R&D" in content.decode() and "R&D programme" not in content.decode()


def test_every_entry_of_the_english_catalogue_is_translated():
    """An entry left empty or fuzzy after `make messages` shows in French on English pages."""
    with open(settings.BASE_DIR / "locale/en/LC_MESSAGES/django.po", "rb") as file:
        catalogue = read_po(file)
    untranslated = [
        message.id
        for message in catalogue
        if message.id and (message.fuzzy or not all(message.string if message.pluralizable else [message.string]))
    ]
    assert untranslated == []
