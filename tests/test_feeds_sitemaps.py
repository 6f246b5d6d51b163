"""What feed readers and search engines read: the Atom feed, sitemap.xml and
robots.txt parse and list only published content; pages carry OpenGraph tags,
and a pole's page its schema.org Organization."""
import datetime
import json
import re

import pytest
from defusedxml import ElementTree
from django.conf import settings
from django.utils import timezone

from poles.models import Page, Pole, Project, Theme
from tests.conftest import SITE_PAGE_SLUGS

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def parse_datetime(text):
    return datetime.datetime.fromisoformat(text)


def test_feed_lists_published_poles_and_projects_newest_first(client, drafts, pole, project):
    Project.objects.filter(pk=project.pk).update(updated_at=timezone.now() - datetime.timedelta(days=3))
    response = client.get("/flux.atom")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = ElementTree.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    entries = feed.findall(f"{ATOM}entry")
    links = [entry.find(f"{ATOM}link").get("href") for entry in entries]
    assert links == ["http://testserver/poles/capenergies/", "http://testserver/projets/iter/"]
    assert "brouillon" not in response.content.decode().lower()
    pole.refresh_from_db()
    project.refresh_from_db()
    first, second = entries
    assert parse_datetime(first.find(f"{ATOM}updated").text) == pole.updated_at
    assert parse_datetime(second.find(f"{ATOM}updated").text) == project.updated_at
    assert first.find(f"{ATOM}title").text == "Pôle Capenergies — Énergies non génératrices de gaz à effet de serre"
    assert second.find(f"{ATOM}summary").text == "Fusion nucléaire."
    # The feed's date is its latest entry's (creation or change).
    assert parse_datetime(feed.find(f"{ATOM}updated").text) == max(pole.updated_at, project.created_at)
    assert feed.find(f"{ATOM}author/{ATOM}name").text == "Préfecture des Alpes-de-Haute-Provence"


def test_every_page_announces_the_feed(client, project):
    page = client.get("/").content.decode()
    assert re.search(r'<link rel="alternate" type="application/atom\+xml" href="/flux.atom" title="[^"]+">', page)


def test_sitemap_lists_every_published_page_with_its_last_change(client, site_pages, drafts, pole, project):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    urlset = ElementTree.fromstring(response.content)
    entries = {
        url.find(f"{SITEMAP}loc").text.removeprefix("http://testserver"): url.find(f"{SITEMAP}lastmod")
        for url in urlset.findall(f"{SITEMAP}url")
    }
    expected = {
        "/", "/politique-nationale/", "/poles/", "/thematiques/", "/territoires/", "/projets/", "/plan-du-site/",
        "/donnees/", "/donnees/api/", "/accessibilite/", "/mentions-legales/", "/donnees-personnelles/",
        "/gestion-des-cookies/", "/poles/capenergies/", "/projets/iter/", "/thematiques/solaire/",
        "/territoires/manosque/", "/territoires/paca/",
    }
    assert set(entries) == expected | {f"/en{url}" for url in expected}
    # Each page names its version in the other language, French by default.
    alternates = {
        link.get("hreflang"): link.get("href")
        for url in urlset.findall(f"{SITEMAP}url") if url.find(f"{SITEMAP}loc").text.endswith("/en/projets/iter/")
        for link in url.findall("{http://www.w3.org/1999/xhtml}link")
    }
    assert alternates == {
        "fr": "http://testserver/projets/iter/", "en": "http://testserver/en/projets/iter/",
        "x-default": "http://testserver/projets/iter/",
    }
    assert entries["/poles/capenergies/"].text == Pole.objects.get(slug="capenergies").updated_at.date().isoformat()
    assert entries["/projets/"].text == project.updated_at.date().isoformat()
    assert all(lastmod is not None for url, lastmod in entries.items() if not url.endswith("/donnees/api/"))
    # Every address listed answers.
    for url in entries:
        assert client.get(url).status_code == 200, url


def test_sitemap_leaves_out_unpublished_site_pages(client, site_pages, project):
    Page.objects.filter(slug="mentions-legales").update(is_published=False)
    content = client.get("/sitemap.xml").content.decode()
    assert "/mentions-legales/" not in content
    assert "/accessibilite/" in content
    assert len(SITE_PAGE_SLUGS) == 7


def test_robots_txt_points_at_the_sitemap_and_keeps_robots_out_of_the_admin(client, db):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert lines[0] == "User-agent: *"
    assert f"Disallow: /{settings.ADMIN_URL}" in lines
    assert "Disallow: /api/" in lines
    assert "Sitemap: http://testserver/sitemap.xml" in lines
    assert not any(line.strip() == "Disallow: /" for line in lines)


def meta(page, prop):
    match = re.search(rf'<meta property="{prop}" content="([^"]*)">', page)
    return match and match.group(1)


def test_pole_page_has_opengraph_tags_and_organization_data(client, pole, project):
    pole.summary = "Un pôle </script><script>alert(1)</script> & « énergies »."
    pole.website = "https://www.capenergies.fr"
    pole.save()
    page = client.get("/poles/capenergies/").content.decode()
    assert meta(page, "og:title") == "Le pôle Capenergies"
    assert meta(page, "og:type") == "website"
    assert meta(page, "og:locale") == "fr_FR"
    assert meta(page, "og:url") == "http://testserver/poles/capenergies/"
    assert meta(page, "og:site_name").startswith("Les pôles de compétitivité")
    assert meta(page, "og:description").startswith("Un pôle &lt;/script&gt;")
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert len(blocks) == 1
    assert "<" not in blocks[0] and ">" not in blocks[0]
    data = json.loads(blocks[0])
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Organization"
    assert data["name"] == "Énergies non génératrices de gaz à effet de serre"
    assert data["alternateName"] == "Capenergies"
    assert data["description"] == pole.summary
    assert data["url"] == "https://www.capenergies.fr"
    assert data["mainEntityOfPage"] == "http://testserver/poles/capenergies/"
    assert data["knowsAbout"] == ["Solaire"]
    assert data["areaServed"] == [{"@type": "AdministrativeArea", "name": "Manosque"}]


def test_organization_data_names_no_draft(client, pole):
    pole.themes.add(Theme.objects.create(name="Thème brouillon", slug="theme-brouillon", is_published=False))
    page = client.get("/poles/capenergies/").content.decode()
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S).group(1))
    assert data["knowsAbout"] == ["Solaire"]


def test_list_pages_have_opengraph_tags_too(client, site_pages, project):
    page = client.get("/projets/iter/").content.decode()
    assert meta(page, "og:title") == "ITER"
    assert meta(page, "og:description") == "Fusion nucléaire."
    home = client.get("/").content.decode()
    assert meta(home, "og:title") == "Titre accueil"
    assert meta(home, "og:description") == "Chapeau accueil"
