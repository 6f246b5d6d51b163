from django.core.management.base import BaseCommand

from poles import search


class Command(BaseCommand):
    help = (
        "Reconstruit l'index de la recherche à partir du contenu publié. Inutile en temps "
        "normal (l'index suit chaque modification) : sert à réparer un index abîmé, ou "
        "après une modification faite directement dans la base."
    )

    def handle(self, *args, **options):
        count = search.rebuild()
        self.stdout.write(self.style.SUCCESS(f"Index de recherche reconstruit : {count} contenus publiés."))
