"""The Atom feed of new and changed poles and projects (/flux.atom)."""
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _, gettext_lazy

from .models import Pole, Project

FEED_SIZE = 30


class LatestChangesFeed(Feed):
    feed_type = Atom1Feed
    title = gettext_lazy("Pôles de compétitivité des Alpes-de-Haute-Provence : nouveautés")
    subtitle = gettext_lazy("Les pôles et projets ajoutés ou modifiés sur le portail de la préfecture.")
    author_name = "Préfecture des Alpes-de-Haute-Provence"

    def link(self):
        return reverse("poles:home")

    def feed_url(self):
        return reverse("poles:feed")

    def items(self):
        """The most recently changed published poles and projects, newest first."""
        poles = Pole.objects.published().order_by("-updated_at")[:FEED_SIZE]
        projects = Project.objects.published().select_related("pole").order_by("-updated_at")[:FEED_SIZE]
        records = sorted([*poles, *projects], key=lambda record: record.updated_at, reverse=True)
        return records[:FEED_SIZE]

    def item_title(self, record):
        if isinstance(record, Pole):
            return _("Pôle %(acronym)s — %(name)s") % {"acronym": record.acronym, "name": record.name}
        return _("Projet du pôle %(pole)s : %(title)s") % {"pole": record.pole.acronym, "title": record.title}

    def item_description(self, record):
        return record.summary

    def item_pubdate(self, record):
        return record.created_at

    def item_updateddate(self, record):
        return record.updated_at

    def item_categories(self, record):
        return [_("pôle") if isinstance(record, Pole) else _("projet")]

    def feed_copyright(self):
        return _("Licence Ouverte 2.0 (Etalab)")
