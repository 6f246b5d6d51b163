"""The public datasets of /donnees/: the published poles, projects, themes and
territories, in the columns of the import templates (poles/resources.py), so
that a downloaded file can be imported back unchanged.

Only published content leaves: drafts are filtered out, and so are the links
a published record has to a draft (a draft theme of a pole, a draft parent or
successor, an unpublished partners figure), which would otherwise name it.
"""
import hashlib
import json
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import CharField, Count, Max, Prefetch, Value
from django.utils.functional import cached_property
from django.utils.formats import number_format
from django.utils.translation import gettext, gettext_lazy as _

from .models import KeyFigure, Pole, Project, Territory, Theme
from .resources import RESOURCES, ReferenceListWidget, ReferenceWidget
from .spreadsheets import CONTENT_TYPES, export_dataset, restore, write_spreadsheet

FORMATS = {
    "csv": "CSV",
    "xlsx": "XLSX",
    "ods": "ODS",
    "json": "JSON",
}
CONTENT_TYPES = {**CONTENT_TYPES, "json": "application/json; charset=utf-8"}
# Generated files are kept this long; their cache key changes with the content anyway.
CACHE_SECONDS = 24 * 60 * 60


def _published(model, *relations):
    return [Prefetch(name, queryset=model.objects.published()) for name in relations]


@dataclass(frozen=True)
class Dataset:
    slug: str  # in the download's address and file name
    title: str  # lazily translated
    resource: str  # key of poles.resources.RESOURCES
    model: type
    # Models whose records appear in this dataset's cells (keys of related records).
    depends_on: tuple

    def queryset(self):
        """The published records, with only the published records they link to."""
        if self.model is Pole:
            return Pole.objects.published().select_related("successor").prefetch_related(
                *_published(Theme, "themes"),
                *_published(Territory, "territories", "centres"),
                *_published(KeyFigure, "key_figures"),
            )
        if self.model is Project:
            return Project.objects.published().select_related("pole").prefetch_related(
                *_published(Theme, "themes"), *_published(Territory, "territories")
            )
        return self.model.objects.published().select_related("parent")

    @cached_property
    def columns(self):
        return RESOURCES[self.resource].column_names()


DATASETS = {
    dataset.slug: dataset
    for dataset in (
        Dataset("poles", _("Pôles de compétitivité"), "poles", Pole, (Pole, Theme, Territory, KeyFigure)),
        Dataset("projets", _("Projets"), "projects", Project, (Project, Pole, Theme, Territory)),
        Dataset("thematiques", _("Thématiques"), "themes", Theme, (Theme,)),
        Dataset("territoires", _("Territoires"), "territories", Territory, (Territory,)),
    )
}


def public_resource(resource_class):
    """The resource, writing an empty cell where a single reference (parent,
    successor) points to a record that is not published."""

    class PublicResource(resource_class):
        def export_field(self, field, instance, **kwargs):
            widget = field.widget
            if isinstance(widget, ReferenceWidget) and not isinstance(widget, ReferenceListWidget):
                related = getattr(instance, field.attribute)
                if related is not None and not related.is_published:
                    return ""
            return super().export_field(field, instance, **kwargs)

    return PublicResource


def content_state():
    """For each content model, (last change, number of records): what a
    generated file or an API answer depends on. A deletion changes the count;
    every other change, `updated_at` (set on each save and import). One query."""
    models = (Pole, Project, Theme, Territory, KeyFigure)
    parts = [
        model.objects.order_by()
        .annotate(model=Value(model.__name__, output_field=CharField()))
        .values("model")
        .annotate(last=Max("updated_at"), count=Count("pk"))
        for model in models
    ]
    rows = {row["model"]: (row["last"], row["count"]) for row in parts[0].union(*parts[1:], all=True)}
    return {model: rows[model.__name__] for model in models}


@dataclass(frozen=True)
class File:
    content: bytes
    content_type: str
    filename: str


def last_change(dataset, state):
    """When the dataset last changed: the latest change to its records or to
    the records its cells name (a withdrawal is a change too)."""
    dates = [state[model][0] for model in dataset.depends_on if state[model][0]]
    return max(dates, default=None)


def build_files(dataset, state):
    """The dataset's file in every format, generated together (the records are
    read once) and kept until the content changes."""
    fingerprint = repr([(model.__name__, state[model]) for model in dataset.depends_on])
    key = "open-data:" + hashlib.sha256(f"{dataset.slug}:{fingerprint}".encode()).hexdigest()
    contents = cache.get(key)
    if contents is None:
        contents = _generate(dataset)
        cache.set(key, contents, CACHE_SECONDS)
    return {
        file_format: File(content, CONTENT_TYPES[file_format], f"{dataset.slug}.{file_format}")
        for file_format, content in contents.items()
    }


def _generate(dataset):
    rows = export_dataset(public_resource(RESOURCES[dataset.resource])(), dataset.queryset())
    contents = {file_format: write_spreadsheet(rows, file_format) for file_format in ("csv", "xlsx", "ods")}
    # JSON is read by programs, not spreadsheets: the cells as they are, without
    # the apostrophe that keeps a spreadsheet from running text as a formula.
    records = [{header: restore(cell) for header, cell in zip(rows.headers, row)} for row in rows]
    contents["json"] = json.dumps(records, ensure_ascii=False, indent=1, default=str).encode()
    return contents


def size_label(size):
    """A file size as the DSFR writes it ("850 octets", "12,4 ko", "1,2 Mo"), in
    the page's language. Rounded first: number_format cuts the decimals off."""
    if size < 1024:
        return gettext("%(size)s octets") % {"size": size}
    if size < 1024 * 1024:
        return gettext("%(size)s ko") % {"size": number_format(round(size / 1024, 1), 1)}
    return gettext("%(size)s Mo") % {"size": number_format(round(size / 1024 / 1024, 1), 1)}
