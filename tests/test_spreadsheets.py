"""Spreadsheet imports and exports as editors and the command line see them:
rows matched on stable keys, strict French cell messages, CSV/XLSX/ODS files
as real programs write them, all-or-nothing imports, history, safe exports,
and every way a file can be wrong ending in one French sentence.

Files are built here the way spreadsheet programs build them: bytes in each
encoding for CSV, openpyxl for XLSX, odfpy for ODS.
"""
import csv
import datetime
import io
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.apps import apps
from django.core import serializers
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings as hypothesis_settings, strategies as st
from odf import teletype
from odf.namespaces import OFFICENS, TABLENS
from odf.office import Annotation
from odf.opendocument import OpenDocumentSpreadsheet, OpenDocumentText
from odf.table import CoveredTableCell, Table, TableCell, TableRow
from odf.text import P

from poles.models import ImportLog, KeyFigure, Pole, Project, Territory, Theme
from poles.resources import RESOURCES, DateWidget, ProjectResource
from poles.spreadsheets import SpreadsheetError, export_dataset, read_spreadsheet, run_import, write_spreadsheet

ROOT = Path(__file__).resolve().parent.parent
MODELS = sorted(RESOURCES)
FORMATS = ["csv", "xlsx", "ods"]
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"  # a picture
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)  # an encrypted XLSX (or an old .xls) starts so
PYTHON_NOISE = ("Traceback", "Error", "invalid literal", "could not convert", "NoneType", "object has no")


# ---------------------------------------------------------------- building files


def csv_bytes(rows, encoding="utf-8", delimiter=";"):
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, other_sheets=(), active=0):
    """An XLSX file as Excel would save it: dates as dates, numbers as numbers,
    text as text (even text starting with "=")."""
    workbook = openpyxl.Workbook()
    sheets = [workbook.active]
    sheets += [workbook.create_sheet(f"Feuille{number}") for number in range(2, len(other_sheets) + 2)]
    for sheet, sheet_rows in zip(sheets, [rows, *other_sheets]):
        for row_number, row in enumerate(sheet_rows, start=1):
            for column_number, value in enumerate(row, start=1):
                cell = sheet.cell(row=row_number, column=column_number, value=value)
                if isinstance(value, str) and value.startswith("="):
                    cell.data_type = "s"  # typed text, not a formula
    workbook.active = active
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def ods_cell(value):
    """A cell as LibreOffice writes it (spaces, tabs and line breaks as elements)."""
    if value is None:
        return TableCell()
    if isinstance(value, bool):
        cell = TableCell(valuetype="boolean", booleanvalue="true" if value else "false")
    elif isinstance(value, (int, float)):
        cell = TableCell(valuetype="float", value=str(value))
    elif isinstance(value, datetime.date):
        cell = TableCell(valuetype="date", datevalue=value.isoformat())
    else:
        cell = TableCell(valuetype="string")
        for line in str(value).split("\n"):
            paragraph = P()
            teletype.addTextToElement(paragraph, line)
            cell.addElement(paragraph)
        return cell
    cell.addElement(P(text=str(value)))
    return cell


def ods_bytes(rows, other_sheets=(), trailing_empties=False):
    document = OpenDocumentSpreadsheet()
    for number, sheet_rows in enumerate([rows, *other_sheets], start=1):
        sheet = Table(name=f"Feuille{number}")
        document.spreadsheet.addElement(sheet)
        for row in sheet_rows:
            odf_row = TableRow()
            sheet.addElement(odf_row)
            for value in row:
                # A value may be a cell the test made itself.
                odf_row.addElement(value if hasattr(value, "qname") else ods_cell(value))
            if trailing_empties:  # LibreOffice fills each row up to column AMJ
                odf_row.addElement(TableCell(numbercolumnsrepeated="1020"))
        if trailing_empties:  # …and the sheet down to row 1048576
            empty_row = TableRow(numberrowsrepeated="1048570")
            empty_row.addElement(TableCell(numbercolumnsrepeated="1024"))
            sheet.addElement(empty_row)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def spreadsheet(rows, file_format):
    return {"csv": csv_bytes, "xlsx": xlsx_bytes, "ods": ods_bytes}[file_format](rows)


def rezip(content, replace=None, add=None):
    """The same zip archive with members' bytes changed by `replace` {name: f(bytes)}
    and extra members written by `add` {name: f(writable member)}."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            data = source.read(member.filename)
            target.writestr(member.filename, (replace or {}).get(member.filename, lambda data: data)(data))
        for name, write in (add or {}).items():
            with target.open(name, "w", force_zip64=True) as stream:
                write(stream)
    return out.getvalue()


def zeros(megabytes):
    def write(stream):
        chunk = bytes(1024 * 1024)
        for _ in range(megabytes):
            stream.write(chunk)

    return write


# ---------------------------------------------------------------- importing


def import_rows(model, rows, file_format="csv", dry_run=False):
    content = spreadsheet(rows, file_format)
    return run_import(RESOURCES[model], read_spreadsheet(content, f"import.{file_format}"), dry_run=dry_run)


def run_command(*args, **options):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def database():
    """Every row of every table of the portal's content, histories included
    (not the import log, which records refused imports too)."""
    dump = []
    for model in apps.get_app_config("poles").get_models(include_auto_created=True):
        if model is not ImportLog:
            dump.append(serializers.serialize("json", model._default_manager.order_by("pk")))
    return dump


@pytest.fixture(scope="module")
def seeded_once(django_db_setup, django_db_blocker):
    """The prefecture's content, loaded once for the module in a transaction
    rolled back at its end; each test's own transaction, inside it, is rolled
    back after the test. Tests still need `db` to reach the database."""
    with django_db_blocker.unblock():
        seeded = transaction.atomic()
        seeded.__enter__()
        call_command("seed_content", stdout=io.StringIO())
    yield
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        seeded.__exit__(None, None, None)


@pytest.fixture
def prefecture(seeded_once, db):
    """The prefecture's whole content (the shared fixture's, seeded once here)."""


@pytest.fixture
def unchanged_database(prefecture):
    """Asserts, after the test, that the database is exactly as the prefecture loaded it."""
    before = database()
    yield
    assert database() == before


@pytest.fixture
def no_temporary_files(tmp_path, monkeypatch):
    """Every temporary file goes to an empty folder that must stay empty."""
    folder = tmp_path / "temporaires"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield
    assert list(folder.iterdir()) == []


@pytest.fixture
def seine_saint_denis(prefecture):
    """The département whose code, 93, is also Provence-Alpes-Côte d'Azur's."""
    return Territory.objects.create(
        name="Seine-Saint-Denis", slug="seine-saint-denis", kind="departement", code="93"
    )


@pytest.fixture
def tricky_content(prefecture, seine_saint_denis):
    """The prefecture's content with every kind of cell an export must carry
    through unchanged: text a spreadsheet would run as a formula, an English
    text emptied in the admin (stored as ""), a record created without its
    optional texts (stored as None), dates, numbers, an ambiguous code."""
    iter_project = Project.objects.get(slug="iter")
    iter_project.summary = "=1+1 n'est pas une formule."
    iter_project.body = "- un tokamak ;\n- à Saint-Paul-lès-Durance."
    iter_project.title_en = "@ITER"
    iter_project.summary_en = "+33 4 42 17 66 00"
    iter_project.source = "'Cité' par la préfecture"
    iter_project.start_date = datetime.date(2007, 10, 24)
    iter_project.website = "https://www.iter.org/"
    iter_project.order = 3
    iter_project.save()
    iter_project.territories.add(Territory.objects.get(kind="region", code="93"), seine_saint_denis)
    Project.objects.filter(slug="immunoreach").update(summary_en="'=déjà précédé d'une apostrophe")
    solar = Theme.objects.get(slug="solaire")
    solar.description_en = ""  # what the admin stores for an emptied English text
    solar.verified_on = datetime.date(2025, 1, 31)
    solar.save()
    orpheme = Pole.objects.get(acronym="Orpheme")
    orpheme.successor = Pole.objects.get(acronym="Capenergies")
    orpheme.save()


# ---------------------------------------------------------------- round trip


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("file_format", FORMATS)
def test_an_exported_file_imports_back_with_every_row_unchanged_and_nothing_written(
    tricky_content, tmp_path, model, file_format
):
    path = tmp_path / f"export.{file_format}"
    run_command("export_spreadsheet", model=model, file_format=file_format, output=str(path))
    before = database()

    out, err = run_command("import_spreadsheet", str(path), model=model)

    count = RESOURCES[model]._meta.model.objects.count()
    assert f"0 nouveau(x), 0 modifié(s), {count} inchangé(s), 0 erreur(s)." in out
    assert err == ""
    assert database() == before


@pytest.mark.parametrize("file_format", FORMATS)
def test_exported_cells_that_would_run_as_formulas_start_with_an_apostrophe(prefecture, tmp_path,
                                                                            file_format):
    iter_project = Project.objects.get(slug="iter")
    iter_project.title_en = "=HYPERLINK(\"http://exemple.invalid\")"
    iter_project.summary = "+33 4 42 17 66 00"
    iter_project.summary_en = "-1"
    iter_project.body = "@SOMME(A1:A2)"
    iter_project.body_en = "\tindenté"
    iter_project.source = "\rretour"
    iter_project.start_date = datetime.date(2007, 10, 24)
    iter_project.order = 3
    iter_project.save()
    path = tmp_path / f"projets.{file_format}"
    run_command("export_spreadsheet", model="projects", file_format=file_format, output=str(path))
    cells = exported_cells(path.read_bytes(), file_format, "iter")

    assert cells["titre_en"] == ("text", "'=HYPERLINK(\"http://exemple.invalid\")")
    assert cells["resume"] == ("text", "'+33 4 42 17 66 00")
    assert cells["resume_en"] == ("text", "'-1")
    assert cells["description"] == ("text", "'@SOMME(A1:A2)")
    assert cells["description_en"] == ("text", "'\tindenté")
    # XML turns a carriage return into a line feed: what matters is the apostrophe before it.
    assert cells["source"][0] == "text" and cells["source"][1] in ("'\rretour", "'\nretour")
    # Numbers, dates and empty cells keep their kind.
    assert cells["titre"] == ("text", "ITER")
    assert cells["ordre"] == ("number", 3)
    assert cells["date_debut"] == ("date", datetime.date(2007, 10, 24))
    assert cells["date_fin"] == ("empty", None)


def exported_cells(content, file_format, slug):
    """The kind and value of each cell of the row keyed `slug`, as the file stores them."""
    if file_format == "csv":
        assert content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))
        header, row = rows[0], next(row for row in rows if row[0] == slug)
        kinds = {"ordre": "number", "date_debut": "date", "date_fin": "date"}
        cells = {}
        for name, text in zip(header, row):
            if text == "":
                cells[name] = ("empty", None)
            elif kinds.get(name) == "number":
                cells[name] = ("number", int(text))
            elif kinds.get(name) == "date":
                cells[name] = ("date", datetime.date.fromisoformat(text))
            else:
                cells[name] = ("text", text)
        return cells
    if file_format == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
        rows = list(sheet.iter_rows())
        header = [cell.value for cell in rows[0]]
        row = next(row for row in rows if row[0].value == slug)
        cells = {}
        for name, cell in zip(header, row):
            if cell.value is None:
                cells[name] = ("empty", None)
            elif cell.is_date:
                cells[name] = ("date", cell.value.date())
            elif cell.data_type == "n":
                cells[name] = ("number", cell.value)
            else:
                assert cell.data_type in ("s", "inlineStr"), (name, cell.data_type)
                cells[name] = ("text", cell.value)
        return cells
    from odf.opendocument import load

    sheet = load(io.BytesIO(content)).spreadsheet.getElementsByType(Table)[0]
    rows = [[cell for cell in row.getElementsByType(TableCell)] for row in sheet.getElementsByType(TableRow)]
    header = [teletype.extractText(cell) for cell in rows[0]]
    row = next(row for row in rows if teletype.extractText(row[0]) == slug)
    cells = {}
    for name, cell in zip(header, row):
        kind = cell.getAttrNS(OFFICENS, "value-type")
        if kind == "float":
            cells[name] = ("number", int(float(cell.getAttrNS(OFFICENS, "value"))))
        elif kind == "date":
            cells[name] = ("date", datetime.date.fromisoformat(cell.getAttrNS(OFFICENS, "date-value")[:10]))
        elif kind in (None, "void"):
            cells[name] = ("empty", None)
        else:
            assert kind == "string"
            cells[name] = ("text", "\n".join(str(paragraph) for paragraph in cell.getElementsByType(P)))
    return cells


@pytest.mark.parametrize("file_format", FORMATS)
def test_an_apostrophe_typed_before_a_formula_sign_is_not_imported(prefecture, file_format):
    report = import_rows("projects", [["slug", "resume", "source"], ["iter", "'=1+1", "'Cité'"]], file_format)

    assert report.applied
    iter_project = Project.objects.get(slug="iter")
    assert iter_project.summary == "=1+1"
    assert iter_project.source == "'Cité'"  # an apostrophe before ordinary text is text


# ---------------------------------------------------------------- keys and references


@pytest.mark.parametrize(
    "model, rows, find, attribute, expected",
    [
        ("poles", [["sigle", "nom"], ["Orpheme", "Orphème renommé"]],
         lambda: Pole.objects.get(acronym="Orpheme"), "name_fr", "Orphème renommé"),
        ("themes", [["slug", "nom"], ["solaire", "Énergie solaire"]],
         lambda: Theme.objects.get(slug="solaire"), "name_fr", "Énergie solaire"),
        ("territories", [["type", "code", "nom"], ["commune", "04112", "Manosque (04)"]],
         lambda: Territory.objects.get(slug="manosque"), "name_fr", "Manosque (04)"),
        ("projects", [["slug", "titre"], ["iter", "ITER, réacteur expérimental"]],
         lambda: Project.objects.get(slug="iter"), "title_fr", "ITER, réacteur expérimental"),
    ],
)
def test_a_row_updates_the_record_with_its_key_and_only_the_columns_given(
    prefecture, model, rows, find, attribute, expected
):
    record = find()
    untouched = {name: value for name, value in vars(record).items() if not name.startswith("_")}
    counts = {name: resource._meta.model.objects.count() for name, resource in RESOURCES.items()}

    report = import_rows(model, rows)

    assert (report.new, report.updated, report.applied) == (0, 1, True)
    record = find()
    assert getattr(record, attribute) == expected
    changed = {name for name, value in vars(record).items()
               if not name.startswith("_") and untouched[name] != value}
    assert changed == {attribute, attribute.removesuffix("_fr"), "updated_at"}
    assert counts == {name: resource._meta.model.objects.count() for name, resource in RESOURCES.items()}


def test_a_territory_type_may_be_written_as_its_french_label(prefecture):
    report = import_rows("territories", [
        ["type", "code", "nom"], ["département", "04", "Alpes-de-Haute-Provence (04)"]])

    assert report.updated == 1
    assert Territory.objects.get(slug="alpes-de-haute-provence").name == "Alpes-de-Haute-Provence (04)"


def test_a_new_key_creates_a_record_with_its_lists_of_themes_and_territories(prefecture):
    report = import_rows("projects", [
        ["slug", "titre", "pole", "resume", "thematiques", "territoires"],
        ["centrale-solaire", "Centrale solaire", "Capenergies", "Une centrale.", "solaire; eolien",
         "04112;13099"],
    ])

    assert (report.new, report.updated, report.applied) == (1, 0, True)
    project = Project.objects.get(slug="centrale-solaire")
    assert project.pole.acronym == "Capenergies"
    assert sorted(project.themes.values_list("slug", flat=True)) == ["eolien", "solaire"]
    assert sorted(project.territories.values_list("code", flat=True)) == ["04112", "13099"]
    assert project.kind == Project.Kind.OTHER and project.order == 0 and project.is_published


def test_list_cells_replace_the_themes_and_territories(prefecture):
    import_rows("projects", [
        ["slug", "thematiques", "territoires"], ["iter", "fusion;fission", "13099;departement:04"]])

    iter_project = Project.objects.get(slug="iter")
    assert sorted(iter_project.themes.values_list("slug", flat=True)) == ["fission", "fusion"]
    assert sorted(iter_project.territories.values_list("slug", flat=True)) == [
        "alpes-de-haute-provence", "saint-paul-les-durance"]


def test_a_code_shared_by_a_region_and_a_departement_must_say_which(seine_saint_denis):
    ambiguous = import_rows("projects", [["slug", "territoires"], ["iter", "93"]])

    assert not ambiguous.applied
    [(row, column, message)] = ambiguous.errors
    assert (row, column) == (2, "territoires")
    assert "« 93 » désigne plusieurs territoires" in message and "écrivez par exemple" in message

    assert import_rows("projects", [["slug", "territoires"], ["iter", "departement:93;region:93"]]).applied
    assert sorted(Project.objects.get(slug="iter").territories.values_list("kind", "code")) == [
        ("departement", "93"), ("region", "93")]


@pytest.mark.parametrize(
    "model, rows, find",
    [
        ("poles", [["sigle", "resume"], ["capenergies", "Nouveau résumé."]],
         lambda: Pole.objects.get(slug="capenergies")),
        ("projects", [["slug", "resume"], ["ITER", "Nouveau résumé."]], lambda: Project.objects.get(slug="iter")),
    ],
)
def test_a_key_typed_in_another_case_updates_the_record_rather_than_creating_a_twin(prefecture, model, rows,
                                                                                      find):
    count = RESOURCES[model]._meta.model.objects.count()

    report = import_rows(model, rows)

    assert (report.new, report.updated, report.applied) == (0, 1, True)
    assert RESOURCES[model]._meta.model.objects.count() == count
    assert find().summary == "Nouveau résumé."


@pytest.mark.parametrize("model, rows", [
    ("themes", [["slug", "nom", "parent"], ["hydrogene", "Hydrogène", ""],
                ["electrolyse", "Électrolyse", "hydrogene"]]),
    ("poles", [["sigle", "slug", "nom", "titre", "resume", "successeur"],
               ["NEO", "neo", "Néo", "Pôle Néo", "Le nouveau.", ""],
               ["VIEUX", "vieux", "Vieux", "Pôle Vieux", "L'ancien.", "NEO"]]),
])
def test_a_row_may_refer_to_a_record_created_by_a_row_above_it(prefecture, model, rows):
    preview = import_rows(model, rows, dry_run=True)
    assert (preview.new, preview.errors) == (2, [])

    report = import_rows(model, rows)

    assert (report.new, report.applied) == (2, True)
    if model == "themes":
        assert Theme.objects.get(slug="electrolyse").parent.slug == "hydrogene"
    else:
        assert Pole.objects.get(acronym="VIEUX").successor.acronym == "NEO"


@pytest.mark.parametrize("dry_run", [True, False])
def test_an_empty_pole_cell_is_an_error_of_its_row_not_of_the_file(unchanged_database, dry_run):
    report = import_rows("projects", [["slug", "pole"], ["iter", ""]], dry_run=dry_run)

    assert not report.applied
    assert [(row, column) for row, column, _ in report.errors] == [(2, "pole")]


def test_a_row_referring_to_a_record_created_further_down_says_to_move_it_up(unchanged_database):
    report = import_rows("themes", [["slug", "nom", "parent"], ["electrolyse", "Électrolyse", "hydrogene"],
                                    ["hydrogene", "Hydrogène", ""]])

    assert not report.applied
    [(row, column, message)] = report.errors
    assert (row, column) == (2, "parent")
    assert message.startswith("« hydrogene » : thématique") and "placez sa ligne plus haut" in message


@pytest.mark.parametrize(
    "model, rows, column, value",
    [
        ("projects", [["slug", "pole"], ["iter", "Inconnu"]], "pole", "Inconnu"),
        ("projects", [["slug", "thematiques"], ["iter", "fusion;fusion-froide"]], "thematiques",
         "fusion-froide"),
        ("projects", [["slug", "territoires"], ["iter", "13099;99999"]], "territoires", "99999"),
        ("projects", [["slug", "territoires"], ["iter", "commune:93"]], "territoires", "commune:93"),
        ("poles", [["sigle", "successeur"], ["Orpheme", "Eurobiomed"]], "successeur", "Eurobiomed"),
        ("poles", [["sigle", "centres"], ["PASS", "06069;00000"]], "centres", "00000"),
        ("themes", [["slug", "parent"], ["solaire", "energie"]], "parent", "energie"),
        ("territories", [["type", "code", "parent"], ["commune", "04112", "05"]], "parent", "05"),
    ],
)
def test_an_unknown_reference_is_an_error_on_its_row_naming_the_value(
    unchanged_database, model, rows, column, value
):
    report = import_rows(model, rows)

    assert not report.applied
    [(row, error_column, message)] = report.errors
    assert (row, error_column) == (2, column)
    assert message.startswith(f"« {value} »") and message.count("«") == 1


def test_english_columns_are_optional_and_an_empty_one_means_no_translation(prefecture):
    orpheme = Pole.objects.get(acronym="Orpheme")
    english_name = orpheme.name_en
    assert english_name

    import_rows("poles", [["sigle", "titre"], ["Orpheme", "Le pôle Orpheme"]])
    assert Pole.objects.get(acronym="Orpheme").name_en == english_name

    import_rows("poles", [["sigle", "nom_en", "titre_en"], ["Orpheme", "", "The Orpheme cluster"]])
    orpheme = Pole.objects.get(acronym="Orpheme")
    assert orpheme.name_en is None and orpheme.title_en == "The Orpheme cluster"


# ---------------------------------------------------------------- cells


def test_empty_optional_text_cells_import_as_empty_text(prefecture):
    report = import_rows("projects", [
        ["slug", "description", "source", "site_internet"], ["iter", "", "", ""]])

    assert report.applied
    iter_project = Project.objects.get(slug="iter")
    assert (iter_project.body_fr, iter_project.source, iter_project.website) == ("", "", "")


@pytest.mark.parametrize(
    "column, value, expected",
    [
        ("ordre", "beaucoup", "n'est pas un nombre entier"),
        ("ordre", "2,5", "n'est pas un nombre entier"),
        ("ordre", "-3", "est négatif"),
        ("ordre", "99999999999999999999", "inférieure ou égale"),
        ("date_debut", "31/02/2020", "n'est pas une date valide"),
        ("date_debut", "l'an dernier", "n'est pas une date valide"),
        ("site_internet", "www iter org", "Saisissez une URL valide"),
        ("publie", "peut-être", "répondez « oui » ou « non »"),
        ("type", "usine", "n'est pas une valeur possible"),
        ("slug", "Nouveau Projet", "lettres, des nombres"),
    ],
)
def test_a_wrong_cell_gives_a_french_message_naming_the_value(unchanged_database, column, value, expected):
    rows = [["slug", "titre", "pole", "resume"], ["iter", "ITER", "Capenergies", "Fusion."]]
    if column in rows[0]:
        rows[1][rows[0].index(column)] = value
    else:
        rows[0].append(column)
        rows[1].append(value)

    report = import_rows("projects", rows)

    assert not report.applied
    [(row, error_column, message)] = [error for error in report.errors if error[1] == column]
    assert row == 2
    assert f"« {value} »" in message and expected in message
    assert not any(noise in message for noise in PYTHON_NOISE)


@pytest.mark.parametrize("value, expected", [
    ("beaucoup", "n'est pas un nombre entier"),
    ("-160", "est négatif"),
    ("99999999999999999999", "inférieure ou égale"),
])
def test_a_wrong_partner_count_gives_a_french_message(unchanged_database, value, expected):
    report = import_rows("poles", [["sigle", "nb_partenaires"], ["Capenergies", value]])

    [(row, column, message)] = report.errors
    assert (row, column) == (2, "nb_partenaires")
    assert f"« {value} »" in message and expected in message
    assert not any(noise in message for noise in PYTHON_NOISE)


@pytest.mark.parametrize("file_format", FORMATS)
def test_dates_are_read_from_real_dates_iso_text_and_french_text(prefecture, file_format):
    # CSV has no real dates: its first row is ISO text.
    real_date = datetime.date(2005, 7, 12) if file_format != "csv" else "2005-07-12"
    rows = [["slug", "date_debut"], ["immunoreach", real_date], ["iter", "2005-07-12"],
            ["deperissement-de-la-lavande", "12/07/2005"]]

    report = import_rows("projects", rows, file_format)

    assert report.applied and report.updated == 3
    dates = Project.objects.filter(slug__in=["immunoreach", "iter", "deperissement-de-la-lavande"])
    assert set(dates.values_list("start_date", flat=True)) == {datetime.date(2005, 7, 12)}


@pytest.mark.parametrize("file_format", ["xlsx", "ods"])
def test_numbers_and_yes_no_cells_of_a_workbook_are_read_as_typed(prefecture, file_format):
    rows = [["slug", "ordre", "publie", "titre_en"], ["iter", 7, False, 2025]]

    assert import_rows("projects", rows, file_format).applied

    iter_project = Project.objects.get(slug="iter")
    assert (iter_project.order, iter_project.is_published, iter_project.title_en) == (7, False, "2025")


# ---------------------------------------------------------------- file formats


TITLE = "Réacteur « ITER », Saint-Paul-lès-Durance ; coût : 20 Md€"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
@pytest.mark.parametrize("delimiter", [";", ","])
def test_csv_is_read_in_utf8_with_or_without_bom_or_windows_1252_with_either_delimiter(
    prefecture, encoding, delimiter
):
    rows = [["slug", "titre", "thematiques"], ["iter", TITLE, "fusion;fission"]]
    content = csv_bytes(rows, encoding, delimiter)
    assert content.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")

    report = run_import(RESOURCES["projects"], read_spreadsheet(content, "projets.csv"), dry_run=False)

    assert report.applied and report.updated == 1
    iter_project = Project.objects.get(slug="iter")
    assert iter_project.title == TITLE
    assert sorted(iter_project.themes.values_list("slug", flat=True)) == ["fission", "fusion"]


@pytest.mark.parametrize("file_format", ["xlsx", "ods"])
def test_only_the_first_sheet_is_read_even_if_another_is_open(prefecture, file_format):
    first = [["slug", "titre"], ["iter", "Titre de la première feuille"]]
    second = [["slug", "titre"], ["iter", "Titre de la deuxième feuille"], ["immunoreach", "Autre"]]
    if file_format == "xlsx":
        content = xlsx_bytes(first, other_sheets=[second], active=1)
    else:
        content = ods_bytes(first, other_sheets=[second])

    report = run_import(RESOURCES["projects"], read_spreadsheet(content, f"projets.{file_format}"),
                        dry_run=False)

    assert (report.updated, report.unchanged) == (1, 0)
    assert Project.objects.get(slug="iter").title == "Titre de la première feuille"


def xlsx_with_computed_formulas():
    """An XLSX file as Excel saves it: each formula with the value it computed.

    openpyxl writes formulas without their value (`<v/>`), so the sheet's XML
    is completed by hand the way Excel writes it: `<f>` then `<v>`, and
    `t="str"` for a formula giving text."""
    content = xlsx_bytes([["slug", "ordre", "titre"], ["iter", "=1+2", None]])
    # xlsx_bytes typed "=1+2" as text: make it a real formula, and add a text one.
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    sheet = workbook.worksheets[0]
    sheet["B2"] = "=1+2"
    sheet["C2"] = '="ITER, "&"calculé"'
    out = io.BytesIO()
    workbook.save(out)

    def computed(xml):
        xml = xml.decode()
        xml, found_number = re.subn(r'(<c r="B2"[^>]*>)(<f>[^<]*</f>)<v\s*/>', r"\1\2<v>3</v>", xml)
        xml, found_text = re.subn(r'<c r="C2"([^>]*)>(<f>[^<]*</f>)<v\s*/>',
                                  r'<c r="C2" t="str"\1>\2<v>ITER, calculé</v>', xml)
        assert (found_number, found_text) == (1, 1), xml
        return xml.encode()

    return rezip(out.getvalue(), replace={"xl/worksheets/sheet1.xml": computed})


def ods_with_computed_formulas():
    """An ODS file as LibreOffice saves it: a formula cell carries its result."""
    number = TableCell(formula="of:=1+2", valuetype="float", value="3")
    number.addElement(P(text="3"))
    text = TableCell(formula='of:="ITER, "&"calculé"', valuetype="string")
    text.addElement(P(text="ITER, calculé"))
    return ods_bytes([["slug", "ordre", "titre"], ["iter", number, text]])


@pytest.mark.parametrize("file_format", ["xlsx", "ods"])
def test_formulas_import_as_the_values_they_computed(prefecture, file_format):
    content = xlsx_with_computed_formulas() if file_format == "xlsx" else ods_with_computed_formulas()

    report = run_import(RESOURCES["projects"], read_spreadsheet(content, f"projets.{file_format}"),
                        dry_run=False)

    assert report.applied, report.errors
    iter_project = Project.objects.get(slug="iter")
    assert (iter_project.order, iter_project.title) == (3, "ITER, calculé")


def test_a_formula_without_a_computed_value_is_refused_naming_its_cell(unchanged_database):
    """openpyxl and other programs write formulas without the value a spreadsheet
    computes on saving: read as empty, they would erase the stored text."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["slug", "titre"])
    workbook.active.append(["iter", '=UPPER("iter")'])
    out = io.BytesIO()
    workbook.save(out)

    with pytest.raises(SpreadsheetError, match=r"La cellule B2 .* formule sans valeur calculée"):
        read_spreadsheet(out.getvalue(), "projets.xlsx")


def test_an_ods_file_is_read_cell_by_cell_as_libreoffice_writes_it(prefecture):
    """Runs of spaces, tabs and line breaks are elements in ODS; a comment holds
    paragraphs of its own; a merged cell hides the cells it covers; every row
    and the sheet are padded with repeated empty cells."""
    commented = ods_cell("Deux  espaces\tet une tabulation")
    note = Annotation()
    note.addElement(P(text="Commentaire : à relire"))
    commented.insertBefore(note, commented.firstChild)
    merged = ods_cell("iter")
    merged.setAttrNS(TABLENS, "number-columns-spanned", "2")
    content = ods_bytes(
        [["slug", "titre_en", "titre", "resume", "ordre"],
         [merged, CoveredTableCell(), commented, "Première ligne\nSeconde ligne", 4]],
        trailing_empties=True,
    )

    report = run_import(RESOURCES["projects"], read_spreadsheet(content, "projets.ods"), dry_run=False)

    assert report.applied, report.errors
    iter_project = Project.objects.get(slug="iter")
    assert iter_project.title == "Deux  espaces\tet une tabulation"
    assert iter_project.summary == "Première ligne\nSeconde ligne"
    assert (iter_project.title_en, iter_project.order) == (None, 4)


# ---------------------------------------------------------------- all or nothing, history


@pytest.mark.parametrize("file_format", FORMATS)
def test_one_invalid_row_writes_nothing_at_all(unchanged_database, file_format):
    report = import_rows("projects", [
        ["slug", "titre", "pole", "resume", "thematiques"],
        ["iter", "ITER modifié", "Capenergies", "Fusion.", "fusion;fission"],
        ["nouveau-projet", "Nouveau projet", "PASS", "Un projet.", "solaire"],
        ["immunoreach", "Immunoreach", "PASS", "", ""],
    ], file_format)

    assert not report.applied
    assert report.errors == [(4, "resume", "Ce champ ne peut pas être vide.")]


def test_every_imported_change_enters_the_history(prefecture):
    counts = {model: model.history.count() for model in (Pole, Project, Theme, Territory, KeyFigure)}
    iter_history = Project.objects.get(slug="iter").history.count()

    import_rows("projects", [
        ["slug", "titre", "thematiques"],
        ["iter", "ITER modifié", "fusion;fission"],
        ["immunoreach", "Effets allergisants des huiles essentielles", "parfums-aromes-senteurs-saveurs"],
    ])
    import_rows("themes", [["slug", "nom"], ["solaire", "Énergie solaire"]])
    import_rows("territories", [["type", "code", "nom"], ["commune", "04112", "Manosque (04)"]])
    import_rows("poles", [["sigle", "nom", "nb_partenaires"], ["PASS", "PASS renommé", ""]])

    latest = Project.objects.get(slug="iter").history.latest()
    assert (latest.title_fr, latest.history_type, latest.history_change_reason) == (
        "ITER modifié", "~", "Import de tableur")
    assert sorted(link.theme.slug for link in latest.themes.all()) == ["fission", "fusion"]
    assert Project.objects.get(slug="immunoreach").history.latest().title_fr.startswith("Effets allergisants")
    assert Theme.objects.get(slug="solaire").history.latest().name_fr == "Énergie solaire"
    assert Territory.objects.get(slug="manosque").history.latest().name_fr == "Manosque (04)"
    assert Pole.objects.get(acronym="PASS").history.latest().name_fr == "PASS renommé"
    # One complete version per changed row, its themes included; nothing for the empty partner count.
    assert Project.objects.get(slug="iter").history.count() == iter_history + 1
    assert {model: model.history.count() - count for model, count in counts.items()} == {
        Pole: 1, Project: 2, Theme: 1, Territory: 1, KeyFigure: 0}


def test_partner_count_updates_capenergies_key_figure_with_its_history(prefecture):
    figure = KeyFigure.objects.get(pole__acronym="Capenergies", label="partenaires")
    assert figure.value == 160
    history = figure.history.count()

    dry_run = import_rows("poles", [["sigle", "nb_partenaires"], ["Capenergies", 175]], dry_run=True)
    assert (dry_run.updated, KeyFigure.objects.get(pk=figure.pk).value) == (1, 160)
    assert figure.history.count() == history

    report = import_rows("poles", [["sigle", "nb_partenaires"], ["Capenergies", 175]])

    assert (report.updated, report.applied) == (1, True)
    assert KeyFigure.objects.get(pk=figure.pk).value == 175
    assert figure.history.count() == history + 1
    assert figure.history.latest().value == 175


def test_a_partner_count_for_a_pole_without_one_creates_its_key_figure(prefecture):
    assert not KeyFigure.objects.filter(pole__acronym="Orpheme").exists()

    import_rows("poles", [["sigle", "nb_partenaires"], ["Orpheme", "12"]])

    figure = KeyFigure.objects.get(pole__acronym="Orpheme")
    assert (figure.value, figure.label) == (12, "partenaires")
    assert figure.history.count() == 1


def test_an_empty_partner_count_leaves_the_key_figure_alone(unchanged_database):
    report = import_rows("poles", [["sigle", "nb_partenaires"], ["Capenergies", ""], ["PASS", ""]])

    assert (report.updated, report.unchanged) == (0, 2)


# ---------------------------------------------------------------- property


EXISTING = ["deperissement-de-la-lavande", "immunoreach", "iter", "qualite-parfums-d-ambiance",
            "usine-sanofi-aventis-sisteron"]
NEW = ["nouveau-projet", "autre-projet"]
OPTIONAL = ["titre", "pole", "resume", "thematiques", "territoires", "ordre", "date_debut", "site_internet"]
POLES = {"PASS": "PASS", "Capenergies": "Capenergies", "orpheme": "Orpheme"}  # sigles are matched in any case
TERRITORIES = {"04112": "04112", "13099": "13099", "departement:04": "04", "93": "93"}  # cell: code
COUNTS = {"": 0, "0": 0, "7": 7, 3: 3}
DATES = {"": None, "2005-07-12": datetime.date(2005, 7, 12), "12/07/2005": datetime.date(2005, 7, 12),
         datetime.date(2010, 1, 1): datetime.date(2010, 1, 1)}


def key_list(keys):
    return st.lists(st.sampled_from(keys), max_size=3, unique=True).map(";".join)


VALID_CELLS = {
    "titre": st.text(alphabet="ITER fusion=+-@é", min_size=1, max_size=12).filter(str.strip),
    "pole": st.sampled_from(list(POLES)),
    "resume": st.sampled_from(["Un résumé.", "=pas une formule"]),
    "thematiques": key_list(["fusion", "fission", "solaire"]),
    "territoires": key_list(list(TERRITORIES)),
    "ordre": st.sampled_from(list(COUNTS)),
    "date_debut": st.sampled_from(list(DATES)),
    "site_internet": st.sampled_from(["", "https://www.iter.org/"]),
}
INVALID_CELLS = {
    "titre": st.sampled_from(["", "   "]),
    "pole": st.sampled_from(["", "Inconnu"]),
    "resume": st.just(""),
    "thematiques": st.sampled_from(["fusion-froide", "fusion;fusion-froide"]),
    "territoires": st.sampled_from(["00000", "04112;commune:93"]),
    "ordre": st.sampled_from(["abc", "-1", "2.5"]),
    "date_debut": st.sampled_from(["31/02/2020", "hier"]),
    "site_internet": st.just("pas une url"),
}


@st.composite
def project_sheets(draw):
    """A projects sheet of valid rows (a new project only when its required
    columns are there), some of whose cells may then be spoiled; returns the
    columns, the rows and the numbers of the spoiled rows."""
    columns = draw(st.one_of(st.just(OPTIONAL), st.lists(st.sampled_from(OPTIONAL), unique=True)))
    slugs = EXISTING + (NEW if {"titre", "pole", "resume"} <= set(columns) else [])
    chosen = draw(st.lists(st.sampled_from(slugs), min_size=1, max_size=4, unique=True))
    rows = [{"slug": slug, **{column: draw(VALID_CELLS[column]) for column in columns}} for slug in chosen]
    spoiled = set()
    if draw(st.booleans()):
        cells = st.tuples(st.integers(0, len(rows) - 1), st.sampled_from(["slug", *columns]))
        for index, column in draw(st.lists(cells, min_size=1, max_size=3)):
            rows[index][column] = f"Pas Un Slug {index}" if column == "slug" else draw(INVALID_CELLS[column])
            spoiled.add(index + 2)
    return columns, rows, spoiled


@hypothesis_settings(max_examples=40, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sheet=project_sheets(), file_format=st.sampled_from(FORMATS))
def test_any_sheet_imports_whole_or_leaves_the_database_byte_for_byte_unchanged(prefecture, sheet,
                                                                                file_format):
    columns, rows, spoiled = sheet
    header = ["slug", *columns]
    content = spreadsheet([header] + [[row[column] for column in header] for row in rows], file_format)

    with transaction.atomic():
        before = database() if spoiled else None
        report = run_import(RESOURCES["projects"], read_spreadsheet(content, f"projets.{file_format}"),
                            dry_run=False)
        event("appliqué" if report.applied else "refusé")
        if spoiled:
            assert not report.applied
            assert {error[0] for error in report.errors} == spoiled
            assert database() == before
        else:
            assert report.applied, report.errors
            for row in rows:
                project = Project.objects.get(slug=row["slug"])
                expected = {
                    "titre": (project.title, row.get("titre", "").strip()),
                    "pole": (project.pole.acronym, POLES.get(row.get("pole"))),
                    "resume": (project.summary, row.get("resume")),
                    "thematiques": (set(project.themes.values_list("slug", flat=True)),
                                    set(filter(None, row.get("thematiques", "").split(";")))),
                    "territoires": (
                        set(project.territories.values_list("code", flat=True)),
                        {TERRITORIES[cell] for cell in filter(None, row.get("territoires", "").split(";"))},
                    ),
                    "ordre": (project.order, COUNTS.get(row.get("ordre"))),
                    "date_debut": (project.start_date, DATES.get(row.get("date_debut"))),
                    "site_internet": (project.website, row.get("site_internet")),
                }
                for column in columns:
                    assert expected[column][0] == expected[column][1], (row, column)
        transaction.set_rollback(True)


# ---------------------------------------------------------------- command line


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_the_export_command_writes_csv_to_standard_output_but_refuses_a_binary_workbook(prefecture):
    out, _ = run_command("export_spreadsheet", model="themes", file_format="csv")
    assert out.startswith("\ufeffslug;nom;") and "\nsolaire;" in out

    with pytest.raises(CommandError, match="précisez le fichier avec -o FICHIER"):
        run_command("export_spreadsheet", model="themes", file_format="xlsx")


def test_the_import_command_applies_a_valid_file_and_prints_its_counts(prefecture, tmp_path,
                                                                       no_temporary_files):
    path = write(tmp_path, "projets.xlsx", xlsx_bytes([
        ["slug", "titre", "pole", "resume"],
        ["iter", "ITER modifié", "Capenergies", "Fusion."],
        ["nouveau-projet", "Nouveau projet", "PASS", "Un projet."],
        ["immunoreach", Project.objects.get(slug="immunoreach").title, "PASS",
         Project.objects.get(slug="immunoreach").summary],
    ]))

    out, err = run_command("import_spreadsheet", str(path), model="projects")

    assert "1 nouveau(x), 1 modifié(s), 1 inchangé(s), 0 erreur(s)." in out
    assert "Import appliqué." in out and err == ""
    assert Project.objects.get(slug="iter").title == "ITER modifié"
    assert Project.objects.filter(slug="nouveau-projet").exists()


def test_the_import_command_dry_run_counts_and_writes_nothing(unchanged_database, tmp_path):
    path = write(tmp_path, "projets.csv", csv_bytes([["slug", "titre"], ["iter", "ITER modifié"]]))

    out, err = run_command("import_spreadsheet", str(path), model="projects", dry_run=True)

    assert "0 nouveau(x), 1 modifié(s), 0 inchangé(s), 0 erreur(s)." in out
    assert "rien n'a été écrit" in out and err == ""


@pytest.mark.parametrize("dry_run", [False, True])
def test_the_import_command_prints_every_row_error_and_fails(unchanged_database, tmp_path, dry_run):
    path = write(tmp_path, "projets.ods", ods_bytes([
        ["slug", "pole", "site_internet", "ordre"],
        ["iter", "Inconnu", "https://www.iter.org/", 1],
        ["immunoreach", "PASS", "www iter org", "beaucoup"],
    ]))

    with pytest.raises(CommandError) as refused:
        run_command("import_spreadsheet", str(path), model="projects", dry_run=dry_run)

    assert refused.value.returncode == 1
    assert str(refused.value) == "Import refusé : aucune modification n'a été enregistrée."


def test_the_import_command_lists_each_error_with_row_column_and_value(unchanged_database, tmp_path):
    path = write(tmp_path, "projets.csv", csv_bytes([
        ["slug", "pole", "site_internet", "ordre"],
        ["iter", "Inconnu", "https://www.iter.org/", "1"],
        ["immunoreach", "PASS", "www iter org", "beaucoup"],
    ]))
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_spreadsheet", str(path), model="projects", stdout=io.StringIO(), stderr=err)

    assert sorted(err.getvalue().splitlines()) == [
        "ligne 2, colonne pole : « Inconnu » : pôle (sigle) inconnu.",
        "ligne 3, colonne ordre : « beaucoup » n'est pas un nombre entier.",
        "ligne 3, colonne site_internet : « www iter org » : Saisissez une URL valide.",
    ]


def test_the_import_command_refuses_a_missing_file_in_french(unchanged_database, tmp_path):
    with pytest.raises(CommandError, match="Le fichier « .*absent.csv » n.existe pas."):
        run_command("import_spreadsheet", str(tmp_path / "absent.csv"), model="projects")


def test_the_command_line_gives_real_exit_codes_and_never_prompts(tmp_path):
    """A real process, on its own SQLite database (it cannot see the test one)."""
    database_file = tmp_path / "portail.sqlite3"
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test",
           "DATABASE_URL": f"sqlite:///{database_file}", "TMPDIR": str(temporary), "PYTHONWARNINGS": "ignore"}

    def manage(*args):
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=120)

    assert manage("migrate", "--verbosity", "0").returncode == 0
    assert manage("seed_content").returncode == 0

    exported = manage("export_spreadsheet", "--model", "projects", "--format", "csv")
    assert exported.returncode == 0
    assert exported.stdout.startswith("\ufeffslug;titre;".encode())
    edited = exported.stdout.decode("utf-8-sig").replace("\nimmunoreach;", "\nimmunoreach-2025;")
    valid = write(tmp_path, "valide.csv", edited.encode("utf-8-sig"))
    invalid = write(tmp_path, "invalide.csv", csv_bytes([["slug", "pole"], ["iter", "Inconnu"]]))
    not_a_workbook = write(tmp_path, "image.xlsx", PNG)

    dry_run = manage("import_spreadsheet", str(valid), "--model", "projects", "--dry-run")
    assert dry_run.returncode == 0, dry_run.stderr
    assert "1 nouveau(x), 0 modifié(s), 4 inchangé(s), 0 erreur(s)." in dry_run.stdout.decode()

    refused = manage("import_spreadsheet", str(invalid), "--model", "projects")
    assert refused.returncode == 1
    assert "ligne 2, colonne pole : « Inconnu » : pôle (sigle) inconnu." in refused.stderr.decode()
    assert "Traceback" not in refused.stderr.decode()

    bad_file = manage("import_spreadsheet", str(not_a_workbook), "--model", "projects")
    assert bad_file.returncode == 1
    assert "« image.xlsx » n'est pas un classeur XLSX valide" in bad_file.stderr.decode()
    assert "Traceback" not in bad_file.stderr.decode()

    with sqlite3.connect(database_file) as connection:
        assert connection.execute("select count(*) from poles_project").fetchone() == (5,)

    applied = manage("import_spreadsheet", str(valid), "--model", "projects")
    assert applied.returncode == 0, applied.stderr
    assert "Import appliqué." in applied.stdout.decode()
    with sqlite3.connect(database_file) as connection:
        assert connection.execute("select count(*) from poles_project").fetchone() == (6,)
    assert list(temporary.iterdir()) == []


# ---------------------------------------------------------------- bad files


def valid_xlsx():
    return xlsx_bytes([["slug", "titre"], ["iter", "ITER"]])


def valid_ods():
    return ods_bytes([["slug", "titre"], ["iter", "ITER"]])


def text_document_renamed():
    document = OpenDocumentText()
    document.text.addElement(P(text="Un texte, pas un tableur."))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def broken_ods_number():
    cell = TableCell(valuetype="float")
    cell.addElement(P(text="trois"))
    return ods_bytes([["slug", "ordre"], ["iter", cell]])


BAD_FILES = {
    "empty": ("vide.csv", lambda: b"", "Le fichier « vide.csv » est vide."),
    "only a byte order mark": ("bom.csv", lambda: b"\xef\xbb\xbf", "ne contient aucune ligne"),
    "a picture renamed .xlsx": ("photo.xlsx", lambda: PNG, "« photo.xlsx » n'est pas un classeur XLSX"),
    "a picture renamed .ods": ("photo.ods", lambda: PNG, "« photo.ods » n'est pas un classeur ODS valide."),
    "a picture renamed .csv": ("photo.csv", lambda: PNG, "« photo.csv » n'est pas un fichier CSV lisible"),
    "a text file": ("notes.txt", lambda: b"slug;titre\niter;ITER\n", "n'est pas un tableur pris en charge"),
    "an old Excel file": ("ancien.xls", lambda: OLE2, "« ancien.xls » n'est pas un tableur pris en charge"),
    "a password-protected XLSX": ("protege.xlsx", lambda: OLE2, "est protégé par un mot de passe"),
    "a text document renamed .ods": ("texte.ods", text_document_renamed, "ne contient aucune feuille"),
    "a truncated XLSX": ("coupe.xlsx", lambda: valid_xlsx()[:700], "n'est pas un classeur XLSX valide"),
    "an XLSX with a broken sheet": (
        "abime.xlsx",
        lambda: rezip(valid_xlsx(), replace={"xl/worksheets/sheet1.xml": lambda xml: xml[: len(xml) // 2]}),
        "n'est pas un classeur XLSX valide",
    ),
    "an ODS number that is not one": ("abime.ods", broken_ods_number, "n'est pas un classeur ODS valide"),
    "a missing key column": (
        "projets.csv", lambda: csv_bytes([["titre", "resume"], ["ITER", "Fusion."]]),
        "colonne(s) obligatoire(s) absente(s) : slug",
    ),
    "a territory without its type": (
        "territoires.csv", lambda: csv_bytes([["code", "nom"], ["04112", "Manosque"]]),
        "colonne(s) obligatoire(s) absente(s) : type",
    ),
    "an unknown column": (
        "projets.csv", lambda: csv_bytes([["slug", "couleur"], ["iter", "bleu"]]),
        "colonne(s) inconnue(s) : couleur",
    ),
    "a column without a title": (
        "projets.csv", lambda: csv_bytes([["slug", "", "titre"], ["iter", "x", "ITER"]]),
        "La colonne n° 2 de la première ligne n'a pas de titre.",
    ),
    "the same key twice": (
        "projets.xlsx",
        lambda: xlsx_bytes([["slug", "titre"], ["iter", "A"], ["immunoreach", "B"], ["ITER", "C"]]),
        "La clé « ITER » apparaît deux fois : lignes 2 et 4.",
    ),
}


@pytest.mark.parametrize("name, make, message", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_is_refused_with_one_french_sentence(
    unchanged_database, no_temporary_files, tmp_path, name, make, message
):
    model = "territories" if name.startswith("territoires") else "projects"
    path = write(tmp_path, name, make())

    with pytest.raises(CommandError) as refused:
        run_command("import_spreadsheet", str(path), model=model)

    assert message in str(refused.value)
    assert not any(noise in str(refused.value) for noise in PYTHON_NOISE)


def test_a_csv_cell_longer_than_pythons_default_field_limit_is_read(prefecture):
    description = "Une très longue description. " * 6000  # about 170 KB in one cell
    report = import_rows("projects", [["slug", "description"], ["iter", description.strip()]])

    assert report.applied, report.errors
    assert Project.objects.get(slug="iter").body == description.strip()


def test_a_file_over_the_size_limit_is_refused(unchanged_database, settings, tmp_path):
    settings.SPREADSHEET_MAX_BYTES = 2 * 1024 * 1024
    path = write(tmp_path, "gros.csv", b"slug;titre\n" + b"iter;" + b"x" * (2 * 1024 * 1024))

    with pytest.raises(CommandError, match=r"« gros.csv » dépasse la taille maximale de 2 Mo\."):
        run_command("import_spreadsheet", str(path), model="projects")


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_file_with_too_many_rows_is_refused(unchanged_database, settings, tmp_path, file_format):
    settings.SPREADSHEET_MAX_ROWS = 2
    rows = [["slug", "titre"], ["iter", "A"], ["immunoreach", "B"], ["qualite-parfums-d-ambiance", "C"]]
    path = write(tmp_path, f"projets.{file_format}", spreadsheet(rows, file_format))

    with pytest.raises(CommandError, match="contient plus de 2 lignes ; la limite est de 2 lignes par import"):
        run_command("import_spreadsheet", str(path), model="projects")


def test_rows_at_the_limit_are_accepted_despite_padding(prefecture, settings):
    """LibreOffice pads a sheet with a million empty rows; they are not rows."""
    settings.SPREADSHEET_MAX_ROWS = 2
    content = ods_bytes([["slug", "titre"], ["iter", "A"], ["immunoreach", "B"]], trailing_empties=True)

    assert len(read_spreadsheet(content, "projets.ods")) == 2


@pytest.mark.parametrize("file_format", ["xlsx", "ods"])
def test_a_workbook_that_unpacks_to_a_huge_size_is_refused_before_reading(
    unchanged_database, no_temporary_files, tmp_path, monkeypatch, file_format
):
    """A valid workbook plus 200 MB of zeros, which deflate to a few hundred kB."""
    base = valid_xlsx() if file_format == "xlsx" else valid_ods()
    member = "xl/media/zeros.bin" if file_format == "xlsx" else "Pictures/zeros.bin"
    bomb = rezip(base, add={member: zeros(200)})
    assert len(bomb) < 1024 * 1024

    def must_not_unpack(*args, **kwargs):
        raise AssertionError("the archive was unpacked")

    from odf import opendocument

    monkeypatch.setattr(openpyxl, "load_workbook", must_not_unpack)
    monkeypatch.setattr(opendocument, "load", must_not_unpack)
    path = write(tmp_path, f"bombe.{file_format}", bomb)

    with pytest.raises(CommandError, match="se décompresse en un volume anormalement grand : il est refusé"):
        run_command("import_spreadsheet", str(path), model="projects")


def test_every_import_from_the_command_line_is_logged(prefecture, tmp_path):
    path = tmp_path / "projets.csv"
    path.write_bytes(write_spreadsheet(export_dataset(ProjectResource()), "csv"))
    call_command("import_spreadsheet", str(path), model="projects", stdout=io.StringIO())
    path.write_bytes(b"")
    with pytest.raises(CommandError):
        call_command("import_spreadsheet", str(path), model="projects", stdout=io.StringIO())
    applied, refused = ImportLog.objects.order_by("created_at")
    assert (applied.applied, applied.unchanged, applied.file_name, applied.user) == (True, 5, "projets.csv", None)
    assert (refused.applied, refused.errors) == (False, 1)


@pytest.mark.parametrize("dry_run", [True, False], ids=["aperçu", "import"])
def test_a_project_ending_before_it_starts_is_refused_in_french(prefecture, dry_run):
    report = import_rows(
        "projects", [["slug", "date_debut", "date_fin"], ["iter", "01/01/2020", "31/12/2019"]], dry_run=dry_run
    )
    assert report.errors == [(2, "(ligne)", "La date de fin doit suivre la date de début.")]
    assert Project.objects.get(slug="iter").start_date is None


# ---------------------------------------------------------------- what the preview shows


@pytest.mark.parametrize("dry_run", [True, False], ids=["aperçu", "import"])
def test_each_updated_row_lists_its_changed_columns_before_and_after_as_cells(prefecture, dry_run):
    report = import_rows("projects", [
        ["slug", "titre", "titre_en", "pole", "statut", "thematiques", "territoires", "date_debut", "ordre", "publie",
         "site_internet"],
        # Unchanged: the status (label), the territory, the order, "oui", the website, the empty English title.
        ["iter", "ITER modifié", "", "PASS", "non précisé", "fission;fusion", "13099", "12/07/2005", "1", "oui",
         "https://www.iter.org"],
        ["immunoreach", "Immunoreach", "", "PASS", "", "", "", "", "", "", ""],
    ], dry_run=dry_run)

    assert (report.updated, report.unchanged, report.errors) == (2, 0, [])
    assert report.changes == [
        ("ITER modifié", [("titre", "ITER", "ITER modifié"), ("pole", "Capenergies", "PASS"),
                          ("thematiques", "fusion", "fission;fusion"), ("date_debut", None, datetime.date(2005, 7, 12))]),
        ("Immunoreach", [("titre", "Effets allergisants potentiels des huiles essentielles — programme Immunoreach",
                          "Immunoreach"), ("thematiques", "parfums-aromes-senteurs-saveurs", ""), ("ordre", 1, 0)]),
    ]


def test_the_preview_of_poles_and_themes_shows_references_lists_and_partner_counts_as_cells(prefecture):
    poles = import_rows("poles", [
        ["sigle", "nom", "nb_partenaires", "successeur", "thematiques"],
        ["Capenergies", "Capenergies", 175, "PASS", "solaire"],
        ["PASS", "PASS", "", "", ""],
    ], dry_run=True)
    themes = import_rows("themes", [["slug", "parent", "ordre"], ["solaire", "", "4"]], dry_run=True)

    assert poles.changes == [
        ("Capenergies", [
            ("nom", "Énergies non génératrices de gaz à effet de serre", "Capenergies"), ("successeur", "", "PASS"),
            ("thematiques", "biomasse-et-hydrogene;energies-non-generatrices-de-gaz-a-effet-de-serre;eolien;fission;"
                            "fusion;hydraulique;maitrise-de-la-demande-d-energie;solaire", "solaire"),
            ("nb_partenaires", 160, 175)]),
        ("PASS", [("nom", "Parfums, arômes, senteurs et saveurs", "PASS"),
                  ("thematiques", "parfums-aromes-senteurs-saveurs", "")]),
    ]
    assert themes.changes == [("Solaire", [("parent", "energies-non-generatrices-de-gaz-a-effet-de-serre", ""),
                                           ("ordre", 2, 4)])]


def test_a_list_cell_keeps_the_links_it_still_names_and_each_version_records_the_whole_list(prefecture):
    iter_project, immunoreach = Project.objects.get(slug="iter"), Project.objects.get(slug="immunoreach")
    iter_project.themes.add(Theme.objects.get(slug="fission"))
    kept = Project.themes.through.objects.get(project=iter_project, theme__slug="fusion").pk
    immunoreach_themes = sorted(immunoreach.themes.values_list("slug", flat=True))

    report = import_rows("projects", [
        ["slug", "titre", "thematiques"],
        ["iter", "ITER", "fusion;solaire"],  # fission dropped, solaire added, fusion kept
        ["immunoreach", "Immunoreach", ";".join(immunoreach_themes)],  # the same list, a new title
    ])

    assert (report.updated, report.applied) == (2, True)
    assert sorted(iter_project.themes.values_list("slug", flat=True)) == ["fusion", "solaire"]
    assert Project.themes.through.objects.get(project=iter_project, theme__slug="fusion").pk == kept
    assert sorted(immunoreach.themes.values_list("slug", flat=True)) == immunoreach_themes
    assert sorted(link.theme.slug for link in iter_project.history.latest().themes.all()) == ["fusion", "solaire"]
    assert sorted(link.theme.slug for link in immunoreach.history.latest().themes.all()) == immunoreach_themes


@pytest.mark.parametrize("dry_run", [True, False], ids=["aperçu", "import"])
def test_an_update_is_checked_on_the_cells_it_changes_not_on_a_stored_value_it_leaves(prefecture, dry_run):
    # A value stored before the rules were strict (here by a raw update): editing another column
    # of the row is not refused for it; changing it to another wrong value is.
    Project.objects.filter(slug="iter").update(website="www.iter.org")
    kept = import_rows("projects", [["slug", "titre", "site_internet"], ["iter", "ITER, Cadarache", "www.iter.org"]],
                       dry_run=dry_run)
    changed = import_rows("projects", [["slug", "site_internet"], ["iter", "iter.org"]], dry_run=dry_run)

    assert (kept.updated, kept.errors) == (1, [])
    assert changed.errors == [(2, "site_internet", "« iter.org » : Saisissez une URL valide.")]
    assert Project.objects.get(slug="iter").title_fr == ("ITER" if dry_run else "ITER, Cadarache")


def test_a_new_record_gets_one_creation_version_with_its_lists(prefecture):
    import_rows("projects", [
        ["slug", "titre", "pole", "resume", "thematiques", "territoires"],
        ["centrale-solaire", "Centrale solaire", "Capenergies", "Une centrale.", "solaire;eolien", "04112"],
    ])

    (version,) = Project.objects.get(slug="centrale-solaire").history.all()
    assert (version.history_type, version.title_fr, version.title, version.pole.acronym, version.history_user) == (
        "+", "Centrale solaire", "Centrale solaire", "Capenergies", None)
    assert version.history_change_reason == "Import de tableur"
    assert sorted(link.theme.slug for link in version.themes.all()) == ["eolien", "solaire"]
    assert [link.territory.code for link in version.territories.all()] == ["04112"]


def test_an_emptied_list_cell_removes_every_link_and_the_version_lists_none(prefecture):
    immunoreach = Project.objects.get(slug="immunoreach")
    assert immunoreach.themes.exists()

    report = import_rows("projects", [["slug", "thematiques"], ["immunoreach", ""]])

    assert (report.updated, report.applied) == (1, True)
    assert not immunoreach.themes.exists()
    latest = immunoreach.history.latest()
    assert latest.history_type == "~" and list(latest.themes.all()) == []


@pytest.mark.parametrize("dry_run", [True, False], ids=["aperçu", "import"])
def test_an_end_date_before_the_stored_unchanged_start_is_refused_in_french(prefecture, dry_run):
    Project.objects.filter(slug="iter").update(start_date=datetime.date(2020, 1, 1))
    report = import_rows(
        "projects", [["slug", "date_debut", "date_fin"], ["iter", "01/01/2020", "31/12/2019"]], dry_run=dry_run
    )
    assert report.errors == [(2, "(ligne)", "La date de fin doit suivre la date de début.")]
    assert Project.objects.get(slug="iter").end_date is None


@pytest.mark.parametrize("model, rows, message", [
    ("themes", [["slug", "nom", "parent"], ["solaire", "Solaire", "solaire"]],
     "Une thématique ne peut pas être sa propre parente."),
    ("poles", [["sigle", "nom", "successeur"], ["PASS", "PASS", "PASS"]],
     "Un pôle ne peut pas être son propre successeur."),
])
@pytest.mark.parametrize("dry_run", [True, False], ids=["aperçu", "import"])
def test_a_record_named_as_its_own_parent_or_successor_is_refused_in_french(unchanged_database, model, rows, message,
                                                                             dry_run):
    report = import_rows(model, rows, dry_run=dry_run)

    assert not report.applied
    assert [(number, text) for number, _, text in report.errors] == [(2, message)]


@pytest.mark.parametrize("text, expected", [
    ("2005-07-12", datetime.date(2005, 7, 12)), ("2005-7-2", datetime.date(2005, 7, 2)),
    ("12/07/2005", datetime.date(2005, 7, 12)), ("2/7/2005", datetime.date(2005, 7, 2)),
    ("12/07/05", datetime.date(2005, 7, 12)), ("12-07-2005", datetime.date(2005, 7, 12)),
    ("12.07.2005", datetime.date(2005, 7, 12)), ("29/02/2004", datetime.date(2004, 2, 29)),
    ("29/02/2005", None), ("2005-02-30", None), ("00/07/2005", None), ("12/13/2005", None),
    ("20050712", None), ("١٢/07/2005", None),  # Arabic-Indic digits are not a date here
])
def test_a_date_cell_is_read_in_each_accepted_form_and_nothing_else(text, expected):
    if expected is None:
        with pytest.raises(ValueError, match="n'est pas une date valide"):
            DateWidget().clean(text)
    else:
        assert DateWidget().clean(text) == expected
