"""The API's list filters. A pole, theme or territory that does not exist (or
is not published) gives an empty list, as a search would; a `type` or `statut`
outside its list of values is an error (400) naming the allowed values."""
from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import Q
from django_filters import rest_framework as filters

from ..models import Pole, Project, Territory, Theme


class KeyField(forms.CharField):
    """Any text, a NUL character included: like any key that names nothing, it
    gives an empty list, not an error (see KeyFilterSet)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]


class KeyFilter(filters.CharFilter):
    field_class = KeyField


class KeyFilterSet(filters.FilterSet):
    def is_valid(self):
        """An empty `type=` or `statut=` is not one of the values either (a form
        would take it as "no filter")."""
        valid = super().is_valid()
        for name, choice in self.filters.items():
            if isinstance(choice, filters.ChoiceFilter) and self.data.get(name) == "":
                self.form.add_error(name, choice.extra["error_messages"]["invalid_choice"] % {"value": ""})
        return valid and not self.form.errors

    def filter_queryset(self, queryset):
        # PostgreSQL refuses a NUL in a query, and no key contains one.
        if any(isinstance(value, str) and "\x00" in value for value in self.form.cleaned_data.values()):
            return queryset.none()
        return super().filter_queryset(queryset)


def published_poles(value):
    """The published pole with this acronym (any case) or slug."""
    return Pole.objects.published().filter(Q(acronym__iexact=value) | Q(slug=value))


def published_territories(value):
    """Published territories with this official code; "departement:93" names
    one kind when a code is shared (93 is a region and a département)."""
    kind, _, code = value.partition(":")
    if code:
        return Territory.objects.published().filter(kind=kind, code=code)
    return Territory.objects.published().filter(code=value)


def records_linked(queryset, relation, related):
    """The records of the queryset linked to one of `related` through the
    many-to-many `relation`, each once (a subquery, not a join that repeats rows)."""
    return queryset.filter(pk__in=queryset.model.objects.filter(**{f"{relation}__in": related}).values("pk"))


def choice_filter(field_name, choices, help_text):
    """A filter on one of a model field's values; a wrong value is refused
    with the list of the right ones."""
    allowed = ", ".join(f"« {value} »" for value, _label in choices)
    return filters.ChoiceFilter(
        field_name=field_name,
        choices=choices,
        help_text=help_text,
        error_messages={"invalid_choice": f"« %(value)s » n'est pas une valeur possible ; valeurs possibles : {allowed}."},
    )


POLE_HELP = "Sigle (PASS, Capenergies…) ou identifiant d'adresse d'un pôle."
THEME_HELP = "Identifiant d'adresse (slug) d'une thématique, par exemple « solaire »."
TERRITORY_HELP = (
    "Code officiel (INSEE/COG) d'un territoire : « 04 », « 04112 », « 93 »… "
    "Un code partagé par deux types de territoire se précise ainsi : « departement:93 »."
)


class ProjectFilter(KeyFilterSet):
    pole = KeyFilter(method="filter_pole", help_text=POLE_HELP)
    thematique = KeyFilter(method="filter_theme", help_text=THEME_HELP)
    territoire = KeyFilter(method="filter_territory", help_text=TERRITORY_HELP)
    type = choice_filter("kind", Project.Kind.choices, "Type de projet.")
    statut = choice_filter("status", Project.Status.choices, "Statut du projet.")

    class Meta:
        model = Project
        fields = []

    def filter_pole(self, queryset, name, value):
        return queryset.filter(pole__in=published_poles(value))

    def filter_theme(self, queryset, name, value):
        return records_linked(queryset, "themes", Theme.objects.published().filter(slug=value))

    def filter_territory(self, queryset, name, value):
        return records_linked(queryset, "territories", published_territories(value))


class PoleFilter(KeyFilterSet):
    thematique = KeyFilter(method="filter_theme", help_text=THEME_HELP)
    territoire = KeyFilter(
        method="filter_territory", help_text=TERRITORY_HELP + " Territoires couverts et villes centres."
    )
    statut = choice_filter("status", Pole.Status.choices, "Statut du pôle.")

    class Meta:
        model = Pole
        fields = []

    def filter_theme(self, queryset, name, value):
        return records_linked(queryset, "themes", Theme.objects.published().filter(slug=value))

    def filter_territory(self, queryset, name, value):
        territories = published_territories(value)
        covered = records_linked(queryset, "territories", territories)
        centred = records_linked(queryset, "centres", territories)
        return queryset.filter(Q(pk__in=covered.values("pk")) | Q(pk__in=centred.values("pk")))


class ThemeFilter(KeyFilterSet):
    pole = KeyFilter(method="filter_pole", help_text=POLE_HELP + " Les thématiques de ce pôle.")

    class Meta:
        model = Theme
        fields = []

    def filter_pole(self, queryset, name, value):
        return records_linked(queryset, "poles", published_poles(value))


class TerritoryFilter(KeyFilterSet):
    pole = KeyFilter(
        method="filter_pole", help_text=POLE_HELP + " Les territoires couverts par ce pôle et ses villes centres."
    )
    code = KeyFilter(method="filter_code", help_text=TERRITORY_HELP)
    type = choice_filter("kind", Territory.Kind.choices, "Type de territoire.")

    class Meta:
        model = Territory
        fields = []

    def filter_pole(self, queryset, name, value):
        poles = published_poles(value)
        covered = records_linked(queryset, "poles", poles)
        centred = records_linked(queryset, "centred_poles", poles)
        return queryset.filter(Q(pk__in=covered.values("pk")) | Q(pk__in=centred.values("pk")))

    def filter_code(self, queryset, name, value):
        return queryset.filter(pk__in=published_territories(value).values("pk"))
