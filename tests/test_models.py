"""Integrity lives in the database, not only in forms: what a form, a script or
an import cannot store, with the French message an editor reads."""
import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from poles.models import KeyFigure, Pole, Project, Territory, Theme


def refused_by_database(action):
    with pytest.raises(IntegrityError), transaction.atomic():
        action()


def test_slugs_are_unique(pole, theme):
    refused_by_database(lambda: Theme.objects.create(name="Autre", slug="solaire"))
    refused_by_database(lambda: Pole.objects.create(name="X", acronym="X", slug="capenergies", title="X", summary="S"))


def test_a_code_is_unique_per_territory_kind_only(territory):
    refused_by_database(lambda: Territory.objects.create(name="Doublon", slug="doublon", kind="commune", code="04112"))
    # A région and a département may share a code (93: PACA and Seine-Saint-Denis).
    Territory.objects.create(name="Seine-Saint-Denis", slug="seine-saint-denis", kind="departement", code="93")
    # Territories without a code are not constrained.
    Territory.objects.create(name="Zone A", slug="zone-a", kind="other")
    Territory.objects.create(name="Zone B", slug="zone-b", kind="other")


def test_key_figures_are_never_negative(pole):
    refused_by_database(lambda: KeyFigure.objects.filter(pole=pole).update(value=-1))


def test_a_pole_is_not_its_own_successor(pole):
    refused_by_database(lambda: Pole.objects.filter(pk=pole.pk).update(successor=pole.pk))
    pole.successor = pole
    with pytest.raises(ValidationError, match="propre successeur"):
        pole.full_clean()


def test_a_theme_and_a_territory_are_not_their_own_parent(theme, territory):
    refused_by_database(lambda: Theme.objects.filter(pk=theme.pk).update(parent=theme.pk))
    refused_by_database(lambda: Territory.objects.filter(pk=territory.pk).update(parent=territory.pk))


def test_a_project_ends_after_it_starts(project):
    project.start_date, project.end_date = datetime.date(2020, 1, 1), datetime.date(2019, 1, 1)
    with pytest.raises(ValidationError, match="La date de fin doit suivre la date de début"):
        project.full_clean()
    refused_by_database(project.save)


def test_queryset_rules_hide_a_draft_poles_projects_and_figures(pole, project):
    Pole.objects.filter(pk=pole.pk).update(is_published=False)
    assert not Project.objects.published().exists()
    assert not KeyFigure.objects.published().exists()
    assert Project.objects.count() == 1
