"""Every sentence of the prefecture's page reaches a visitor who follows the
site's links from the home page."""
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The prefecture's page, kept beside the fixture made from it; the workplace's
# shared copy, when present, must be the same text.
SOURCE = ROOT / "fixtures" / "source" / "prefecture-poles-de-competitivite.txt"
SHARED_SOURCE = ROOT.parent / "shared" / "seed" / "prefecture-poles-de-competitivite.txt"
# Bullets and the section numbering ("I)", "A/") are layout, not words.
ENUMERATOR = re.compile(r"^(?:•\s*|[IVX]+\)\s*|[A-Z]/\s*)")


class VisibleText(HTMLParser):
    """The text a reader gets from a page, and the site's own links on it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks, self.links, self._hidden = [], [], 0

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style", "title"}:
            self._hidden += 1
        href = dict(attrs).get("href") if tag == "a" else None
        if href and href.startswith("/") and not href.startswith(("/static/", "/admin/")):
            self.links.append(urldefrag(href).url)

    def handle_endtag(self, tag):
        if tag in {"script", "style", "title"}:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.chunks.append(data)


def normalise(text):
    return " ".join(text.split())


def source_sentences():
    """Each line of the source, as a reader should find it on the site."""
    lines = SOURCE.read_text(encoding="utf-8").splitlines()
    cleaned = (ENUMERATOR.sub("", line.strip()) for line in lines)
    # The flattened abbreviation is shown as "PME", its expansion in a title attribute.
    return [normalise(line.replace("PMEPetites et moyennes entreprises", "PME")) for line in cleaned if line]


def crawl(client):
    seen, queue, text = set(), ["/"], []
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code == 200, url
        if not response["Content-Type"].startswith("text/html"):
            continue  # a download, a feed, the API
        parser = VisibleText()
        parser.feed(response.content.decode())
        text.append(normalise(" ".join(parser.chunks)))
        # The source is French: English pages (/en/…) would only double the crawl.
        queue.extend(link for link in parser.links
                     if urlsplit(link).path not in seen and not urlsplit(link).path.startswith("/en/"))
    return seen, "\n".join(text)


def test_every_sentence_of_the_source_is_on_the_site(client, prefecture):
    pages, site_text = crawl(client)
    missing = [sentence for sentence in source_sentences() if sentence not in site_text]
    assert not missing, f"{len(missing)} sentence(s) not found on {len(pages)} pages: {missing}"


def test_the_kept_source_is_the_prefectures_text():
    if not SHARED_SOURCE.exists():
        pytest.skip("pas de copie partagée du texte de la préfecture à côté du dépôt")
    assert SOURCE.read_bytes() == SHARED_SOURCE.read_bytes()


def test_the_abbreviation_pme_is_expanded_for_screen_readers(client, prefecture):
    page = client.get("/politique-nationale/").content.decode()
    assert '<abbr title="Petites et moyennes entreprises">PME</abbr>' in page
