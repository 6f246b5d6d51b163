"""Shared pytest fixtures: the prefecture's content, and small named records."""
import datetime
import io

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.utils import translation

from poles.models import KeyFigure, Page, Pole, Project, Territory, Theme

SITE_PAGE_SLUGS = [
    "accueil",
    "politique-nationale",
    "poles-du-departement",
    "accessibilite",
    "mentions-legales",
    "donnees-personnelles",
    "gestion-des-cookies",
]


@pytest.fixture(autouse=True)
def no_cached_pages():
    """Each test starts with an empty cache: a page cached from another test's content would show."""
    for cache in caches.all():
        cache.clear()


@pytest.fixture(autouse=True)
def french_after_each_test():
    """A request to an English page leaves English active in the thread (LocaleMiddleware
    never resets it): the next test would create its records in English."""
    yield
    translation.deactivate()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Tests on a transactional database run last, browser tests at the very end, after
    pytest-randomly's shuffle. Their database is flushed after each test, which deletes what
    data migrations created (the admin's groups): tests using `db` must not come after them.
    pytest-django orders tests that way, but pytest-randomly shuffles modules afterwards."""
    items.sort(key=lambda item: (
        item.get_closest_marker("browser") is not None,
        "transactional_db" in getattr(item, "fixturenames", ()),
    ))


@pytest.fixture
def prefecture(db):
    """The prefecture's whole content, as `make run` loads it."""
    call_command("seed_content", stdout=io.StringIO())


@pytest.fixture
def site_pages(db):
    """Every site page the URLs name, with a recognisable title."""
    return {
        slug: Page.objects.create(slug=slug, title=f"Titre {slug}", summary=f"Chapeau {slug}", body=f"Corps {slug}")
        for slug in SITE_PAGE_SLUGS
    }


@pytest.fixture
def theme(db):
    return Theme.objects.create(name="Solaire", slug="solaire", description="Énergie du soleil.")


@pytest.fixture
def territory(db):
    region = Territory.objects.create(name="Provence-Alpes-Côte d'Azur", slug="paca", kind="region", code="93")
    return Territory.objects.create(
        name="Manosque", slug="manosque", kind="commune", code="04112", parent=region
    )


@pytest.fixture
def pole(db, theme, territory):
    pole = Pole.objects.create(
        name="Énergies non génératrices de gaz à effet de serre",
        acronym="Capenergies",
        slug="capenergies",
        title="Le pôle Capenergies",
        summary="Un pôle de l'énergie.",
        body="Il inclut Manosque et sa région.",
        labelled_on=datetime.date(2005, 7, 12),
        source="Préfecture",
    )
    pole.themes.add(theme)
    pole.territories.add(territory)
    pole.centres.add(territory)
    KeyFigure.objects.create(pole=pole, value=160, label="partenaires")
    return pole


@pytest.fixture
def project(db, pole, theme, territory):
    project = Project.objects.create(
        title="ITER", slug="iter", pole=pole, kind="infrastructure", summary="Fusion nucléaire."
    )
    project.themes.add(theme)
    project.territories.add(territory)
    return project


@pytest.fixture
def drafts(pole):
    """A draft of each kind, none linked from a published record: a pole with its
    project, a published pole's draft project, a theme and a territory."""
    draft_pole = Pole.objects.create(name="Pôle brouillon", acronym="BROUILLON", slug="pole-brouillon",
                                     title="Brouillon", summary="Secret.", is_published=False)
    Project.objects.create(title="Projet d'un pôle brouillon", slug="projet-pole-brouillon", pole=draft_pole,
                           summary="Secret.")
    Project.objects.create(title="Projet brouillon", slug="projet-brouillon", pole=pole, summary="Secret.",
                           is_published=False)
    draft_theme = Theme.objects.create(name="Thème brouillon", slug="theme-brouillon", is_published=False)
    draft_territory = Territory.objects.create(name="Commune brouillon", slug="commune-brouillon", kind="commune",
                                               code="04999", is_published=False)
    return {"pole": draft_pole, "theme": draft_theme, "territory": draft_territory}


@pytest.fixture
def linked_drafts(drafts, pole, project, theme):
    """The drafts, now pointed to by published records: a theme's parent, a pole's and
    a project's theme and territory, a pole's successor; and the pole's partners figure
    unpublished."""
    Theme.objects.filter(pk=theme.pk).update(parent=drafts["theme"])
    for record in (pole, project):
        record.themes.add(drafts["theme"])
        record.territories.add(drafts["territory"])
    pole.successor = drafts["pole"]
    pole.save()
    KeyFigure.objects.filter(pole=pole, label="partenaires").update(is_published=False)
    return drafts


@pytest.fixture
def make_projects(pole, theme, territory):
    """Adds `count` published projects, each with a theme and a territory, to the pole."""

    def make(count):
        for number in range(count):
            project = Project.objects.create(
                title=f"Projet {number}", slug=f"projet-{number}", pole=pole, summary="Résumé."
            )
            project.themes.add(theme)
            project.territories.add(territory)

    return make
