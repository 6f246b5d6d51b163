"""Site search, on whichever database the suite runs (SQLite's FTS5 or PostgreSQL's
full-text search): what a citizen types finds what is published, ranked and
highlighted; the index follows every change; no query breaks the page."""
import io
import re
from html import unescape

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection

from poles.models import Page, PolicyItem, Pole, Project, SearchEntry, Territory, Theme
from poles.resources import RESOURCES
from poles.spreadsheets import read_spreadsheet, run_import
from tests.test_admin import pole_form_data

SEARCH = "/recherche/"


def results_page(client, query, **params):
    response = client.get(SEARCH, {"q": query, **params})
    assert response.status_code == 200
    return response.content.decode()


def found(client, query, **params):
    """The addresses of the results, in order (first page)."""
    page = results_page(client, query, **params)
    hits = page.split('class="fr-raw-list portal-search-results"', 1)
    return re.findall(r'<h3 class="fr-h5 fr-mb-1w"><a href="([^"]+)"', hits[1]) if len(hits) == 2 else []


def count_heading(page):
    match = re.search(r'<h2 id="resultats">(.*?)</h2>', page)
    return unescape(match.group(1)) if match else None


@pytest.fixture
def site(site_pages, project):
    """The small published site of tests/conftest.py: a pole (Capenergies, "Énergies…",
    Manosque), a theme (Solaire), two territories, a project (ITER) and the site pages."""


@pytest.fixture
def lavender(site, pole):
    """A project whose title says "lavande" and a theme that only mentions it in its text."""
    Project.objects.create(title="Dépérissement de la lavande", slug="lavande", pole=pole, summary="Recherche.")
    Theme.objects.create(name="Plantes à parfum", slug="plantes", description="La lavande et le lavandin.")


# ------------------------------------------------------------------ what a citizen types


def test_accents_and_case_do_not_matter(client, site):
    for query in ["energie", "ENERGIES", "Énergie", "énérgie"]:
        assert "/poles/capenergies/" in found(client, query), query


def test_a_name_typed_without_its_accent_finds_the_territory(client, site):
    Territory.objects.create(name="Drôme", slug="drome", kind="departement", code="26")
    assert found(client, "drome") == ["/territoires/drome/"]
    assert found(client, "DRÔME") == ["/territoires/drome/"]


def test_the_beginning_of_a_word_is_enough(client, lavender):
    assert "/projets/lavande/" in found(client, "lav")
    assert "/territoires/manosque/" in found(client, "manos")


def test_every_word_must_match(client, lavender):
    assert found(client, "lavande dépérissement") == ["/projets/lavande/"]
    assert found(client, "lavande nucléaire") == []


def test_a_match_in_the_title_ranks_above_a_match_in_the_text(client, lavender):
    assert found(client, "lavande") == ["/projets/lavande/", "/thematiques/plantes/"]


def test_a_pole_project_is_found_by_the_pole_theme_and_territory_it_names(client, site):
    """Related names are indexed too, below the record's own text."""
    assert found(client, "iter") == ["/projets/iter/"]
    results = found(client, "solaire")
    assert results[0] == "/thematiques/solaire/"
    assert set(results[1:]) == {"/poles/capenergies/", "/projets/iter/"}


def test_site_pages_and_territory_codes_are_found(client, site):
    assert "/mentions-legales/" in found(client, "mentions-legales")
    assert found(client, "04112") == ["/territoires/manosque/"]


def test_the_prefecture_content_is_searchable_as_loaded(client, prefecture):
    assert found(client, "lavande")[0] == "/projets/deperissement-de-la-lavande/"
    assert found(client, "drome")[0] == "/territoires/drome/"
    assert "/poles/pass/" in found(client, "drome")
    # The national policy page carries its points (policy items) too.
    assert "/politique-nationale/" in found(client, "international")


# ------------------------------------------------------------------ the results page


def test_results_are_labelled_by_kind_and_counted(client, site):
    page = results_page(client, "manosque")
    assert count_heading(page) == "3 résultats pour « manosque »"
    assert "<title>Recherche « manosque » : 3 résultats — " in unescape(page)
    # The territory by its name, the pole by its text, the project by the territory it names.
    labels = re.findall(r'fr-badge--no-icon fr-mb-1w">([^<]+)</p>', page)
    assert labels == ["Territoire", "Pôle", "Projet"]
    assert ">Tous (3)</a>" in page and ">Territoires (1)</a>" in page and ">Pôles (1)</a>" in page


def test_results_can_be_narrowed_to_one_kind(client, site):
    assert found(client, "solaire", type="project") == ["/projets/iter/"]
    page = results_page(client, "solaire", type="project")
    assert count_heading(page) == "1 résultat pour « solaire »"
    assert re.search(r'<a class="fr-tag" href="\?q=solaire&amp;type=project" aria-current="true">', page)
    # An unknown kind is no filter.
    assert len(found(client, "solaire", type="nimporte")) == 3


def test_matched_words_are_marked(client, lavender):
    page = results_page(client, "lava")
    assert "Dépérissement de la <mark>lavande</mark>" in page
    assert "La <mark>lavande</mark> et le <mark>lavandin</mark>." in page


def test_editor_text_is_escaped_around_the_marks(client, site, pole):
    Project.objects.create(
        title='<script>alert("x")</script> Lavande & <b>co</b>', slug="hostile", pole=pole,
        summary="Résumé <img src=x onerror=alert(1)> lavande \x02faux\x03 repère.",
    )
    page = results_page(client, "lavande")
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>co</b>" not in page
    assert "&lt;script&gt;" in page and "<mark>Lavande</mark> &amp; &lt;b&gt;co&lt;/b&gt;" in page
    # Characters the engines use as marks cannot be forged by an editor.
    assert "<mark>faux" not in page and "\x02" not in page


def test_markdown_is_indexed_as_the_reader_sees_it(client, site, pole):
    pole.body = "Voir [le **site** du pôle](https://example.org/lavande).\n\n*[PME]: Petites et moyennes entreprises"
    pole.save()
    page = results_page(client, "site")
    assert "Voir le site du pôle." in page.replace("<mark>", "").replace("</mark>", "")
    assert "https://example.org" not in page and "**" not in page
    assert found(client, "lavande") == []


def test_results_are_paginated_and_the_links_keep_the_query(client, site, make_projects):
    make_projects(24)  # "Projet 0" … "Projet 23"
    first = results_page(client, "projet")
    assert count_heading(first) == "24 résultats pour « projet »"
    assert len(found(client, "projet")) == 10
    assert 'href="?q=projet&amp;page=2"' in first
    third = results_page(client, "projet", page=3)
    assert len(found(client, "projet", page=3)) == 4
    assert '<ol class="fr-raw-list portal-search-results" start="21">' in third
    assert "— page 3 —" in unescape(third.split("<title>")[1].split("</title>")[0])
    # Pages past the end or not numbers show the nearest page, never an error.
    assert len(found(client, "projet", page=99)) == 4
    assert len(found(client, "projet", page="x")) == 10


def test_queries_do_not_grow_with_the_results(client, site, make_projects, django_assert_num_queries):
    """Counted by kind in one query, one page read in another (highlighting included)."""
    Project.objects.create(title="Projet témoin", slug="temoin", pole=Pole.objects.get(), summary="x")
    with django_assert_num_queries(2):
        client.get(SEARCH, {"q": "projet"})
    make_projects(15)
    with django_assert_num_queries(2):
        client.get(SEARCH, {"q": "projet"})


def test_results_are_not_kept_in_the_shared_page_cache(client, site):
    """Each query is a new address: a stream of them must not flood the page cache."""
    assert "no-cache" in client.get(SEARCH, {"q": "iter"})["Cache-Control"]
    SearchEntry.objects.filter(kind="project").delete()  # no content signal: only a fresh page shows it
    assert found(client, "iter") == []


def test_the_empty_search_page_invites_to_search_without_a_query(client, site, django_assert_num_queries):
    with django_assert_num_queries(0):
        page = client.get(SEARCH).content.decode()
    assert "<title>Rechercher sur le site — " in page
    assert "Saisissez un ou plusieurs mots" in page
    assert 'name="q"' in page and count_heading(page) is None
    assert 'href="/poles/"' in page


def test_no_result_says_so_and_offers_ways_out(client, site):
    page = results_page(client, "zyzzyva")
    assert count_heading(page) == "Aucun résultat pour « zyzzyva »"
    assert "<title>Recherche « zyzzyva » : aucun résultat — " in unescape(page)
    assert 'href="/plan-du-site/"' in page


def test_every_page_has_the_search_bar_in_its_header(client, site):
    page = client.get("/poles/capenergies/").content.decode()
    header = page.split('<header role="banner"', 1)[1].split("</header>", 1)[0]
    form = re.search(r'<form class="fr-search-bar" action="/recherche/" method="get" role="search"'
                     r' aria-label="Rechercher sur le site">(.*?)</form>', header, re.S)
    assert form, header
    assert '<label class="fr-label" for="recherche-entete-champ">Rechercher sur le site</label>' in form.group(1)
    assert 'type="search" id="recherche-entete-champ" name="q"' in form.group(1)
    # On a phone the DSFR opens it from a button of the header's bar.
    assert 'class="fr-btn--search fr-btn" data-fr-opened="false" aria-controls="recherche-entete"' in header


# ------------------------------------------------------------------ only what is published


def test_drafts_never_appear(client, site, pole, theme, territory):
    Project.objects.create(title="Projet lavande caché", slug="cache", pole=pole, summary="x", is_published=False)
    Theme.objects.create(name="Lavande brouillon", slug="brouillon", is_published=False)
    Territory.objects.create(name="Lavandeville", slug="lavandeville", kind="commune", is_published=False)
    Page.objects.filter(slug="accessibilite").update(is_published=False)
    Page.objects.get(slug="accessibilite").save()
    assert found(client, "lavande") == []
    assert found(client, "lavandeville") == []
    assert "/accessibilite/" not in found(client, "titre")


def test_a_project_disappears_with_its_pole_and_comes_back_with_it(client, site, pole):
    pole.is_published = False
    pole.save()
    assert found(client, "iter") == []
    assert found(client, "capenergies") == []
    pole.is_published = True
    pole.save()
    assert found(client, "iter") == ["/projets/iter/"]


def test_related_names_of_drafts_are_not_indexed(client, site, pole):
    Theme.objects.create(name="Zirconium secret", slug="zirconium", is_published=False).poles.add(pole)
    assert found(client, "zirconium") == []


# ------------------------------------------------------------------ the index follows every change


@pytest.fixture
def editor_client(client, db):
    editor = User.objects.create_user(username="editrice", password="un-mot-de-passe-solide-2026", is_staff=True)
    editor.groups.add(Group.objects.get(name="Éditeurs"))
    client.force_login(editor)
    return client


def test_an_edit_in_the_admin_is_found_at_once(editor_client, site, pole):
    response = editor_client.post(f"/admin/poles/pole/{pole.pk}/change/",
                                  pole_form_data(pole, summary_fr="Le pôle des héliostats."))
    assert response.status_code == 302
    assert found(editor_client, "heliostat") == ["/poles/capenergies/"]


def test_unpublishing_in_the_admin_removes_from_results(editor_client, site, pole):
    response = editor_client.post("/admin/poles/pole/", {"action": "unpublish", "_selected_action": [pole.pk]})
    assert response.status_code == 302
    assert found(editor_client, "capenergies") == []
    assert found(editor_client, "iter") == []


def test_renaming_and_deleting_follow(client, site, project):
    project.title = "Réacteur expérimental"
    project.save()
    assert found(client, "iter") == []
    assert found(client, "reacteur") == ["/projets/iter/"]
    project.delete()
    assert found(client, "reacteur") == []
    assert not SearchEntry.objects.filter(kind="project").exists()


def test_a_renamed_theme_is_found_through_its_poles_and_projects(client, site, theme):
    theme.name = "Photovoltaïque"
    theme.save()
    results = found(client, "photovolta")
    assert results[0] == "/thematiques/solaire/"
    assert set(results[1:]) == {"/poles/capenergies/", "/projets/iter/"}


def test_relations_changed_from_either_side_follow(client, site, project, pole):
    hydrogen = Theme.objects.create(name="Hydrogène", slug="hydrogene")
    project.themes.add(hydrogen)
    assert "/projets/iter/" in found(client, "hydrogene")
    project.themes.remove(hydrogen)
    assert "/projets/iter/" not in found(client, "hydrogene")
    hydrogen.projects.add(project)  # from the theme's side
    assert "/projets/iter/" in found(client, "hydrogene")
    hydrogen.projects.clear()
    assert "/projets/iter/" not in found(client, "hydrogene")
    hydrogen.poles.add(pole)
    hydrogen.delete()
    assert found(client, "hydrogene") == []


def test_a_policy_point_is_found_on_the_policy_page(client, site):
    item = PolicyItem.objects.create(kind="axis", text="Le rayonnement **international** des pôles.")
    assert found(client, "international") == ["/politique-nationale/"]
    item.delete()
    assert found(client, "international") == []


def test_restoring_an_earlier_version_follows(client, site, project):
    project.title = "Titre provisoire"
    project.save()
    project.history.earliest().instance.save()  # what the history's "restore" does
    assert found(client, "iter") == ["/projets/iter/"]
    assert found(client, "provisoire") == []


def test_a_spreadsheet_import_is_found_at_once(client, site):
    """Projects take the import's batch path, themes the row by row one."""
    for model, rows in (
        ("projects", [["slug", "titre", "pole", "resume", "thematiques"],
                      ["centrale", "Centrale héliothermique", "Capenergies", "Une centrale.", "solaire"],
                      ["iter", "ITER Cadarache", "Capenergies", "Fusion.", ""]]),
        ("themes", [["slug", "nom", "description"], ["geothermie", "Géothermie", "La chaleur du sol."]]),
    ):
        content = "\n".join(";".join(row) for row in rows).encode()
        report = run_import(RESOURCES[model], read_spreadsheet(content, "import.csv"), dry_run=False)
        assert report.applied, report.errors
    assert found(client, "heliotherm") == ["/projets/centrale/"]
    assert found(client, "cadarache") == ["/projets/iter/"]
    assert found(client, "geotherm") == ["/thematiques/geothermie/"]
    assert "/projets/centrale/" in found(client, "solaire", type="project")


def test_a_previewed_import_changes_nothing(client, site):
    content = b"slug;titre;pole;resume\ncentrale;Centrale heliothermique;Capenergies;x\n"
    run_import(RESOURCES["projects"], read_spreadsheet(content, "import.csv"), dry_run=True)
    assert found(client, "heliotherm") == []


def test_loaded_fixtures_are_indexed_when_committed(client, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("loaddata", "prefecture", verbosity=0)
    assert found(client, "lavande")[0] == "/projets/deperissement-de-la-lavande/"
    assert SearchEntry.objects.count() == sum(
        model.objects.published().count() for model in (Pole, Project, Theme, Territory)
    ) + Page.objects.published().filter(slug__in=Page.URL_NAMES).count()


def test_an_existing_site_gets_its_index_when_migrated(client, site):
    """What `migrate` does on a site that had content before search existed."""
    from django.core.management.sql import emit_post_migrate_signal

    SearchEntry.objects.all().delete()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert found(client, "iter") == ["/projets/iter/"]


def test_the_repair_command_rebuilds_a_damaged_index(client, site):
    SearchEntry.objects.all().delete()
    assert found(client, "iter") == []
    out = io.StringIO()
    call_command("rebuild_search_index", stdout=out)
    assert "Index de recherche reconstruit : 12 contenus publiés." in out.getvalue()
    assert found(client, "iter") == ["/projets/iter/"]


# ------------------------------------------------------------------ hostile queries

HOSTILE = [
    "", " ", '"', '""', "*", "lav*", "-", "- lavande", "NEAR", "NEAR(a b)", "a OR b", "OR", "AND", "NOT",
    "lavande NOT", "'; DROP TABLE poles_searchentry; --", "(", ")", "(lavande", "title:lavande",
    "{title}: x", "^lavande", "a & b | !c", "x:*", "'", "\\", "%", "_", "\x00", "😀", "日本語",
    "é" * 1000, "lavande " * 200, "<script>alert(1)</script>",
]


def test_hostile_queries_answer_a_normal_page(client, site):
    for query in HOSTILE:
        response = client.get(SEARCH, {"q": query})
        assert response.status_code == 200, query
        page = response.content.decode()
        assert "<h1>Rechercher sur le site</h1>" in page, query
        assert "<script>alert(1)" not in page
    assert SearchEntry.objects.count() == 12  # nothing was dropped


@hypothesis_settings(max_examples=150, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=300) | st.lists(st.sampled_from(
    ['"', "*", "NEAR", "OR", "AND", "NOT", "(", ")", "-", "^", ":", "'", "\\", "{", "}", "lav", "é", "&", "|", "!"]
)).map(" ".join))
def test_no_text_whatsoever_breaks_either_engine(site, query):
    """Any text, operators in any order: the engine answers, counts agree with the page."""
    from poles import search

    results = search.search(query)
    if results is not None:
        hits = results[0:10]
        assert len(hits) == min(results.count(), 10)


def test_operators_are_words_not_syntax(client, site, pole):
    Project.objects.create(title="Le projet NEAR OR", slug="near", pole=pole, summary="x")
    assert found(client, "near or") == ["/projets/near/"]
    assert found(client, '"lavande" OR iter') == []  # OR is a word to find, not an alternative
    assert found(client, "-iter") == ["/projets/iter/"]


def test_a_very_long_query_is_cut_not_refused(client, site):
    page = results_page(client, "iter " + "x" * 995)
    assert 'maxlength="200"' in page
    value = re.search(r'id="recherche-page-champ" name="q" value="([^"]*)"', page).group(1)
    assert len(value) == 200 and value.startswith("iter x")


def test_the_engine_is_the_database_full_text_search():
    """SQLite answers with FTS5, PostgreSQL with its text search: no loop in Python."""
    from poles import search

    assert type(search.search("x").engine).__name__ == {
        "sqlite": "SQLiteEngine", "postgresql": "PostgreSQLEngine"}[connection.vendor]


# ------------------------------------------------------------------ English


def test_english_pages_search_the_english_text_with_french_as_fallback(client, site, pole, project):
    pole.summary_en = "A cluster for clean power."
    pole.save()
    assert found(client, "power") == []
    response = client.get("/en/recherche/", {"q": "power"})
    assert response.status_code == 200
    page = response.content.decode()
    assert re.findall(r'<h3 class="fr-h5 fr-mb-1w"><a href="([^"]+)"', page) == ["/en/poles/capenergies/"]
    # The pole's name has no English: shown in French, and said to be French.
    assert '<a href="/en/poles/capenergies/" lang="fr">' in page
    assert '<p class="fr-mb-0">' in page and "clean <mark>power</mark>" in page
    # A project without English text is found by its French one, marked French.
    page = client.get("/en/recherche/", {"q": "fusion"}).content.decode()
    assert '<a href="/en/projets/iter/" lang="fr">' in page
    assert '<p class="fr-mb-0" lang="fr"><mark>Fusion</mark> nucléaire.</p>' in page
    # French pages need no such mark.
    assert 'lang="fr">' not in results_page(client, "fusion").split('<main', 1)[1]
    # The header's search of an English page stays in English.
    assert '<form class="fr-search-bar" action="/en/recherche/"' in client.get("/en/").content.decode()
