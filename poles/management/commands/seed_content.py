from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from poles.models import Page, Pole

FIXTURE = "prefecture"


class Command(BaseCommand):
    help = (
        "Charge le contenu de la préfecture (fixtures/prefecture.json) dans une base vide. "
        "Si la base contient déjà des pôles ou des pages, ne fait rien : le travail des "
        "éditeurs n'est jamais écrasé."
    )

    def handle(self, *args, **options):
        if Pole.objects.exists() or Page.objects.exists():
            self.stdout.write("Le contenu est déjà présent : rien n'a été chargé.")
            return
        with transaction.atomic():
            call_command("loaddata", FIXTURE, verbosity=0)
            # Fixtures are raw saves, which history skips: record the loaded
            # version so that an editor can always return to it.
            call_command("populate_history", auto=True, verbosity=0)
        self.stdout.write(self.style.SUCCESS("Contenu de la préfecture chargé."))
