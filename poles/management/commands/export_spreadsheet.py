import sys

from django.core.management.base import BaseCommand

from poles.resources import RESOURCES
from poles.spreadsheets import FORMATS, export_dataset, write_spreadsheet


class Command(BaseCommand):
    help = "Exporte les pôles, thématiques, territoires ou projets dans un tableur, aux colonnes de l'import."

    def add_arguments(self, parser):
        parser.add_argument("--model", required=True, choices=sorted(RESOURCES))
        parser.add_argument("--format", required=True, choices=FORMATS, dest="file_format")
        parser.add_argument("-o", "--output", help="fichier à écrire (par défaut : la sortie standard)")

    def handle(self, *args, model, file_format, output, **options):
        content = write_spreadsheet(export_dataset(RESOURCES[model]()), file_format)
        if output:
            with open(output, "wb") as target:
                target.write(content)
            self.stderr.write(f"{output} écrit.")
        else:
            sys.stdout.buffer.write(content)
