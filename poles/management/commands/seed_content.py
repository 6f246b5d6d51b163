from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from poles.models import CONTENT_MODELS, Page, Pole

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
            # Fixtures are raw saves, which history records only in part (the
            # many-to-many changes). Give every record one complete first
            # version instead, so that an editor can always return to it.
            for model in CONTENT_MODELS:
                model.history.all().delete()
                for record in model.objects.all():
                    record._change_reason = "Contenu initial de la préfecture"
                    record.save()
        self.stdout.write(self.style.SUCCESS("Contenu de la préfecture chargé."))
