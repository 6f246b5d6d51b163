from django.core.management.base import BaseCommand, CommandError

from poles.db_down import DATABASE_DOWN_ERRORS
from poles.resources import RESOURCES
from poles.spreadsheets import FORMATS, export_dataset, write_spreadsheet


class Command(BaseCommand):
    help = "Exporte les pôles, thématiques, territoires ou projets dans un tableur, aux colonnes de l'import."

    def add_arguments(self, parser):
        parser.add_argument("--model", required=True, choices=sorted(RESOURCES))
        parser.add_argument("--format", required=True, choices=FORMATS, dest="file_format")
        parser.add_argument("-o", "--output", help="fichier à écrire (par défaut : la sortie standard)")

    def handle(self, *args, model, file_format, output, **options):
        try:
            content = write_spreadsheet(export_dataset(RESOURCES[model]()), file_format)
        except DATABASE_DOWN_ERRORS:
            raise CommandError("La base de données ne répond pas : rien n'a été exporté. "
                               "Réessayez quand elle sera de nouveau disponible.") from None
        if output:
            with open(output, "wb") as target:
                target.write(content)
            self.stderr.write(f"{output} écrit.")
        elif file_format == "csv":
            self.stdout.write(content.decode("utf-8"), ending="")
        else:
            # An XLSX or ODS file is binary: written to a terminal, it would be garbage.
            raise CommandError(f"Un fichier {file_format.upper()} ne s'écrit pas sur la sortie standard : "
                               "précisez le fichier avec -o FICHIER.")
