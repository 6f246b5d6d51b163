"""Spreadsheet columns for poles, themes, territories and projects: one
definition, used by the admin, the command line and the open-data exports.

Rows are matched on stable keys (a pole's acronym, a slug, a territory's
official code), never on display names. Every cell is read strictly: an
unknown reference, a word in a number column or an impossible date is an
error on that row, in French, naming the value — never a silent drop.
"""
import copy
import datetime
import re
from functools import cached_property

from django.apps import apps
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import connections, router
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils import translation
from import_export import fields, resources, widgets
from import_export.instance_loaders import ModelInstanceLoader

from . import cache
from . import search
from .models import KeyFigure, Pole, Project, Territory, Theme

LIST_SEPARATOR = ";"
TRUE_WORDS = {"oui", "o", "vrai", "1", "true", "x"}
FALSE_WORDS = {"non", "n", "faux", "0", "false"}
# The key figure a pole's `nb_partenaires` column reads and writes.
PARTNERS_LABEL = "partenaires"


def _text(value):
    """A cell as stripped text; numbers typed in a text column keep no ".0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


class TextWidget(widgets.Widget):
    description = "texte"

    """Text where an empty cell means empty text (the stock widget gives None,
    which a NOT NULL text column refuses), or "no translation" for an English
    column, which is nullable."""

    def __init__(self, null=False):
        super().__init__()
        self.null = null

    def clean(self, value, row=None, **kwargs):
        text = _text(value)
        return None if self.null and text == "" else text

    def render(self, value, obj=None, **kwargs):
        return value or ""


class CountWidget(widgets.Widget):
    """A whole number, zero or more."""

    description = "nombre entier positif ou nul"

    def clean(self, value, row=None, **kwargs):
        text = _text(value).replace("\u202f", "").replace("\xa0", "").replace(" ", "")
        if text == "":
            return None
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            raise ValueError(f"« {value} » n'est pas un nombre entier.") from None
        if not number.is_integer():
            raise ValueError(f"« {value} » n'est pas un nombre entier.")
        if number < 0:
            raise ValueError(f"« {value} » est négatif : un nombre positif ou nul est attendu.")
        return int(number)

    def render(self, value, obj=None, **kwargs):
        return value


class DateWidget(widgets.Widget):
    """A real spreadsheet date, an ISO date (2005-07-12) or a French one (12/07/2005)."""

    FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y")
    # The first two, read without strptime (several times slower); anything else goes to it.
    USUAL = re.compile(r"(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
                       r"|(?P<d2>[0-9]{1,2})/(?P<m2>[0-9]{1,2})/(?P<y2>[0-9]{4})")
    description = "date du tableur, ou JJ/MM/AAAA, ou AAAA-MM-JJ"

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        text = _text(value)
        if text == "":
            return None
        match = self.USUAL.fullmatch(text)
        if match:
            parts = match.group("y", "m", "d") if match["y"] else match.group("y2", "m2", "d2")
            try:
                return datetime.date(*map(int, parts))
            except ValueError:
                pass  # e.g. 31/02/2005: strptime refuses it too
        for date_format in self.FORMATS:
            try:
                return datetime.datetime.strptime(text, date_format).date()
            except ValueError:
                continue
        raise ValueError(f"« {value} » n'est pas une date valide (attendu : JJ/MM/AAAA ou AAAA-MM-JJ).")

    def render(self, value, obj=None, **kwargs):
        return value


class YesNoWidget(widgets.Widget):
    description = "« oui » ou « non »"

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, bool):
            return value
        text = _text(value).lower()
        if text == "":
            return None
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        raise ValueError(f"« {value} » : répondez « oui » ou « non ».")

    def render(self, value, obj=None, **kwargs):
        return "oui" if value else "non"


class ChoiceWidget(widgets.Widget):
    """One of a model field's choices, written as its French label (or its code)."""

    def __init__(self, choices):
        super().__init__()
        # French whatever the request's language: a file downloaded from an English
        # page must read back in (the model's labels are translated for the pages).
        with translation.override(settings.LANGUAGE_CODE):
            self.labels = {code: str(label) for code, label in choices}
        self.description = "une valeur parmi " + ", ".join(f"« {label} »" for label in self.labels.values())
        self.by_text = {str(label).lower(): code for code, label in self.labels.items()}
        self.by_text.update({code.lower(): code for code in self.labels})

    def clean(self, value, row=None, **kwargs):
        text = _text(value).lower()
        if text == "":
            return None
        try:
            return self.by_text[text]
        except KeyError:
            allowed = ", ".join(f"« {label} »" for label in self.labels.values())
            raise ValueError(f"« {value} » n'est pas une valeur possible ({allowed}).") from None

    def render(self, value, obj=None, **kwargs):
        return str(self.labels.get(value, value or ""))


class KeyLookup:
    """Finds records by their key, from one query per import rather than one per cell."""

    def __init__(self, model, key, describe):
        self.model, self.key, self.describe = model, key, describe
        self._records = None
        # True when the file imports this model: a row may name one created further down.
        self.in_file = False

    def records(self):
        if self._records is None:
            self._records, self._by_pk = {}, {}
            for record in self.model.objects.all():
                self._records.setdefault(self.key(record).lower(), []).append(record)
                self._by_pk[record.pk] = record
        return self._records

    def get(self, pk):
        """The record with this primary key (a relation stored as an id)."""
        self.records()
        if pk not in self._by_pk:
            self._by_pk[pk] = self.model.objects.get(pk=pk)
        return self._by_pk[pk]

    def find(self, text):
        matches = self.records().get(text.lower(), [])
        if not matches:
            hint = " (s'il est créé par ce fichier, placez sa ligne plus haut)" if self.in_file else ""
            raise ValueError(f"« {text} » : {self.describe} inconnu{hint}.")
        return matches[0]

    def remember(self, record):
        """A record this import has just written: the rows below may refer to it."""
        if isinstance(record, self.model):
            key = self.key(record).lower()
            others = [known for known in self.records().get(key, []) if known.pk != record.pk]
            self.records()[key] = [*others, record]
            self._by_pk[record.pk] = record

    def label(self, record):
        return self.key(record)


class TerritoryLookup(KeyLookup):
    """Territories by official code. A region and a département may share a code
    (93 is both Provence-Alpes-Côte d'Azur and Seine-Saint-Denis): such a code
    is written with its type, "departement:93"."""

    def __init__(self):
        super().__init__(Territory, lambda territory: territory.code, "territoire (code INSEE)")

    def find(self, text):
        kind, _, code = text.partition(":")
        if code:
            for record in self.records().get(code.strip().lower(), []):
                if record.kind == kind.strip().lower():
                    return record
            raise ValueError(f"« {text} » : aucun territoire de ce type avec ce code.")
        matches = self.records().get(text.lower(), [])
        if len(matches) > 1:
            names = ", ".join(f"{match} ({match.get_kind_display()})" for match in matches)
            raise ValueError(f"« {text} » désigne plusieurs territoires ({names}) : écrivez par exemple « {matches[0].kind}:{text} ».")
        return super().find(text)

    def label(self, record):
        """The shortest reference that designates this territory alone."""
        if len(self.records().get(record.code.lower(), [])) > 1:
            return f"{record.kind}:{record.code}"
        return record.code


LOOKUPS = {
    "pole": lambda: KeyLookup(Pole, lambda pole: pole.acronym, "pôle (sigle)"),
    "theme": lambda: KeyLookup(Theme, lambda theme: theme.slug, "thématique (identifiant)"),
    "territory": TerritoryLookup,
}


class ReferenceWidget(widgets.Widget):
    """A foreign key given by the related record's key; the resource gives each
    import its own lookup, so that every import reads the database anew."""

    DESCRIPTIONS = {
        "pole": "sigle d'un pôle existant",
        "theme": "identifiant (slug) d'une thématique existante",
        "territory": "code officiel INSEE d'un territoire existant (« departement:93 » si le code est ambigu)",
    }

    def __init__(self, kind):
        widgets.Widget.__init__(self)
        self.kind = kind
        self.lookup = None
        self.description = self.DESCRIPTIONS[kind]

    def clean(self, value, row=None, **kwargs):
        text = _text(value)
        return self.lookup.find(text) if text else None

    def render(self, value, obj=None, **kwargs):
        return self.lookup.label(value) if value else ""


class ReferenceListWidget(ReferenceWidget, widgets.ManyToManyWidget):
    """A many-to-many relation given as keys separated by ";". Every key must
    exist: an unknown one is an error naming it, never silently dropped (the
    library's stock widget drops it). A ManyToManyWidget only so that the
    library saves it after the row's record."""

    DESCRIPTIONS = {
        "pole": "sigles de pôles existants, séparés par « ; »",
        "theme": "identifiants (slugs) de thématiques existantes, séparés par « ; »",
        "territory": "codes officiels INSEE de territoires existants, séparés par « ; »",
    }

    def clean(self, value, row=None, **kwargs):
        found, errors = [], []
        for key in filter(None, (key.strip() for key in _text(value).split(LIST_SEPARATOR))):
            try:
                found.append(self.lookup.find(key))
            except ValueError as error:
                errors.append(str(error))
        if errors:
            raise ValueError(" ".join(errors))
        return found

    def render(self, value, obj=None, **kwargs):
        if value is None:  # a record not saved yet has no relations
            return ""
        return LIST_SEPARATOR.join(sorted(self.lookup.label(record) for record in value.all()))


class KeyInstanceLoader(ModelInstanceLoader):
    """Finds the row's record by its key, ignoring case as the references and
    the duplicate check do: "capenergies" updates Capenergies, never a twin."""

    def get_instance(self, row):
        params = {}
        for name in self.resource.get_import_id_fields():
            field = self.resource.fields[name]
            value = field.clean(row)
            params[f"{field.attribute}__iexact" if isinstance(value, str) else field.attribute] = value
        return self.get_queryset().filter(**params).first()


class CachedKeyInstanceLoader(ModelInstanceLoader):
    """The same, for a single key, with every record the file names loaded in
    one query rather than one per row, and their many-to-many relations as ids
    (resource.links, {field: {record id: [(link id, related id)]}}), one query
    a relation: cheaper, and far smaller, than prefetched records."""

    def __init__(self, resource, dataset=None):
        super().__init__(resource, dataset)
        self.field = resource.fields[resource.get_import_id_fields()[0]]
        keys = {str(self.field.clean(row)).lower() for row in dataset.dict} if dataset else set()
        queryset = self.get_queryset().select_related(None).prefetch_related(None).order_by()
        records = queryset.annotate(_key=Lower(self.field.attribute)).filter(_key__in=keys)
        self.records = {record._key: record for record in records}
        resource.links = current_links(resource._meta.model, [record.pk for record in self.records.values()])

    def get_instance(self, row):
        return self.records.get(str(self.field.clean(row)).lower())


def current_links(model, pks):
    """The model's many-to-many links of these records, {field: {record id: [(link id, related id)]}}."""
    links = {}
    for field in model._meta.many_to_many:
        source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
        links[field.name] = {}
        pairs = field.remote_field.through.objects.filter(**{f"{source}__in": pks})
        for link_id, record_id, related_id in pairs.values_list("id", f"{source}_id", f"{target}_id"):
            links[field.name].setdefault(record_id, []).append((link_id, related_id))
    return links


def insert_rows(connection, table, columns, rows):
    """Plain INSERTs of values ready for the database, sent together."""
    if not rows:
        return
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(table), ", ".join(quote(column) for column in columns), ", ".join(["%s"] * len(columns)))
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def column(attribute, name, widget=None, default=fields.NOT_PROVIDED):
    """A column; `default` is what an empty cell means (the model's default)."""
    if widget is None:
        widget = TextWidget(null=attribute.endswith("_en"))
    return fields.Field(attribute=attribute, column_name=name, widget=widget, default=default)


class PortalResource(resources.ModelResource):
    """Columns and rules every content spreadsheet shares.

    An import is all or nothing: any invalid row rolls back the whole file
    (`rollback_on_validation_errors` is passed by whoever imports). A row
    identical to the database is reported unchanged and not written.
    """

    publie = column("is_published", "publie", YesNoWidget(), default=True)
    source = column("source", "source")
    source_url = column("source_url", "source_url")
    verifie_le = column("verified_on", "verifie_le", DateWidget())

    class Meta:
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        use_transactions = True
        # Unchanged rows are found by comparing the row's cells with the record's
        # (skip_row), rather than by the library's diff of every field, which
        # reads each relation of each row again.
        skip_diff = True
        store_instance = True
        instance_loader_class = KeyInstanceLoader

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._lookups = {}
        for field in self.fields.values():
            if isinstance(field.widget, ReferenceWidget):
                kind = field.widget.kind
                field.widget.lookup = self._lookups.setdefault(kind, LOOKUPS[kind]())
                field.widget.lookup.in_file = field.widget.lookup.model is self._meta.model
        # The library asks for the import fields several times a row: one list.
        self._import_fields = super().get_import_fields()
        self._many_to_many = [field for field in self._import_fields
                              if isinstance(field.widget, widgets.ManyToManyWidget)]
        self._texts = [field for field in self._import_fields if isinstance(field.widget, TextWidget)]
        self._scalars = [field for field in self._import_fields
                         if field.attribute and not field.readonly and field not in self._many_to_many]
        self._kinds = {field.column_name: self._kind(field) for field in self._import_fields}
        # Many-to-many links as ids, {field: {record id: [(link id, related id)]}}, when
        # the instance loader read them all at once (CachedKeyInstanceLoader).
        self.links = None

    def _kind(self, field):
        """How a column's value is compared with the record's: "m2m" as the sorted
        ids of the related records, "fk" as the related id, "plain" as the
        attribute's value, and "cell" as the exported cell (any other column)."""
        if isinstance(field.widget, widgets.ManyToManyWidget):
            return "m2m"
        if getattr(self, f"dehydrate_{self.get_field_name(field)}", None) or not field.attribute:
            return "cell"
        try:
            model_field = self._meta.model._meta.get_field(field.attribute)
        except FieldDoesNotExist:
            return "cell"
        if isinstance(field.widget, ReferenceWidget) and model_field.many_to_one:
            return "fk"
        own = (TextWidget, CountWidget, DateWidget, YesNoWidget, ChoiceWidget)
        return "plain" if isinstance(field.widget, own) and model_field.concrete else "cell"

    def get_import_fields(self):
        return self._import_fields

    def after_save_instance(self, instance, row, **kwargs):
        """A theme, territory or pole created by a row can be the parent or
        successor named by a row below it."""
        super().after_save_instance(instance, row, **kwargs)
        for lookup in self._lookups.values():
            lookup.remember(instance)

    def import_instance(self, instance, row, **kwargs):
        """Also checks the many-to-many cells now, with the others, so that an
        unknown key is a field error of its row (the library reads them only
        when saving, after validation)."""
        errors = {}
        # A text may be stored empty as "" (the admin) or None (a record created
        # without it); an empty cell is either: keep the stored one, not a change.
        blank = {
            field.attribute: getattr(instance, field.attribute, None)
            for field in self._texts
            if getattr(instance, field.attribute, None) in ("", None)
        }
        # The key found the record whatever its case (KeyInstanceLoader): it keeps its own.
        keys = {
            field.attribute: getattr(instance, field.attribute)
            for field in (self.fields[name] for name in self.get_import_id_fields())
            if instance.pk and isinstance(getattr(instance, field.attribute), str)
        }
        # The library's import_instance, without its per-cell calls (several a cell).
        for field in self._scalars:
            if field.column_name in row:
                try:
                    setattr(instance, field.attribute, field.clean(row))
                except ValueError as error:
                    errors[field.attribute] = [ValidationError(str(error), code="invalid")]
        instance.__dict__.update(keys)
        for attribute, stored in blank.items():
            if getattr(instance, attribute) in ("", None):
                setattr(instance, attribute, stored)
        for field in self._many_to_many:
            if field.column_name in row:
                try:
                    self._related(field, row)
                except ValueError as error:
                    errors[field.attribute] = [ValidationError(str(error))]
        if errors:
            raise ValidationError(errors)

    def _related(self, field, row):
        """The records a many-to-many cell names, read once a row."""
        if field.attribute not in self._row_relations:
            self._row_relations[field.attribute] = field.clean(row)
        return self._row_relations[field.attribute]

    def after_init_instance(self, instance, new, row, **kwargs):
        self._row_relations = {}
        self._before = None if new else self._values(instance, row)
        self._changes = []
        self._unchanged = ()

    def skip_row(self, instance, original, row, import_validation_errors=None):
        """A row is unchanged when each of its cells equals the record's, as an
        export writes it; the differences are kept for the preview. Values are
        compared first, and only those that differ are written as cells."""
        if import_validation_errors or self._before is None:
            return False
        after = self._values(instance, row, imported=True)
        self._changes, differing = [], set()
        for column, value in after.items():
            before = self._before[column]
            if value == before:
                continue
            differing.add(self.fields[self._column_fields[column]].attribute)
            cells = self._cell(column, before), self._cell(column, value)
            if cells[0] != cells[1]:
                self._changes.append((column, *cells))
        # The fields the row leaves as they are (those of the other columns too):
        # validate_instance need not check them again.
        self._unchanged = [name for name in self._field_names if name not in differing]
        return not self._changes

    @cached_property
    def _column_fields(self):
        return {field.column_name: name for name, field in self.fields.items()}

    @cached_property
    def _field_names(self):
        return [field.name for field in self._meta.model._meta.concrete_fields]

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        """The library's, except that an updated row's fields that keep their
        stored value are not checked again. The model's constraints still are,
        whichever of their fields changed."""
        errors = dict(import_validation_errors or {})
        if self._meta.clean_model_instances:
            try:
                instance.full_clean(exclude=[*errors, *self._unchanged], validate_unique=validate_unique,
                                    validate_constraints=False)
            except ValidationError as error:
                errors = error.update_error_dict(errors)
            try:
                instance.validate_constraints(exclude={name for name in errors if name != NON_FIELD_ERRORS})
            except ValidationError as error:
                errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def save_m2m(self, instance, row, **kwargs):
        """The library's, with each cell read once a row (see _related)."""
        if not self._is_using_transactions(kwargs) and self._is_dry_run(kwargs):
            return
        for field in self._many_to_many:
            if field.column_name in row:
                getattr(instance, field.attribute).set(self._related(field, row))

    def after_import_row(self, row, row_result, **kwargs):
        """Notes, for the preview, each changed column of an updated row: (column, before, after)."""
        updated = row_result.import_type == row_result.IMPORT_TYPE_UPDATE
        row_result.changed_columns = self._changes if updated else []

    def _values(self, instance, row, imported=False):
        """The values this row's columns hold for the record, compared to find
        unchanged rows: equal values always make equal cells (see _kind). For the
        imported version, relations come from the row: they are saved only
        after this comparison."""
        values = {}
        for field in self._import_fields:
            column = field.column_name
            if column not in row:
                continue
            kind = self._kinds[column]
            if kind == "m2m":
                if imported:
                    values[column] = tuple(sorted(record.pk for record in self._related(field, row)))
                else:
                    values[column] = self._related_ids(instance, field)
            elif kind == "fk":
                values[column] = getattr(instance, f"{field.attribute}_id")
            elif kind == "plain":
                values[column] = getattr(instance, field.attribute)
            else:
                values[column] = self.export_field(field, instance)
        return values

    def _related_ids(self, instance, field):
        if self.links is not None:
            return tuple(sorted(related for _, related in self.links[field.attribute].get(instance.pk, ())))
        return tuple(sorted(getattr(instance, field.attribute).values_list("pk", flat=True)))

    def _cell(self, column, value):
        """A value of _values as an export writes its cell."""
        kind, field = self._kinds[column], self.fields[self._column_fields[column]]
        if kind == "m2m":
            lookup = field.widget.lookup
            return LIST_SEPARATOR.join(sorted(lookup.label(lookup.get(pk)) for pk in value))
        if kind == "fk":
            return field.widget.render(field.widget.lookup.get(value) if value is not None else None)
        if kind == "plain":
            return field.widget.render(value)
        return value

    @classmethod
    def column_names(cls):
        return [field.column_name for field in cls().get_export_fields()]


class ThemeResource(PortalResource):
    slug = column("slug", "slug")
    nom = column("name_fr", "nom")
    nom_en = column("name_en", "nom_en")
    parent = column("parent", "parent", ReferenceWidget("theme"))
    description = column("description_fr", "description")
    description_en = column("description_en", "description_en")
    ordre = column("order", "ordre", CountWidget(), default=0)

    class Meta(PortalResource.Meta):
        model = Theme
        import_id_fields = ["slug"]
        fields = ["slug", "nom", "nom_en", "parent", "description", "description_en", "ordre",
                  "publie", "source", "source_url", "verifie_le"]


class TerritoryResource(PortalResource):
    type = column("kind", "type", ChoiceWidget(Territory.Kind.choices))
    code = column("code", "code")
    nom = column("name_fr", "nom")
    nom_en = column("name_en", "nom_en")
    slug = column("slug", "slug")
    parent = column("parent", "parent", ReferenceWidget("territory"))
    ancien = column("is_historical", "ancien_territoire", YesNoWidget(), default=False)
    description = column("description_fr", "description")
    description_en = column("description_en", "description_en")

    class Meta(PortalResource.Meta):
        model = Territory
        import_id_fields = ["type", "code"]
        fields = ["type", "code", "nom", "nom_en", "slug", "parent", "ancien", "description", "description_en",
                  "publie", "source", "source_url", "verifie_le"]


class PoleResource(PortalResource):
    sigle = column("acronym", "sigle")
    slug = column("slug", "slug")
    nom = column("name_fr", "nom")
    nom_en = column("name_en", "nom_en")
    titre = column("title_fr", "titre")
    titre_en = column("title_en", "titre_en")
    statut = column("status", "statut", ChoiceWidget(Pole.Status.choices), default=Pole.Status.ACTIVE)
    successeur = column("successor", "successeur", ReferenceWidget("pole"))
    date_labellisation = column("labelled_on", "date_labellisation", DateWidget())
    instance_labellisation = column("labelled_by_fr", "instance_labellisation")
    resume = column("summary_fr", "resume")
    resume_en = column("summary_en", "resume_en")
    presentation = column("body_fr", "presentation")
    presentation_en = column("body_en", "presentation_en")
    thematiques = column("themes", "thematiques", ReferenceListWidget("theme"))
    territoires = column("territories", "territoires", ReferenceListWidget("territory"))
    centres = column("centres", "centres", ReferenceListWidget("territory"))
    nb_partenaires = fields.Field(column_name="nb_partenaires", widget=CountWidget())
    site_internet = column("website", "site_internet")
    ordre = column("order", "ordre", CountWidget(), default=0)

    class Meta(PortalResource.Meta):
        model = Pole
        import_id_fields = ["sigle"]
        fields = ["sigle", "slug", "nom", "nom_en", "titre", "titre_en", "statut", "successeur",
                  "date_labellisation", "instance_labellisation", "resume", "resume_en", "presentation",
                  "presentation_en", "thematiques", "territoires", "centres", "nb_partenaires", "site_internet",
                  "ordre", "publie", "source", "source_url", "verifie_le"]

    def dehydrate_nb_partenaires(self, pole):
        return partners_figure(pole).value if partners_figure(pole) else None

    def import_instance(self, instance, row, **kwargs):
        """Reads `nb_partenaires` with the other cells; it is saved as the pole's key figure."""
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.error_dict
        if "nb_partenaires" in row:
            try:
                instance.partners_count = self.fields["nb_partenaires"].clean(row)
                if instance.partners_count is not None:
                    # The figure is not validated with the pole: a number too large
                    # for the database would fail on saving, in English.
                    KeyFigure._meta.get_field("value").run_validators(instance.partners_count)
            except ValueError as error:
                errors["nb_partenaires"] = [ValidationError(str(error))]
            except ValidationError as error:
                errors["nb_partenaires"] = error.error_list
        if errors:
            raise ValidationError(errors)

    def _values(self, instance, row, imported=False):
        cells = super()._values(instance, row, imported)
        # An empty cell leaves the figure as it is (see after_save_instance).
        if imported and "nb_partenaires" in cells and instance.partners_count is not None:
            cells["nb_partenaires"] = instance.partners_count
        return cells

    def after_save_instance(self, instance, row, **kwargs):
        super().after_save_instance(instance, row, **kwargs)
        partners = getattr(instance, "partners_count", None)
        if "nb_partenaires" not in row or kwargs.get("dry_run") and not kwargs.get("using_transactions"):
            return
        figure = partners_figure(instance)
        if partners is None:
            return
        if figure is None:
            KeyFigure.objects.create(pole=instance, value=partners, label_fr=PARTNERS_LABEL, source=instance.source)
        elif figure.value != partners:
            figure.value = partners
            figure.save()


def partners_figure(pole):
    """The pole's key figure counting its partners, if it has one."""
    if pole.pk is None:
        return None
    return next((figure for figure in pole.key_figures.all() if figure.label_fr == PARTNERS_LABEL), None)


class BulkSaveMixin:
    """An import writes its records in batches, with their history, instead of
    one by one with several queries per row and per relation:
    benchmarks/import_bench.py measures the difference. The preview (a dry run)
    takes the same path, and import_data rolls it back.

    Rows are still read and validated one by one; the database constraints
    that Django would check with a query per row are checked here in Python
    (keys are unique in the file, see spreadsheets.check_columns).
    """

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self._blank = None
        self._user = kwargs.get("user")
        self._creates, self._updates, self._relations = [], [], {}

    def get_queryset(self):
        # The relations an export writes, in one query each (the import's
        # CachedKeyInstanceLoader reads them as ids instead).
        options = self._meta.model._meta
        many_to_many = [field.name for field in options.many_to_many]
        foreign_keys = [field.name for field in options.concrete_fields if field.many_to_one]
        return super().get_queryset().select_related(*foreign_keys).prefetch_related(*many_to_many)

    def init_instance(self, row=None):
        # Building a record from scratch is slow (modeltranslation switches the language
        # for each translated field's default): each new row gets a copy of one blank
        # record, so the import's new records share their creation time.
        if self._blank is None:
            self._blank = super().init_instance(row)
        return copy.copy(self._blank)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        # Related records come from the import's lookups: they exist, no query needed.
        # An empty one is still checked (required or not), which needs no query either.
        related = [field.name for field in instance._meta.concrete_fields
                   if field.many_to_one and getattr(instance, field.attname) is not None]
        try:
            instance.full_clean(exclude=[*errors, *related, *self._unchanged],
                                validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        for message in self.broken_constraints(instance):
            errors.setdefault("__all__", []).append(ValidationError(message))
        if errors:
            raise ValidationError(errors)

    def broken_constraints(self, instance):
        """The messages of the model's check constraints the instance breaks,
        checked in Python: Django's validation runs a query per constraint and row."""
        return []

    def save_instance(self, instance, is_create, row, **kwargs):
        self.before_save_instance(instance, row, **kwargs)
        instance.prepare_for_bulk_save()
        (self._creates if is_create else self._updates).append(instance)
        self.after_save_instance(instance, row, **kwargs)

    def save_m2m(self, instance, row, **kwargs):
        for field in self._many_to_many:
            if field.column_name in row:
                self._relations.setdefault(field.attribute, []).append((instance, self._related(field, row)))

    def import_data_inner(self, dataset, dry_run, raise_errors, using_transactions, collect_failed_rows,
                          **kwargs):
        # Nothing is written row by row (see save_instance): the savepoints the library
        # opens around each row and step would protect nothing. The import stays in the
        # transaction import_data opens, and rolls back on an error or a dry run; a dry
        # run without a transaction writes nothing.
        self._write_at_end = using_transactions or not dry_run
        return super().import_data_inner(dataset, dry_run, raise_errors, False, collect_failed_rows, **kwargs)

    def after_import(self, dataset, result, **kwargs):
        if self._write_at_end and not (result.has_errors() or result.has_validation_errors()):
            self._write()
        super().after_import(dataset, result, **kwargs)

    def _insert_rows(self, instances, prepared):
        """Plain INSERTs, sent together (bulk_create compiles each value of each
        row), then the new ids, read by the import's key, a unique field."""
        if not instances:
            return
        model = self._meta.model
        connection = connections[router.db_for_write(model)]
        columns = [field for field in model._meta.concrete_fields if not field.primary_key]
        insert_rows(connection, model._meta.db_table, [field.column for field in columns],
                    [[row[field.attname] for field in columns] for row in prepared])
        key = self.fields[self.get_import_id_fields()[0]].attribute
        ids = dict(model._base_manager.using(connection.alias)
                   .filter(**{f"{key}__in": [getattr(instance, key) for instance in instances]})
                   .values_list(key, "pk"))
        for instance, row in zip(instances, prepared):
            instance.pk = row[model._meta.pk.attname] = ids[getattr(instance, key)]
            instance._state.adding, instance._state.db = False, connection.alias

    def _update_rows(self, instances, values):
        """One plain UPDATE per row, sent together: Django's bulk_update builds a
        CASE expression per row and per column, slower than this by far."""
        if not instances:
            return
        model = self._meta.model
        columns = [field for field in model._meta.concrete_fields if not field.primary_key]
        connection = connections[router.db_for_write(model)]
        quote = connection.ops.quote_name
        sql = "UPDATE {} SET {} WHERE {} = %s".format(
            quote(model._meta.db_table),
            ", ".join(f"{quote(field.column)} = %s" for field in columns),
            quote(model._meta.pk.column),
        )
        with connection.cursor() as cursor:
            cursor.executemany(sql, [
                [values[instance.pk][field.attname] for field in columns] + [instance.pk]
                for instance in instances
            ])

    def _write(self):
        """Records, then their relations, then one history version each, with its
        relations as the library's own history would record them."""
        model = self._meta.model
        written = self._creates + self._updates
        if not written:
            return
        # Each record's columns as the database takes them, for its row and its version.
        connection = connections[router.db_for_write(model)]
        columns = model._meta.concrete_fields
        prepared = [
            {field.attname: field.get_db_prep_save(getattr(instance, field.attname), connection) for field in columns}
            for instance in written
        ]
        self._insert_rows(self._creates, prepared[:len(self._creates)])
        values = {instance.pk: row for instance, row in zip(written, prepared)}
        self._update_rows(self._updates, values)
        # save() and its signals are bypassed: the cached public pages are forgotten here.
        cache.content_changed()
        links = self._write_relations(written)
        # Nor does the search index follow by itself: every written record at once.
        search.update_index(model, [instance.pk for instance in written])
        if getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
            self._write_history(written, values, links)

    def _write_history(self, written, values, links):
        """One version a record, as simple_history's bulk_history_create writes it
        (a creation "+" or a change "~", the import's user and reason), all with
        the import's time; then each version's relations. In plain INSERTs:
        building and compiling a model instance a version costs far more."""
        model = self._meta.model
        history_model = model.history.model
        connection = connections[router.db_for_write(history_model)]
        now = timezone.now()
        user = self._user or history_model.get_default_history_user(written[0])
        user_id = {instance.pk: getattr(getattr(instance, "_history_user", user), "pk", None)
                   for instance in written}
        created = {instance.pk for instance in self._creates}
        tracked = [(history_model._meta.get_field(field.name).column, field.attname)
                   for field in history_model.tracked_fields]
        date = history_model._meta.get_field("history_date").get_db_prep_save(now, connection)
        insert_rows(
            connection, history_model._meta.db_table,
            [column for column, _ in tracked]
            + ["history_date", "history_change_reason", "history_type", "history_user_id"],
            [[values[instance.pk][attname] for _, attname in tracked]
             + [date, getattr(instance, "_change_reason", None) or "Import de tableur",
                "+" if instance.pk in created else "~", user_id[instance.pk]]
             for instance in written],
        )
        versions = dict(history_model.objects.filter(history_date=now, id__in=list(values))
                        .values_list("id", "history_id"))
        for field in history_model._history_m2m_fields:
            # django-simple-history names a relation's history model "Historical<Model>_<field>".
            through_history = apps.get_model(model._meta.app_label, f"{history_model.__name__}_{field.name}")
            source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
            options = through_history._meta
            insert_rows(
                connection, options.db_table,
                [options.get_field(name).column for name in ("id", source, target, "history")],
                [[link_id, record_id, related_id, version]
                 for record_id, version in versions.items()
                 for link_id, related_id in links[field.name].get(record_id, ())],
            )

    def _write_relations(self, written):
        """Adds and removes the links that make each relation the file gives what
        its cell says (the others keep their link, as the library's set() does);
        returns every written record's relations, {field: {record id: [(link id,
        related id)]}}, for the history: read again only for the records whose
        links changed."""
        model = self._meta.model
        connection = connections[router.db_for_write(model)]
        stored = self.links if self.links is not None else current_links(
            model, [instance.pk for instance in self._updates])
        changed = {instance.pk for instance in self._creates}
        for attribute, rows in self._relations.items():
            field = model._meta.get_field(attribute)
            through = field.remote_field.through
            source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
            removed, added = [], []
            for instance, related_records in rows:
                wanted = {related.pk for related in related_records}
                links = stored[attribute].get(instance.pk, ())
                dropped = [link_id for link_id, related in links if related not in wanted]
                new = [(instance.pk, related) for related in wanted - {related for _, related in links}]
                if dropped or new:
                    changed.add(instance.pk)
                    removed += dropped
                    added += new
            if removed:
                through.objects.filter(pk__in=removed).delete()
            columns = [through._meta.get_field(source).column, through._meta.get_field(target).column]
            insert_rows(connection, through._meta.db_table, columns, added)
        fresh = current_links(model, list(changed))
        return {name: {**{pk: links for pk, links in records.items() if pk not in changed}, **fresh[name]}
                for name, records in stored.items()}


class ProjectResource(BulkSaveMixin, PortalResource):
    slug = column("slug", "slug")
    titre = column("title_fr", "titre")
    titre_en = column("title_en", "titre_en")
    pole = column("pole", "pole", ReferenceWidget("pole"))
    type = column("kind", "type", ChoiceWidget(Project.Kind.choices), default=Project.Kind.OTHER)
    statut = column("status", "statut", ChoiceWidget(Project.Status.choices), default=Project.Status.UNKNOWN)
    thematiques = column("themes", "thematiques", ReferenceListWidget("theme"))
    territoires = column("territories", "territoires", ReferenceListWidget("territory"))
    resume = column("summary_fr", "resume")
    resume_en = column("summary_en", "resume_en")
    description = column("body_fr", "description")
    description_en = column("body_en", "description_en")
    date_debut = column("start_date", "date_debut", DateWidget())
    date_fin = column("end_date", "date_fin", DateWidget())
    site_internet = column("website", "site_internet")
    ordre = column("order", "ordre", CountWidget(), default=0)

    class Meta(PortalResource.Meta):
        model = Project
        import_id_fields = ["slug"]
        instance_loader_class = CachedKeyInstanceLoader
        fields = ["slug", "titre", "titre_en", "pole", "type", "statut", "thematiques", "territoires", "resume",
                  "resume_en", "description", "description_en", "date_debut", "date_fin", "site_internet", "ordre",
                  "publie", "source", "source_url", "verifie_le"]

    def broken_constraints(self, instance):
        if instance.start_date and instance.end_date and instance.end_date < instance.start_date:
            constraint = next(c for c in Project._meta.constraints if c.name == "project_ends_after_start")
            return [constraint.violation_error_message]
        return []


RESOURCES = {
    "poles": PoleResource,
    "themes": ThemeResource,
    "territories": TerritoryResource,
    "projects": ProjectResource,
}
