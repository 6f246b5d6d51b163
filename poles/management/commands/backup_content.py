"""Writes the portal's whole content into a folder: what restore_content reads
back (contenu.json), one spreadsheet per model for people, and a manifest."""

import datetime
import hashlib
import json
import tomllib
from pathlib import Path

from django.conf import settings
from django.core import serializers
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone, translation
from django.utils.text import slugify
from import_export.resources import modelresource_factory
from modeltranslation.translator import translator

from poles.models import KeyFigure, Page, Pole, PolicyItem, Project, Territory, Theme
from poles.resources import RESOURCES
from poles.spreadsheets import export_dataset, write_spreadsheet

# Changed only when a restore could no longer read older backups.
BACKUP_FORMAT = 1
CONTENT_FILE = "contenu.json"
MANIFEST_FILE = "manifeste.json"
# Models before the models that point to them, so that a restore reads the
# dump in order (forward references, e.g. a theme's parent, are also handled).
DUMP_ORDER = (Theme, Territory, Pole, Project, KeyFigure, PolicyItem, Page)


class ExactJSONEncoder(DjangoJSONEncoder):
    """Keeps the microseconds that Django's encoder drops from times, so that
    a restored record is the same to the last digit."""

    def default(self, o):
        if isinstance(o, datetime.datetime):
            return o.isoformat()
        return super().default(o)


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def applied_migrations():
    """The content's migrations applied to this database: a restore refuses a
    backup made by a newer version of the portal."""
    applied = MigrationRecorder(connection).applied_migrations()
    return sorted(name for app, name in applied if app == "poles")


def app_version():
    with open(settings.BASE_DIR / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["project"]["version"]


def dumped_fields(model):
    """Every field but the untranslated originals of translated fields: their
    value depends on the active language; the _fr and _en columns say it all."""
    translated = translator.get_options_for_model(model).fields
    return [
        field.name
        for field in [*model._meta.concrete_fields, *model._meta.many_to_many]
        if not field.primary_key and field.name not in translated
    ]


def spreadsheet_resource(model):
    """The editors' import columns where they exist; every field otherwise."""
    by_model = {resource._meta.model: resource for resource in RESOURCES.values()}
    return by_model.get(model) or modelresource_factory(model)


class Command(BaseCommand):
    help = (
        "Sauvegarde tout le contenu du portail dans un dossier : contenu.json (avec des clés "
        "naturelles, relu par restore_content), un tableur XLSX par type de contenu (colonnes de "
        "l'import) et manifeste.json (date, nombres d'éléments, version, migrations)."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="dossier à créer ou dossier vide")

    def handle(self, *args, directory, **options):
        folder = Path(directory)
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise CommandError(
                f"« {folder} » existe déjà et n'est pas un dossier vide : choisissez un nouveau dossier, "
                "pour ne jamais écraser une sauvegarde."
            )
        folder.mkdir(parents=True, exist_ok=True)
        try:
            manifest = self.write_content(folder)
        except DatabaseError as error:
            # The manifest is written last: without it, nothing here passes for a backup.
            for path in folder.iterdir():
                path.unlink()
            raise CommandError(f"La sauvegarde a échoué, aucun fichier n'est gardé : {error}") from None
        (folder / MANIFEST_FILE).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        total = sum(manifest["counts"].values())
        self.stdout.write(self.style.SUCCESS(f"Sauvegarde écrite dans {folder} : {total} élément(s)."))

    def write_content(self, folder):
        """contenu.json and the spreadsheets; returns the manifest's content."""
        # One snapshot: an editor saving meanwhile changes either all files or none
        # (PostgreSQL's default isolation would let each query see newer saves).
        snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
        with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
            if snapshot:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            counts, records = {}, []
            for model in DUMP_ORDER:
                queryset = model.objects.order_by("pk")
                records += serializers.serialize(
                    "python",
                    queryset,
                    fields=dumped_fields(model),
                    use_natural_foreign_keys=True,
                    use_natural_primary_keys=True,
                )
                counts[model._meta.label_lower] = queryset.count()
            (folder / CONTENT_FILE).write_text(
                json.dumps(records, cls=ExactJSONEncoder, ensure_ascii=False, indent=1), encoding="utf-8"
            )
            spreadsheets = {}
            for model in DUMP_ORDER:
                name = slugify(model._meta.verbose_name_plural) + ".xlsx"
                dataset = export_dataset(spreadsheet_resource(model)(), model.objects.order_by("pk"))
                (folder / name).write_bytes(write_spreadsheet(dataset, "xlsx"))
                spreadsheets[model._meta.label_lower] = name
            return {
                "format": BACKUP_FORMAT,
                "created_at": timezone.now().isoformat(),
                "app_version": app_version(),
                "database": connection.vendor,
                "migrations": applied_migrations(),
                "counts": counts,
                "spreadsheets": spreadsheets,
                "sha256": {CONTENT_FILE: sha256(folder / CONTENT_FILE)},
            }

