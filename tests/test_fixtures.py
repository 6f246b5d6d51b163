"""The prefecture's content (fixtures/prefecture.json): it loads, reloads without
duplicates, carries its provenance and keeps the prefecture's typography. That
every sentence reaches the site is tested by crawling it (test_source_text.py)."""
import re
from html import unescape

import pytest
from django.core.management import call_command
from django.utils import translation

from poles.models import KeyFigure, Page, PolicyItem, Pole, Project, Territory, Theme
from poles.templatetags.poles_tags import render_markdown

MODELS = [Theme, Territory, Pole, KeyFigure, Project, PolicyItem, Page]
SOURCE = "Préfecture des Alpes-de-Haute-Provence — page « Les pôles de compétitivité »"
LEGAL_PAGE_SLUGS = ["accessibilite", "mentions-legales", "donnees-personnelles", "gestion-des-cookies"]
PAGE_SLUGS = [
    "accueil", "politique-nationale", "poles-du-departement",
    "accessibilite", "mentions-legales", "donnees-personnelles", "gestion-des-cookies",
]

def counts():
    """How many records of every model, and links of every many-to-many field."""
    numbers = {model.__name__: model.objects.count() for model in MODELS}
    for model in (Pole, Project):
        for field in model._meta.many_to_many:
            numbers[f"{model.__name__}.{field.name}"] = field.remote_field.through.objects.count()
    return numbers


def normalise(text):
    return re.sub(r"\s+", " ", text).strip()


def french_text():
    """Every French text field of every record, concatenated."""
    parts = []
    for model in MODELS:
        names = [f.name for f in model._meta.concrete_fields if f.name.endswith("_fr")]
        for values in model.objects.values_list(*names):
            parts += [value for value in values if value]
    return normalise("\n".join(parts))


# ---------------------------------------------------------------- loading


def test_the_fixture_loads_the_three_poles_with_their_labelling_and_texts(prefecture):
    poles = list(Pole.objects.all())
    assert [pole.acronym for pole in poles] == ["PASS", "Capenergies", "Orpheme"]
    assert [pole.slug for pole in poles] == ["pass", "capenergies", "orpheme"]
    assert [str(pole.labelled_on) for pole in poles] == ["2005-07-12", "2005-07-12", "2006-03-06"]
    assert all(pole.status == Pole.Status.ACTIVE and pole.is_published for pole in poles)
    pass_, capenergies, orpheme = poles
    assert pass_.title_fr == 'Le pôle "Parfums, arômes, senteurs et saveurs" (PASS)'
    assert capenergies.title_fr == 'Le pôle "Energies non génératrices de gaz à effet de serre" (Capenergies)'
    assert orpheme.title_fr == 'Le pôle "Orpheme" (pathologies émergentes et maladies orphelines)'
    assert "CIADT" in pass_.labelled_by_fr and "CIACT" in orpheme.labelled_by_fr
    assert pass_.body_fr.startswith("Labellisé le 12 juillet 2005, ce pôle")
    assert pass_.body_fr.endswith("Paris, Bruxelles et New-York.")
    assert capenergies.body_fr.endswith("116 projets ont été labellisés depuis 2005.")
    assert orpheme.body_fr.endswith("Sanofi – Aventis.")
    assert capenergies.website == "https://www.capenergies.fr"
    assert all(pole.summary_fr and pole.summary_en and pole.name_en for pole in poles)


def test_the_fixture_creates_every_site_page_that_the_views_look_up(prefecture):
    pages = Page.objects.in_bulk(PAGE_SLUGS, field_name="slug")
    assert sorted(pages) == sorted(PAGE_SLUGS)
    assert all(page.is_published and page.title_fr for page in pages.values())
    assert pages["accueil"].title_fr == "Les pôles de compétitivité"
    assert pages["accueil"].summary_fr == (
        "Les pôles de compétitivité (71 au niveau national et 3 au niveau départemental) ont été créés en 2004."
    )
    assert pages["accueil"].body_fr and pages["accueil"].body_en
    assert pages["politique-nationale"].title_fr == "Une politique nationale"
    assert pages["politique-nationale"].summary_en and pages["politique-nationale"].body_en
    assert pages["poles-du-departement"].summary_fr == (
        "Trois pôles de compétitivité sont actifs dans les Alpes-de-Haute-Provence."
    )
    assert pages["poles-du-departement"].body_fr == ""
    for slug in PAGE_SLUGS[3:]:
        assert len(pages[slug].body_fr) > 500, f"{slug} has no real content"


def test_loading_the_fixture_twice_updates_in_place_and_duplicates_nothing(prefecture):
    first = counts()
    call_command("loaddata", "prefecture", verbosity=0)
    assert counts() == first
    assert first["Pole"] == 3 and first["Page"] == 7


def test_seed_content_fills_an_empty_database(db, capsys):
    assert not Pole.objects.exists()
    call_command("seed_content")
    assert "chargé" in capsys.readouterr().out
    assert Pole.objects.count() == 3 and Page.objects.count() == 7


def test_seed_content_never_overwrites_an_editors_change(db, capsys):
    call_command("seed_content")
    before = counts()
    Pole.objects.filter(slug="pass").update(summary_fr="Résumé revu par un éditeur.")
    call_command("seed_content")
    assert "rien n'a été chargé" in capsys.readouterr().out
    assert Pole.objects.get(slug="pass").summary_fr == "Résumé revu par un éditeur."
    assert counts() == before


# ---------------------------------------------------------------- provenance


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_every_record_from_the_prefecture_page_names_it_as_its_source_and_is_unverified(prefecture, model):
    """The legal pages were written for the portal, not taken from the prefecture's page."""
    records = list(model.objects.exclude(slug__in=LEGAL_PAGE_SLUGS) if model is Page else model.objects.all())
    assert records
    for record in records:
        assert record.source == SOURCE, record
        assert record.source_url == "", "the page's exact address is unknown: none is invented"
        assert record.verified_on is None, "nobody has verified the old text yet"
        assert record.is_published


def test_the_legal_pages_name_the_portal_as_their_author_and_are_dated(prefecture):
    for page in Page.objects.filter(slug__in=LEGAL_PAGE_SLUGS):
        assert page.source == "Préfecture des Alpes-de-Haute-Provence — rédaction du portail"
        assert page.verified_on is not None


# ---------------------------------------------------------------- territories, themes, figures


def test_territories_carry_their_official_names_codes_and_parents(prefecture):
    by_slug = Territory.objects.in_bulk(field_name="slug")
    expected = {
        "provence-alpes-cote-d-azur": ("Provence-Alpes-Côte d'Azur", "region", "93", None),
        "corse": ("Corse", "region", "94", None),
        "languedoc-roussillon": ("Languedoc-Roussillon", "region", "91", None),
        "occitanie": ("Occitanie", "region", "76", None),
        "auvergne-rhone-alpes": ("Auvergne-Rhône-Alpes", "region", "84", None),
        "alpes-de-haute-provence": ("Alpes-de-Haute-Provence", "departement", "04", "93"),
        "alpes-maritimes": ("Alpes-Maritimes", "departement", "06", "93"),
        "bouches-du-rhone": ("Bouches-du-Rhône", "departement", "13", "93"),
        "drome": ("Drôme", "departement", "26", "84"),
        "grasse": ("Grasse", "commune", "06069", "06"),
        "forcalquier": ("Forcalquier", "commune", "04088", "04"),
        "manosque": ("Manosque", "commune", "04112", "04"),
        "sisteron": ("Sisteron", "commune", "04209", "04"),
        "saint-paul-les-durance": ("Saint-Paul-lès-Durance", "commune", "13099", "13"),
    }
    actual = {
        slug: (t.name_fr, t.kind, t.code, t.parent.code if t.parent else None) for slug, t in by_slug.items()
    }
    assert actual == expected


def test_only_languedoc_roussillon_is_historical_and_says_it_became_occitanie(prefecture):
    historical = Territory.objects.filter(is_historical=True)
    assert [t.slug for t in historical] == ["languedoc-roussillon"]
    assert "Occitanie" in historical[0].description_fr and "2016" in historical[0].description_fr


def test_the_poles_cover_the_territories_the_prefecture_names(prefecture):
    def codes(manager):
        return sorted(t.code for t in manager.all())

    pass_, capenergies, orpheme = Pole.objects.all()
    assert codes(pass_.territories) == ["04", "06", "13", "26"]
    assert codes(pass_.centres) == ["04088", "06069"]  # Forcalquier, Grasse
    assert codes(capenergies.territories) == ["04112", "93", "94"]  # Manosque, PACA, Corse
    assert codes(capenergies.centres) == ["04112"]
    assert codes(orpheme.territories) == ["04209", "91", "93"]  # Sisteron, Languedoc-Roussillon, PACA
    assert codes(orpheme.centres) == []


def test_capenergies_covers_the_energy_theme_and_its_seven_domains_in_the_source_order(prefecture):
    capenergies = Pole.objects.get(slug="capenergies")
    energy = Theme.objects.get(slug="energies-non-generatrices-de-gaz-a-effet-de-serre")
    domains = list(energy.children.order_by("order"))
    assert [d.name_fr for d in domains] == [
        "Maîtrise de la demande d'énergie", "Solaire", "Éolien", "Hydraulique",
        "Biomasse et hydrogène", "Fission", "Fusion",
    ]
    assert [d.order for d in domains] == list(range(1, 8))
    assert set(capenergies.themes.all()) == {energy, *domains}


def test_every_theme_has_a_description_and_an_english_name(prefecture):
    themes = list(Theme.objects.all())
    assert len(themes) == 10
    assert [t.slug for t in themes if t.parent is None] == [
        "parfums-aromes-senteurs-saveurs",
        "energies-non-generatrices-de-gaz-a-effet-de-serre",
        "pathologies-emergentes-maladies-orphelines",
    ]
    assert all(t.description_fr and t.name_en for t in themes)


def test_capenergies_figures_keep_the_period_they_refer_to(prefecture):
    figures = [(f.value, f.label_fr, f.period_fr) for f in KeyFigure.objects.filter(pole__slug="capenergies")]
    assert figures == [
        (160, "partenaires", "chiffre non daté par la source"),
        (116, "projets labellisés", "depuis 2005"),
    ]


def test_national_figures_are_those_of_the_prefecture_page(prefecture):
    figures = [(f.value, f.label_fr) for f in KeyFigure.objects.filter(pole=None)]
    assert figures == [
        (71, "pôles de compétitivité au niveau national"),
        (3, "pôles de compétitivité actifs dans les Alpes-de-Haute-Provence"),
        (2004, "année de création des pôles de compétitivité"),
        (3, "axes majeurs de la politique nationale"),
    ]
    assert all(f.label_en for f in KeyFigure.objects.all())


def test_projects_are_attached_to_their_pole_with_their_kind_and_place(prefecture):
    projects = {p.slug: p for p in Project.objects.all()}
    assert {slug: (p.pole.acronym, p.kind) for slug, p in projects.items()} == {
        "immunoreach": ("PASS", "programme"),
        "qualite-parfums-d-ambiance": ("PASS", "research_direction"),
        "deperissement-de-la-lavande": ("PASS", "research_direction"),
        "iter": ("Capenergies", "infrastructure"),
        "usine-sanofi-aventis-sisteron": ("Orpheme", "industrial_site"),
    }
    assert all(p.status == Project.Status.UNKNOWN and p.summary_fr for p in projects.values())
    assert [t.code for t in projects["iter"].territories.all()] == ["13099"]
    assert [t.slug for t in projects["iter"].themes.all()] == ["fusion"]
    assert [t.code for t in projects["usine-sanofi-aventis-sisteron"].territories.all()] == ["04209"]


def test_policy_items_are_the_three_axes_five_missions_and_the_framework_contract(prefecture):
    items = {kind: list(PolicyItem.objects.filter(kind=kind).order_by("order")) for kind in PolicyItem.Kind.values}
    assert [len(items[kind]) for kind in ("axis", "mission", "framework")] == [3, 5, 1]
    assert [i.order for i in items["mission"]] == [1, 2, 3, 4, 5]
    assert items["mission"][0].text_fr == "l’élaboration et la mise en œuvre de la stratégie générale du pôle"
    assert items["framework"][0].text_fr == (
        "Un contrat cadre régit les relations entre le pôle de compétitivité, "
        "l'État et les collectivités territoriales impliquées."
    )


# ---------------------------------------------------------------- the prefecture's words


def test_the_prefectures_typography_and_spelling_are_kept_as_they_are(prefecture):
    national = Page.objects.get(slug="politique-nationale").body_fr
    pass_ = Pole.objects.get(slug="pass").body_fr
    assert "trois axes majeurs\u00a0:" in national
    assert "Il s’agit, sur un territoire donné d’une association d’entreprises" in national
    assert "l'État et les collectivités" in national
    assert "Bouche-du-Rhône" in pass_ and "New-York" in pass_
    assert "Sanofi – Aventis." in Pole.objects.get(slug="orpheme").body_fr
    assert "•" not in french_text()


def test_the_flattened_pme_abbreviation_is_an_abbr_element(prefecture):
    assert "PMEPetites" not in french_text()
    abbr = '<abbr title="Petites et moyennes entreprises">PME</abbr>'
    assert abbr in render_markdown(Page.objects.get(slug="politique-nationale").body_fr)
    first_axis = PolicyItem.objects.get(kind="axis", order=1)
    assert render_markdown(first_axis.text_fr) == (
        f"<p>le développement des réseaux notamment au bénéfice des {abbr}</p>"
    )


def test_the_national_policy_lists_every_mission_including_the_unbulleted_first_one(prefecture):
    html = unescape(render_markdown(Page.objects.get(slug="politique-nationale").body_fr))
    assert html.count("<li>") == 8  # three axes, five missions
    assert "<li>l’élaboration et la mise en œuvre de la stratégie générale du pôle\u00a0;</li>" in html


# ---------------------------------------------------------------- site pages and English


def test_the_legal_pages_say_what_the_law_requires(prefecture):
    pages = Page.objects.in_bulk(PAGE_SLUGS[3:], field_name="slug")
    accessibility = pages["accessibilite"].body_fr
    assert "**non conforme**" in accessibility and "RGAA" in accessibility
    assert "pref-communication@alpes-de-haute-provence.gouv.fr" in accessibility
    assert "Libre réponse 71120, 75342 Paris CEDEX 07" in accessibility
    legal = pages["mentions-legales"].body_fr
    assert "8 rue du Docteur Romieu, 04016 Digne-les-Bains Cedex" in legal
    assert "Le préfet des Alpes-de-Haute-Provence." in legal
    assert "Licence Ouverte / Open Licence version 2.0" in legal
    assert "ne sont pas encore renseignées" in legal  # the host is for the operator to fill in
    assert "mission d'intérêt public" in pages["donnees-personnelles"].body_fr
    assert "localStorage" in pages["gestion-des-cookies"].body_fr


def test_english_visitors_get_english_where_it_exists_and_french_otherwise(prefecture):
    with translation.override("en"):
        assert Pole.objects.get(slug="pass").name == "Perfumes, aromas, scents and flavours"
        assert Territory.objects.get(slug="corse").name == "Corsica"
        assert Territory.objects.get(slug="bouches-du-rhone").name == "Bouches-du-Rhône"
        assert Page.objects.get(slug="mentions-legales").title == "Mentions légales"
        assert "*[SMEs]: Small and medium-sized enterprises" in Page.objects.get(slug="politique-nationale").body
