"""The admin's spreadsheet flow: upload, preview, confirm — all or nothing,
for editors with the right to add and change, and recorded in the import log."""
import csv
import io

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile

from poles import pending_imports
from poles.models import ImportLog, Project

PASSWORD = "un-mot-de-passe-solide-2026"
CONFIRM = 'value="Confirmer l\'import"'


@pytest.fixture
def editor(db):
    user = User.objects.create_user("editrice@example.org", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Éditeurs"))
    return user


@pytest.fixture
def editor_client(client, editor, settings, tmp_path):
    settings.PENDING_IMPORTS_DIR = tmp_path / "imports"
    client.force_login(editor)
    return client


def exported_projects(client, file_format="csv"):
    response = client.get(f"/admin/poles/project/export/{file_format}/")
    assert response.status_code == 200
    return response.content


def csv_file(rows, name="projets.csv"):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerows(rows)
    return SimpleUploadedFile(name, out.getvalue().encode("utf-8"))


def edited_export(client, change):
    """The projects' CSV export with `change(row)` applied to each data row."""
    text = exported_projects(client).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    header = rows[0]
    body = [dict(zip(header, row)) for row in rows[1:]]
    for row in body:
        change(row)
    return csv_file([header] + [[row[column] for column in header] for row in body])


def test_preview_shows_changed_fields_and_writes_nothing(editor_client, prefecture):
    def rename_iter(row):
        if row["slug"] == "iter":
            row["titre"] = "ITER, réacteur expérimental"

    response = editor_client.post("/admin/poles/project/import/", {"fichier": edited_export(editor_client, rename_iter)})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>1</strong> modifié(s)" in page and "<strong>4</strong> inchangé(s)" in page
    assert "ITER, réacteur expérimental" in page and CONFIRM in page
    assert Project.objects.get(slug="iter").title == "ITER"


def test_confirming_applies_the_import_with_history_and_a_log_entry(editor_client, editor, prefecture):
    def rename_iter(row):
        if row["slug"] == "iter":
            row["titre"] = "ITER, réacteur expérimental"

    preview = editor_client.post("/admin/poles/project/import/", {"fichier": edited_export(editor_client, rename_iter)})
    token = preview.context["token"]
    response = editor_client.post("/admin/poles/project/import/confirmer/", {"token": token})
    assert response.status_code == 302
    iter_project = Project.objects.get(slug="iter")
    assert iter_project.title == "ITER, réacteur expérimental"
    assert iter_project.history.latest().history_user == editor
    log = ImportLog.objects.get(applied=True)
    assert (log.user, log.model, log.file_name, log.file_format, log.updated, log.unchanged) == (
        editor, "projects", "projets.csv", "csv", 1, 4
    )
    assert list(pending_imports.folder().iterdir()) == [], "the waiting file is deleted once confirmed"
    again = editor_client.post("/admin/poles/project/import/confirmer/", {"token": token})
    assert again.status_code == 302 and Project.objects.get(slug="iter").history.count() == iter_project.history.count()


def test_an_invalid_row_offers_no_confirmation_and_lists_errors_by_row_and_column(editor_client, prefecture):
    def break_rows(row):
        if row["slug"] == "iter":
            row["pole"] = "INCONNU"
        row["titre"] = row["titre"] + " (modifié)"

    response = editor_client.post("/admin/poles/project/import/", {"fichier": edited_export(editor_client, break_rows)})
    page = response.content.decode()
    assert CONFIRM not in page
    assert "« INCONNU » : pôle (sigle) inconnu." in page
    assert "rien ne sera importé" in page
    assert not Project.objects.filter(title__endswith="(modifié)").exists()
    assert ImportLog.objects.get().applied is False


def test_an_unchanged_export_reports_every_row_unchanged(editor_client, prefecture):
    for file_format in ("csv", "xlsx", "ods"):
        upload = SimpleUploadedFile(f"projets.{file_format}", exported_projects(editor_client, file_format))
        page = editor_client.post("/admin/poles/project/import/", {"fichier": upload}).content.decode()
        assert "<strong>5</strong> inchangé(s)" in page, file_format
        assert CONFIRM not in page and "il n'y a rien à importer" in page


def test_a_bad_file_gets_one_french_sentence(editor_client, prefecture):
    upload = SimpleUploadedFile("projets.xlsx", b"\x89PNG\r\n\x1a\n pas un tableur")
    response = editor_client.post("/admin/poles/project/import/", {"fichier": upload})
    assert response.status_code == 200
    assert "n&#x27;est pas un classeur XLSX valide" in response.content.decode()


def test_a_file_over_the_limit_is_refused_before_reading(editor_client, prefecture, settings):
    settings.SPREADSHEET_MAX_BYTES = 100
    response = editor_client.post("/admin/poles/project/import/", {"fichier": csv_file([["slug"]] + [["x" * 50]] * 5)})
    assert "dépasse la taille maximale" in response.content.decode()


def test_importing_needs_the_add_and_change_rights(client, prefecture):
    viewer = User.objects.create_user("lecteur@example.org", password=PASSWORD, is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_project"))
    client.force_login(viewer)
    assert client.get("/admin/poles/project/import/").status_code == 403
    assert client.post("/admin/poles/project/import/confirmer/", {"token": "x"}).status_code == 403
    assert "Importer un tableur" not in client.get("/admin/poles/project/").content.decode()
    assert client.get("/admin/poles/project/export/csv/").status_code == 200


def test_another_users_waiting_file_cannot_be_confirmed(editor_client, client, prefecture):
    def rename_iter(row):
        if row["slug"] == "iter":
            row["titre"] = "Détourné"

    token = editor_client.post(
        "/admin/poles/project/import/", {"fichier": edited_export(editor_client, rename_iter)}
    ).context["token"]
    other = User.objects.create_user("autre@example.org", password=PASSWORD, is_staff=True)
    other.groups.add(Group.objects.get(name="Éditeurs"))
    client.force_login(other)
    client.post("/admin/poles/project/import/confirmer/", {"token": token})
    assert Project.objects.get(slug="iter").title == "ITER"


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "ods"])
def test_templates_give_the_headers_and_one_example_row(editor_client, prefecture, file_format):
    response = editor_client.get(f"/admin/poles/pole/modele/{file_format}/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="modele-poles-de-competitivite.{file_format}"'
    from poles.spreadsheets import read_spreadsheet

    dataset = read_spreadsheet(response.content, f"modele.{file_format}")
    assert dataset.headers[:3] == ["sigle", "slug", "nom"] and len(dataset) == 1


def test_the_column_reference_is_reachable_from_the_import_page(editor_client, prefecture):
    page = editor_client.get("/admin/poles/pole/import/").content.decode()
    assert 'href="/admin/poles/pole/import/colonnes/"' in page
    reference = editor_client.get("/admin/poles/pole/import/colonnes/").content.decode()
    assert "<code>sigle</code>" in reference and "clé, obligatoire" in reference
    assert "<code>nb_partenaires</code>" in reference and "<code>thematiques</code>" in reference


def test_the_import_log_is_read_only(editor_client, prefecture):
    ImportLog.objects.create(model="projects", file_name="a.csv", file_format="csv")
    assert editor_client.get("/admin/poles/importlog/").status_code == 200
    assert editor_client.get("/admin/poles/importlog/add/").status_code == 403
