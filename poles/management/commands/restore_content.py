"""Brings a backup_content folder back into an empty database, all or nothing."""

import io
import json
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation

from poles.models import CONTENT_MODELS

from .backup_content import BACKUP_FORMAT, CONTENT_FILE, MANIFEST_FILE, applied_migrations, sha256


class Command(BaseCommand):
    help = (
        "Restaure une sauvegarde faite par backup_content dans une base vide (après « migrate »). "
        "Tout ou rien : à la moindre erreur, la base reste telle qu'elle était. Chaque élément "
        "restauré reçoit une première version dans l'historique."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="dossier écrit par backup_content")

    def handle(self, *args, directory, **options):
        folder = Path(directory)
        manifest = self.read_manifest(folder)
        try:
            self.check_database(manifest)
            with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
                self.refuse_existing_content()
                restored = self.load(folder, manifest)
                self.write_history(manifest)
                # Derived data: the search index (cached pages are forgotten at each save).
                call_command("rebuild_search_index", stdout=io.StringIO())
        except DatabaseError as error:
            raise CommandError(f"La restauration a échoué, rien n'a été écrit : {error}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Sauvegarde du {manifest['created_at'][:10]} restaurée : {restored} élément(s)."
            )
        )

    def read_manifest(self, folder):
        if not folder.is_dir():
            raise CommandError(f"Le dossier « {folder} » n'existe pas.")
        try:
            manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
            content_sum = manifest["sha256"][CONTENT_FILE]
            if not {"format", "created_at", "migrations", "counts"} <= manifest.keys():
                raise KeyError
        except FileNotFoundError:
            raise CommandError(
                f"« {folder} » ne contient pas de {MANIFEST_FILE} : "
                "ce n'est pas un dossier écrit par backup_content."
            ) from None
        except (ValueError, KeyError, TypeError):
            raise CommandError(f"{MANIFEST_FILE} est illisible ou incomplet : sauvegarde abîmée.") from None
        if manifest["format"] != BACKUP_FORMAT:
            raise CommandError(
                f"Cette sauvegarde est au format {manifest['format']}, "
                f"ce portail lit le format {BACKUP_FORMAT} : "
                "restaurez-la avec la version du portail qui l'a écrite."
            )
        if not (folder / CONTENT_FILE).is_file():
            raise CommandError(f"{CONTENT_FILE} manque dans « {folder} » : sauvegarde incomplète.")
        if sha256(folder / CONTENT_FILE) != content_sum:
            raise CommandError(
                f"{CONTENT_FILE} a été modifié ou abîmé depuis la sauvegarde "
                "(empreinte SHA-256 différente) : rien n'a été restauré."
            )
        return manifest

    def check_database(self, manifest):
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("La base n'est pas à jour : lancez d'abord « python manage.py migrate ».")
        unknown = sorted(set(manifest["migrations"]) - set(applied_migrations()))
        if unknown:
            raise CommandError(
                "Cette sauvegarde vient d'une version plus récente du portail (migrations inconnues ici : "
                f"{', '.join(unknown)}) : mettez le portail à jour avant de la restaurer."
            )

    def refuse_existing_content(self):
        present = [
            f"{count} {model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural}"
            for model in CONTENT_MODELS
            if (count := model.objects.count())
        ]
        # Restored key figures and policy items keep their ids: old history
        # under the same ids would read as theirs.
        if versions := sum(model.history.count() for model in CONTENT_MODELS):
            present.append(f"{versions} version{'s' if versions > 1 else ''} dans l'historique")
        if present:
            raise CommandError(
                f"La base n'est pas vide ({', '.join(present)}) : "
                "la restauration ne remplace jamais du contenu. "
                "Restaurez dans une base neuve (créée puis « migrate »)."
            )

    def load(self, folder, manifest):
        try:
            call_command("loaddata", str(folder / CONTENT_FILE), verbosity=0)
        except CommandError:
            raise
        except Exception as error:  # loaddata lets through whatever a broken record raises
            raise CommandError(
                f"{CONTENT_FILE} ne peut pas être restauré, rien n'a été écrit : {error}"
            ) from None
        found = {model._meta.label_lower: model.objects.count() for model in CONTENT_MODELS}
        if found != manifest["counts"]:
            raise CommandError(
                f"Les nombres d'éléments restaurés ({found}) diffèrent de ceux du manifeste "
                f"({manifest['counts']}) : rien n'a été restauré."
            )
        return sum(found.values())

    def write_history(self, manifest):
        """One complete first version per record, as seed_content gives, keeping
        the date each record was last changed before the backup."""
        reason = f"Restauration de la sauvegarde du {manifest['created_at'][:10]}"
        for model in CONTENT_MODELS:
            # Loading wrote partial versions (relations only): replaced by complete ones.
            model.history.all().delete()
            for record in model.objects.all():
                updated_at = record.updated_at
                record._change_reason = reason
                record.save()
                model.objects.filter(pk=record.pk).update(updated_at=updated_at)
                model.history.filter(id=record.pk).update(updated_at=updated_at)
