from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from poles.db_down import DATABASE_DOWN_ERRORS
from poles.resources import RESOURCES
from poles.spreadsheets import SpreadsheetError, read_spreadsheet, record_import, run_import


class Command(BaseCommand):
    help = (
        "Importe un tableur (CSV, XLSX ou ODS) de pôles, thématiques, territoires ou projets. "
        "Tout ou rien : à la moindre cellule invalide, rien n'est écrit. Ne pose jamais de question ; "
        "code de sortie 0 si l'import est appliqué (ou le serait, avec --dry-run), 1 sinon."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="chemin du fichier .csv, .xlsx ou .ods")
        parser.add_argument("--model", required=True, choices=sorted(RESOURCES), help="ce que contient le fichier")
        parser.add_argument("--dry-run", action="store_true", help="vérifie et compte sans rien écrire")

    def handle(self, *args, **options):
        try:
            self.import_file(**options)
        except DATABASE_DOWN_ERRORS:
            raise CommandError("La base de données ne répond pas : rien n'a été importé. "
                               "Réessayez quand elle sera de nouveau disponible.") from None

    def import_file(self, *, file, model, dry_run, **options):
        path = Path(file)
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            raise CommandError(f"Le fichier « {file} » n'existe pas.") from None
        except OSError:
            raise CommandError(f"Le fichier « {file} » ne peut pas être lu (droits, ou ce n'est pas un fichier).") from None
        try:
            dataset = read_spreadsheet(content, path.name)
            report = run_import(RESOURCES[model], dataset, dry_run=dry_run)
        except SpreadsheetError as error:
            if not dry_run:
                record_import(model, path.name)
            raise CommandError(str(error)) from None
        if not dry_run:
            record_import(model, path.name, report)

        self.stdout.write(
            f"{report.new} nouveau(x), {report.updated} modifié(s), {report.unchanged} inchangé(s), "
            f"{len(report.errors)} erreur(s)."
        )
        for number, column, message in report.errors:
            where = f"ligne {number}, " if number else ""
            self.stderr.write(f"{where}colonne {column} : {message}")
        if not report.is_valid:
            raise CommandError("Import refusé : aucune modification n'a été enregistrée.")
        if dry_run:
            self.stdout.write(self.style.SUCCESS("Vérification réussie (--dry-run) : rien n'a été écrit."))
        else:
            self.stdout.write(self.style.SUCCESS("Import appliqué."))
