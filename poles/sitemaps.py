"""sitemap.xml: every published page with its last change, for search engines,
in French and in English (/en/…), each with its other-language alternate."""
from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.urls import reverse

from .models import Page, Pole, Project, Territory, Theme


class TranslatedSitemap(Sitemap):
    """Each page once per language, with hreflang alternates (x-default: French)."""

    i18n = True
    alternates = True
    x_default = True


class ContentSitemap(TranslatedSitemap):
    """The published records of one model, each at its own page."""

    model = None

    def items(self):
        return self.model.objects.published().order_by("pk")

    def lastmod(self, record):
        return record.updated_at


class PoleSitemap(ContentSitemap):
    model = Pole
    priority = 0.9


class ProjectSitemap(ContentSitemap):
    model = Project
    priority = 0.6


class ThemeSitemap(ContentSitemap):
    model = Theme
    priority = 0.5


class TerritorySitemap(ContentSitemap):
    model = Territory
    priority = 0.5


class SitePageSitemap(ContentSitemap):
    """The site's own pages shown at their own address (national policy, legal
    pages); the home page and the poles' list are listed with the lists."""

    model = Page
    priority = 0.5
    LISTED_ELSEWHERE = {"accueil", "poles-du-departement"}

    def items(self):
        slugs = set(Page.URL_NAMES) - self.LISTED_ELSEWHERE
        return super().items().filter(slug__in=slugs)


class ListSitemap(TranslatedSitemap):
    """Pages made of lists of records: changed when one of the records they show changes."""

    priority = 0.8
    LISTS = {
        "poles:home": (Page, Pole, Theme, Territory),
        "poles:pole-list": (Page, Pole),
        "poles:theme-list": (Theme,),
        "poles:territory-list": (Territory,),
        "poles:project-list": (Project,),
        "poles:site-map": (Page, Pole, Project, Theme, Territory),
        "poles:open-data": (Pole, Project, Theme, Territory),
        "poles:api-doc": (),
    }

    def items(self):
        # The latest change of each model, read once for every list (one query per model).
        self.last_changes = {
            model: model.objects.published().aggregate(last=Max("updated_at"))["last"]
            for model in (Page, Pole, Project, Theme, Territory)
        }
        return list(self.LISTS)

    def location(self, url_name):
        return reverse(url_name)

    def lastmod(self, url_name):
        return max(filter(None, (self.last_changes[model] for model in self.LISTS[url_name])), default=None)


SITEMAPS = {
    "pages": SitePageSitemap,
    "listes": ListSitemap,
    "poles": PoleSitemap,
    "projets": ProjectSitemap,
    "thematiques": ThemeSitemap,
    "territoires": TerritorySitemap,
}
