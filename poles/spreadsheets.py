"""Reading and writing the editors' spreadsheets (CSV, XLSX, ODS), and the
all-or-nothing import that the admin and the command line share.

Files are read here rather than through django-import-export's formats:
its ODS import decodes the binary file as text and fails (4.4.x), its CSV
import knows one encoding and one delimiter, and its XLSX import reads the
active sheet rather than the first. Every way a file can be wrong ends in a
`SpreadsheetError` with one French sentence, before the database is touched.
"""
import csv
import datetime
import io
import zipfile
from dataclasses import dataclass, field

import tablib
from django.conf import settings
from django.db import transaction
from odf.namespaces import TABLENS, TEXTNS

FORMATS = ("csv", "xlsx", "ods")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}
# An XLSX or ODS file is a zip archive; one that unpacks to far more than its
# own size is a decompression bomb.
MAX_UNPACKED_RATIO = 100
OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted XLSX, or old XLS
# A cell that a spreadsheet program would run as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class SpreadsheetError(Exception):
    """A file that cannot be imported, with the French sentence that says why."""


def max_bytes():
    return getattr(settings, "SPREADSHEET_MAX_BYTES", 5 * 1024 * 1024)


def max_rows():
    return getattr(settings, "SPREADSHEET_MAX_ROWS", 20_000)


def format_of(filename):
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in FORMATS:
        raise SpreadsheetError(
            f"Le fichier « {filename} » n'est pas un tableur pris en charge : "
            "envoyez un fichier .csv, .xlsx ou .ods."
        )
    return extension


def read_spreadsheet(content, filename):
    """The first sheet of a CSV, XLSX or ODS file, as a dataset with its header row."""
    file_format = format_of(filename)
    if not content:
        raise SpreadsheetError(f"Le fichier « {filename} » est vide.")
    if len(content) > max_bytes():
        limit = max_bytes() / 1024 / 1024
        raise SpreadsheetError(f"Le fichier « {filename} » dépasse la taille maximale de {limit:g} Mo.")
    reader = {"csv": _read_csv, "xlsx": _read_xlsx, "ods": _read_ods}[file_format]
    rows = reader(content, filename)
    return _dataset(rows, filename)


def _dataset(rows, filename):
    rows = [row for row in rows if any(cell not in (None, "") for cell in row)]
    if not rows:
        raise SpreadsheetError(f"Le fichier « {filename} » ne contient aucune ligne.")
    headers = [str(cell).strip() if cell is not None else "" for cell in rows[0]]
    while headers and headers[-1] == "":
        headers.pop()
    if "" in headers:
        position = headers.index("") + 1
        raise SpreadsheetError(f"La colonne n° {position} de la première ligne n'a pas de titre.")
    duplicates = sorted({header for header in headers if headers.count(header) > 1})
    if duplicates:
        raise SpreadsheetError(f"Des colonnes portent le même titre : {', '.join(duplicates)}.")
    body = rows[1:]
    if len(body) > max_rows():
        # XLSX and ODS files are read only up to the limit: their size is not known.
        raise SpreadsheetError(
            f"Le fichier contient plus de {max_rows()} lignes ; la limite est de {max_rows()} lignes "
            "par import : découpez-le en plusieurs fichiers."
        )
    width = len(headers)
    dataset = tablib.Dataset(headers=headers)
    for row in body:
        extra = [cell for cell in row[width:] if cell not in (None, "")]
        if extra:
            raise SpreadsheetError("Une ligne contient des valeurs au-delà de la dernière colonne titrée.")
        dataset.append([restore(cell) for cell in (list(row) + [None] * width)[:width]])
    return dataset


def _read_csv(content, filename):
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on French Windows saves CSV in Windows-1252.
        text = content.decode("cp1252", errors="strict") if _is_cp1252(content) else None
    if text is None or "\x00" in text:
        raise SpreadsheetError(f"Le fichier « {filename} » n'est pas un fichier CSV lisible (texte attendu).")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") and ";" in first_line else ","
    # A cell may be as long as the whole file (Python's default stops at 128 KB).
    csv.field_size_limit(max(max_bytes(), csv.field_size_limit()))
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise SpreadsheetError(f"Le fichier CSV « {filename} » est mal formé : {error}.") from None


def _is_cp1252(content):
    try:
        content.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def _open_zip(content, filename, kind):
    if content.startswith(OLE2_SIGNATURE):
        raise SpreadsheetError(
            f"Le fichier « {filename} » est protégé par un mot de passe ou enregistré dans l'ancien "
            "format Excel (.xls) : enregistrez-le sans mot de passe au format .xlsx ou .ods."
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        unpacked = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile:
        raise SpreadsheetError(f"Le fichier « {filename} » n'est pas un classeur {kind} valide.") from None
    if unpacked > max(len(content) * MAX_UNPACKED_RATIO, 1024 * 1024) or unpacked > 20 * max_bytes():
        raise SpreadsheetError(
            f"Le fichier « {filename} » se décompresse en un volume anormalement grand : il est refusé."
        )
    return archive


def _read_xlsx(content, filename):
    import openpyxl

    archive = _open_zip(content, filename, "XLSX")
    try:
        # data_only: a formula cell gives the value the spreadsheet computed.
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a broken file
        raise SpreadsheetError(f"Le fichier « {filename} » n'est pas un classeur XLSX valide.") from None
    try:
        rows = _xlsx_rows(workbook)
    except Exception:  # noqa: BLE001 - read only, the sheet is parsed here: a broken one fails here
        raise SpreadsheetError(f"Le fichier « {filename} » n'est pas un classeur XLSX valide.") from None
    finally:
        workbook.close()
    if any(b"<f" in archive.read(name) for name in archive.namelist() if name.startswith("xl/worksheets/")):
        _check_formulas_computed(content, rows, filename)
    return rows


def _xlsx_rows(workbook):
    rows = []
    for row in workbook.worksheets[0].iter_rows(values_only=True):
        rows.append([_cell(value) for value in row])
        if len(rows) > max_rows() + 1:
            break
    return rows


def _check_formulas_computed(content, rows, filename):
    """A file written by a program rather than saved by a spreadsheet may hold
    formulas without their computed value: they would import as empty cells."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    try:
        formulas = _xlsx_rows(workbook)
    finally:
        workbook.close()
    for number, (values, cells) in enumerate(zip(rows, formulas), start=1):
        for position, (value, cell) in enumerate(zip(values, cells), start=1):
            if value is None and isinstance(cell, str) and cell.startswith("="):
                raise SpreadsheetError(
                    f"La cellule {get_column_letter(position)}{number} du fichier « {filename} » contient une "
                    "formule sans valeur calculée : ouvrez le fichier dans votre tableur, enregistrez-le, "
                    "puis importez-le de nouveau."
                )


def _read_ods(content, filename):
    from odf import opendocument, table, text

    _open_zip(content, filename, "ODS")
    try:
        document = opendocument.load(io.BytesIO(content))
    except Exception:  # noqa: BLE001 - odfpy raises many kinds for a broken file
        raise SpreadsheetError(f"Le fichier « {filename} » n'est pas un classeur ODS valide.") from None
    # A text document or a drawing renamed .ods has no spreadsheet body.
    body = getattr(document, "spreadsheet", None)
    sheets = body.getElementsByType(table.Table) if body is not None else []
    if not sheets:
        raise SpreadsheetError(f"Le fichier « {filename} » ne contient aucune feuille.")
    # A merged cell hides the cells it covers; they still take their column.
    cell_names = {(TABLENS, "table-cell"), (TABLENS, "covered-table-cell")}
    rows = []
    try:
        for row in sheets[0].getElementsByType(table.TableRow):
            cells = []
            for cell in row.childNodes:
                if getattr(cell, "qname", None) not in cell_names:
                    continue
                repeat = min(int(cell.getAttribute("numbercolumnsrepeated") or 1), 1000)
                cells.extend([_ods_value(cell, text)] * repeat)
            repeat = min(int(row.getAttribute("numberrowsrepeated") or 1), max_rows() + 2)
            rows.extend([cells] * repeat)
            if len(rows) > max_rows() + 1:
                break
    except (TypeError, ValueError):  # a number, date or repeat count that is not one
        raise SpreadsheetError(f"Le fichier « {filename} » n'est pas un classeur ODS valide.") from None
    return rows


def _ods_value(cell, text):
    """The value an ODS cell shows: formulas give their computed value."""
    value_type = cell.getAttribute("valuetype")
    if value_type in ("float", "percentage", "currency"):
        number = float(cell.getAttribute("value"))
        return int(number) if number.is_integer() else number
    if value_type == "date":
        return datetime.date.fromisoformat(cell.getAttribute("datevalue")[:10])
    if value_type == "boolean":
        return cell.getAttribute("booleanvalue") == "true"
    # The cell's own paragraphs only (a comment holds paragraphs too); teletype
    # gives back the spaces, tabs and line breaks ODS stores as elements.
    from odf import teletype

    paragraphs = [
        teletype.extractText(node) for node in cell.childNodes if getattr(node, "qname", None) == (TEXTNS, "p")
    ]
    return "\n".join(paragraphs) if paragraphs else None


def _cell(value):
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0, 0):
        return value.date()
    return value


# ---------------------------------------------------------------- export


def neutralise(value):
    """A text cell that would run as a formula gets a leading apostrophe;
    numbers, dates and empty cells stay what they are. Text that already
    starts with apostrophes before such a character gets one more, so that
    `restore` gives back exactly the original text."""
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restore(value):
    """The inverse of `neutralise`, applied to every imported cell: without it
    an exported file would import back with apostrophes added."""
    if isinstance(value, str) and value.startswith("'") and value.lstrip("'").startswith(FORMULA_STARTS):
        return value[1:]
    return value


def export_dataset(resource, queryset=None):
    dataset = resource.export(queryset)
    safe = tablib.Dataset(headers=dataset.headers)
    for row in dataset:
        safe.append([neutralise(value) for value in row])
    return safe


def write_spreadsheet(dataset, file_format):
    """The dataset as the bytes of a CSV (UTF-8 with BOM, `;`), XLSX or ODS file."""
    if file_format == "csv":
        out = io.StringIO(newline="")
        writer = csv.writer(out, delimiter=";")
        writer.writerow(dataset.headers)
        for row in dataset:
            writer.writerow(["" if value is None else value for value in row])
        return ("\ufeff" + out.getvalue()).encode("utf-8")
    return dataset.export(file_format)


# ---------------------------------------------------------------- import


@dataclass
class ImportReport:
    """What an import did, or would do, row by row."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)  # (row number, column, message)
    changes: list = field(default_factory=list)  # (record, [(column, before, after)])
    applied: bool = False

    @property
    def is_valid(self):
        return not self.errors


def check_columns(resource, dataset):
    expected = resource.column_names()
    keys = [resource.fields[name].column_name for name in resource._meta.import_id_fields]
    unknown = [header for header in dataset.headers if header not in expected]
    missing = [key for key in keys if key not in dataset.headers]
    problems = []
    if unknown:
        problems.append(f"colonne(s) inconnue(s) : {', '.join(unknown)}")
    if missing:
        problems.append(f"colonne(s) obligatoire(s) absente(s) : {', '.join(missing)}")
    if problems:
        raise SpreadsheetError("La première ligne ne correspond pas au modèle : " + " ; ".join(problems) + ".")
    seen = {}
    for number, row in enumerate(dataset.dict, start=2):
        key = tuple(str(row[column]).strip().lower() for column in keys)
        if key in seen:
            shown = " / ".join(str(row[column]) for column in keys)
            raise SpreadsheetError(f"La clé « {shown} » apparaît deux fois : lignes {seen[key]} et {number}.")
        seen[key] = number


def run_import(resource_class, dataset, *, dry_run, user=None):
    """Imports the dataset all or nothing: any invalid row rolls back every row."""
    resource = resource_class()
    check_columns(resource, dataset)
    with transaction.atomic():
        result = resource.import_data(
            dataset, dry_run=dry_run, use_transactions=True, rollback_on_validation_errors=True, user=user
        )
    return _report(resource, result, applied=not dry_run)


def record_import(model, file_name, report=None, user=None):
    """Adds the import to the log; without a report, the file itself was refused."""
    from .models import ImportLog

    return ImportLog.objects.create(
        user=user,
        model=model,
        file_name=file_name[:255],
        file_format=file_name.rsplit(".", 1)[-1].lower()[:10] if "." in file_name else "",
        new=report.new if report else 0,
        updated=report.updated if report else 0,
        unchanged=report.unchanged if report else 0,
        errors=len(report.errors) if report else 1,
        applied=bool(report and report.applied),
    )


def _report(resource, result, applied):
    report = ImportReport()
    columns = {}
    for field in resource.fields.values():
        if field.attribute:
            columns[field.attribute] = field.column_name
            # The untranslated model field mirrors the French one: same column.
            columns.setdefault(field.attribute.removesuffix("_fr"), field.column_name)
    for invalid in result.invalid_rows:
        cells = dict(zip(result.diff_headers, invalid.values))
        for attribute, messages in invalid.error_dict.items():
            column = columns.get(attribute, attribute if attribute != "__all__" else "(ligne)")
            for message in messages:
                message = str(message)
                # Django's own messages ("Saisissez une URL valide.") do not name the value; ours do.
                value = cells.get(column)
                if value not in (None, "", "---") and "«" not in message:
                    shown = str(value) if len(str(value)) <= 60 else str(value)[:60] + "…"
                    message = f"« {shown} » : {message}"
                error = (invalid.number + 1, column, message)
                if error not in report.errors:
                    report.errors.append(error)
    for number, errors in result.row_errors():
        for error in errors:
            report.errors.append((number + 1, "(ligne)", _plain(error.error)))
    for base_error in result.base_errors:
        report.errors.append((None, "(fichier)", _plain(base_error.error)))
    for row_result in result.rows:
        if getattr(row_result, "changed_columns", None):
            report.changes.append((row_result.object_repr, row_result.changed_columns))
    totals = result.totals
    report.new, report.updated, report.unchanged = totals["new"], totals["update"], totals["skip"]
    report.applied = applied and report.is_valid
    return report


def _plain(error):
    return str(error) or error.__class__.__name__
