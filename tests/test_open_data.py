"""/donnees/: every download imports back unchanged, drafts never leave, and
the page states the licence, each file's format and size, and the date of
each dataset's last change."""
import json
import re

import html5lib
import pytest
import tablib
from django.utils import timezone

from poles.models import Pole, Project, Territory, Theme
from poles.open_data import DATASETS, FORMATS
from poles.resources import RESOURCES
from poles.spreadsheets import read_spreadsheet, run_import


def download(client, dataset, file_format):
    response = client.get(f"/donnees/{dataset}.{file_format}")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{dataset}.{file_format}"'
    return response


def as_dataset(content, file_format, name):
    """A downloaded file read as the import reads it (JSON through tablib)."""
    if file_format == "json":
        rows = json.loads(content)
        dataset = tablib.Dataset(headers=list(rows[0]))
        for row in rows:
            dataset.append(list(row.values()))
        return dataset
    return read_spreadsheet(content, name)


@pytest.fixture
def unlinked_drafts(prefecture):
    """Drafts that no published record points to: they leave the files as they are."""
    draft_pole = Pole.objects.create(name="Pôle brouillon", acronym="BROUILLON", slug="pole-brouillon",
                                     title="Brouillon", summary="Secret.", is_published=False)
    Project.objects.create(title="Projet caché", slug="projet-cache", pole=draft_pole, summary="Secret.")
    Theme.objects.create(name="Thème brouillon", slug="theme-brouillon", is_published=False)
    Territory.objects.create(name="Commune brouillon", slug="commune-brouillon", kind="commune", code="04999",
                             is_published=False)


def test_every_download_imports_back_unchanged(client, unlinked_drafts):
    """The prefecture's content, downloaded in each format and imported as an
    editor would: every row is reported unchanged, none new, no error."""
    for slug, dataset in DATASETS.items():
        published = dataset.model.objects.published().count()
        assert published > 0
        for file_format in FORMATS:
            content = download(client, slug, file_format).content
            rows = as_dataset(content, file_format, f"{slug}.{file_format}")
            assert rows.headers == RESOURCES[dataset.resource].column_names()
            report = run_import(RESOURCES[dataset.resource], rows, dry_run=True)
            assert report.errors == [], (slug, file_format, report.errors)
            assert (report.new, report.updated, report.unchanged) == (0, 0, published), (slug, file_format)


def test_drafts_never_leave(client, linked_drafts):
    secrets = ["BROUILLON", "brouillon", "04999", "Secret", "160"]
    for slug in DATASETS:
        for file_format in FORMATS:
            content = download(client, slug, file_format).content
            text = content.decode("utf-8-sig") if file_format in ("csv", "json") else None
            rows = as_dataset(content, file_format, f"{slug}.{file_format}")
            cells = " ".join(str(cell) for row in rows for cell in row)
            for secret in secrets:
                assert secret not in cells, (slug, file_format, secret)
                if text is not None:
                    assert secret not in text, (slug, file_format, secret)
    poles = as_dataset(download(client, "poles", "json").content, "json", "poles.json").dict
    assert [(row["sigle"], row["thematiques"], row["territoires"], row["successeur"], row["nb_partenaires"])
            for row in poles] == [("Capenergies", "solaire", "04112", "", None)]
    projects = as_dataset(download(client, "projets", "json").content, "json", "projets.json").dict
    assert [(row["slug"], row["thematiques"], row["territoires"]) for row in projects] == [("iter", "solaire", "04112")]


def test_formula_like_text_is_neutralised_in_spreadsheets_only(client, project):
    project.summary = "=HYPERLINK(\"http://exemple.org\")"
    project.save()
    csv_text = download(client, "projets", "csv").content.decode("utf-8-sig")
    assert ';"\'=HYPERLINK(' in csv_text
    rows = json.loads(download(client, "projets", "json").content)
    assert rows[0]["resume"] == '=HYPERLINK("http://exemple.org")'
    report = run_import(RESOURCES["projects"], read_spreadsheet(csv_text.encode(), "projets.csv"), dry_run=True)
    assert report.unchanged == 1


def test_files_follow_every_change(client, project):
    before = download(client, "projets", "csv").content
    project.title = "ITER, réacteur"
    project.save()
    assert "ITER, réacteur" in download(client, "projets", "csv").content.decode("utf-8-sig")
    project.pole.acronym = "CAPEN"
    project.pole.save()
    after = download(client, "projets", "csv").content.decode("utf-8-sig")
    assert ";CAPEN;" in after and before != after


def test_downloads_answer_304_when_unchanged(client, project):
    response = download(client, "projets", "xlsx")
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    again = client.get("/donnees/projets.xlsx", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert client.get("/donnees/projets.xlsx", HTTP_IF_MODIFIED_SINCE=response["Last-Modified"]).status_code == 304


@pytest.mark.parametrize("url", ["/donnees/inconnu.csv", "/donnees/projets.exe", "/donnees/projets.", "/donnees/projets"])
def test_unknown_dataset_or_format_is_not_found(client, db, url):
    assert client.get(url).status_code == 404


def test_page_states_licence_formats_sizes_and_last_change(client, project):
    response = client.get("/donnees/")
    assert response.status_code == 200
    page = response.content.decode()
    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(response.content)
    assert 'href="https://www.etalab.gouv.fr/licence-ouverte-open-licence/"' in page
    assert "Licence Ouverte / Open Licence version 2.0" in page
    for slug in DATASETS:
        for file_format, label in FORMATS.items():
            size = len(client.get(f"/donnees/{slug}.{file_format}").content)
            link = f'<a class="fr-link fr-link--download" download href="/donnees/{slug}.{file_format}">'
            assert link in page
            detail = page.split(link, 1)[1].split("</a>", 1)[0]
            if size < 1024:
                assert f'<span class="fr-link__detail">{label} – {size} octets</span>' in detail
            else:
                shown = re.search(rf'<span class="fr-link__detail">{label} – (\d+),(\d) ko</span>', detail)
                assert shown, detail
                assert abs(float(f"{shown[1]}.{shown[2]}") - size / 1024) <= 0.051, (slug, file_format, size)
    changed = timezone.localtime(project.updated_at).strftime("%Y-%m-%d")
    assert f'<time datetime="{changed}' in page
    assert 'href="/donnees/api/"' in page


def test_page_links_the_api_documentation_which_links_the_schema(client, db):
    page = client.get("/donnees/api/").content.decode()
    assert 'href="/api/schema/"' in page
    assert "/api/projets/?pole=capenergies" in page


def test_query_count_does_not_grow_with_content(client, project, make_projects, django_assert_num_queries):
    """Files are built with a fixed number of queries (each dataset read once
    for its four formats, then kept until the content changes): none per row."""
    with django_assert_num_queries(20):
        # The content's state and one count per dataset (5), then each dataset's rows,
        # published relations and territory codes: poles 7, projects 5, themes 1, territories 2.
        client.get("/donnees/")
    make_projects(10)
    with django_assert_num_queries(6):
        # The content's state, then the projects only: the other datasets have not changed.
        client.get("/donnees/projets.csv")


def test_english_page_gives_sizes_in_english_and_the_same_files(client, project):
    page = client.get("/en/donnees/").content.decode()
    assert re.search(r'<span class="fr-link__detail">XLSX – \d+\.\d kB</span>', page)
    assert client.get("/en/donnees/projets.csv").content == client.get("/donnees/projets.csv").content
