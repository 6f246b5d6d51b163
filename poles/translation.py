"""Content fields translated with django-modeltranslation: French is required,
English optional and falling back to French."""
from modeltranslation.translator import TranslationOptions, register

from .models import KeyFigure, Page, PolicyItem, Pole, Project, Territory, Theme


class FrenchRequired(TranslationOptions):
    """French fields keep the original's blank rule; English ones are optional."""

    required_languages = ("fr",)


@register(Theme)
class ThemeTranslation(FrenchRequired):
    fields = ("name", "description")


@register(Territory)
class TerritoryTranslation(FrenchRequired):
    fields = ("name", "description")


@register(Pole)
class PoleTranslation(FrenchRequired):
    fields = ("name", "title", "labelled_by", "summary", "body")


@register(KeyFigure)
class KeyFigureTranslation(FrenchRequired):
    fields = ("label", "period")


@register(Project)
class ProjectTranslation(FrenchRequired):
    fields = ("title", "summary", "body")


@register(PolicyItem)
class PolicyItemTranslation(FrenchRequired):
    fields = ("text",)


@register(Page)
class PageTranslation(FrenchRequired):
    fields = ("title", "summary", "body")
