"""The site search: what is indexed, how the index follows the content, and the
two full-text engines behind one interface.

Every published pole, project, theme, territory and site page has one
SearchEntry row holding its plain text, in French and in English (English
falling back to French, as on the pages). The database indexes those rows
itself: an FTS5 table on SQLite, generated tsvector columns on PostgreSQL (see
migration 0007). poles.signals calls `update_index` whenever content changes;
the spreadsheet import's batch path calls it once for the whole file.

A query is never passed to an engine as typed: it is cut into words, and each
word becomes a quoted prefix term ("lav" finds "lavande"); every word must
match. Operators and punctuation (quotes, *, NEAR, OR, parentheses…) are
plain words or nothing.
"""
import functools
import html
import re
import threading
import unicodedata
from dataclasses import dataclass

import markdown
from django.db import connection, transaction
from django.db.models import Prefetch
from django.utils import translation
from django.utils.html import escape, strip_tags
from django.utils.safestring import mark_safe

from .addresses import page_url
from .models import Page, PolicyItem, Pole, Project, SearchEntry, Territory, Theme
from .templatetags.poles_tags import MARKDOWN_OPTIONS

Kind = SearchEntry.Kind
LANGUAGES = ("fr", "en")

# Longest query read, and most words kept: a pasted page is cut, not refused.
MAX_QUERY_LENGTH = 200
MAX_TERMS = 10

# The engines wrap each matched word in these; the text is then escaped and
# they become <mark>. Control characters: stripped from indexed text, so an
# editor cannot forge them.
START, STOP = "\x02", "\x03"
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
WORD = re.compile(r"[^\W_]+")

BATCH = 500


# --- The text of each record -------------------------------------------------


_markdown = threading.local()
# What Markdown could change in a text (emphasis, links, code, headings, lists,
# HTML, entities, abbreviations); a text without any is read as it is.
MARKDOWN_SYNTAX = re.compile(r"[*_`\[\]<>&#\\]|^\s*(?:[-+]|\d+[.)])\s|\n\s*[=-]+\s*$", re.MULTILINE)


@functools.lru_cache(maxsize=512)
def plain(markdown_text):
    """Markdown as the reader sees it, without markup. One converter per thread,
    reused (building one costs more than converting a text); the same text (an
    English field falling back to French) converted once."""
    if not MARKDOWN_SYNTAX.search(markdown_text or ""):
        return clean(markdown_text)
    converter = getattr(_markdown, "converter", None)
    if converter is None:
        converter = _markdown.converter = markdown.Markdown(**MARKDOWN_OPTIONS)
    return clean(html.unescape(strip_tags(converter.reset().convert(markdown_text or ""))))


def clean(text):
    text = CONTROL_CHARACTERS.sub(" ", unicodedata.normalize("NFC", text or ""))
    return " ".join(text.split())


def joined(*parts):
    return "\n".join(text for text in map(clean, parts) if text)


def names(records):
    return joined(*(str(record) for record in records))


def published_related(name, model):
    return Prefetch(name, queryset=model.objects.published())


class Source:
    """One kind of record: which are public, and the text of each."""

    kind = model = None

    def queryset(self):
        return self.model.objects.published()

    def text(self, record):
        """{"title", "body", "keywords"} in the active language."""
        raise NotImplementedError

    def detail(self, record):
        return ""


class PoleSource(Source):
    kind, model = Kind.POLE, Pole

    def queryset(self):
        return super().queryset().prefetch_related(
            published_related("themes", Theme),
            published_related("territories", Territory),
            published_related("centres", Territory),
        )

    def text(self, pole):
        return {
            "title": f"{pole.acronym} — {pole.name}",
            "body": joined(pole.title, pole.summary, plain(pole.body), pole.labelled_by),
            "keywords": names([*pole.themes.all(), *pole.territories.all(), *pole.centres.all()]),
        }


class ProjectSource(Source):
    kind, model = Kind.PROJECT, Project

    def queryset(self):
        return (
            super()
            .queryset()
            .select_related("pole")
            .prefetch_related(published_related("themes", Theme), published_related("territories", Territory))
        )

    def text(self, project):
        return {
            "title": project.title,
            "body": joined(project.summary, plain(project.body)),
            "keywords": joined(project.pole.acronym, project.pole.name,
                               names([*project.themes.all(), *project.territories.all()])),
        }

    def detail(self, project):
        return project.pole.acronym


class NamedSource(Source):
    """A theme or territory: its name, its text, its code and parent's name if any."""

    def queryset(self):
        return super().queryset().select_related("parent")

    def text(self, record):
        parent = record.parent if record.parent and record.parent.is_published else None
        return {
            "title": record.name,
            "body": plain(record.description),
            "keywords": joined(getattr(record, "code", ""), parent.name if parent else ""),
        }


class ThemeSource(NamedSource):
    kind, model = Kind.THEME, Theme


class TerritorySource(NamedSource):
    kind, model = Kind.TERRITORY, Territory

    def detail(self, territory):
        return territory.code


class PageSource(Source):
    """The site's own pages that have an address; the national policy page
    carries its points too."""

    kind, model = Kind.PAGE, Page

    def queryset(self):
        return super().queryset().filter(slug__in=Page.URL_NAMES)

    def text(self, page):
        body = [page.summary, plain(page.body)]
        if page.slug == POLICY_PAGE:
            body += [plain(item.text) for item in PolicyItem.objects.published()]
        return {"title": page.title, "body": joined(*body), "keywords": ""}


POLICY_PAGE = "politique-nationale"
SOURCES = {source.kind: source for source in (
    PoleSource(), ProjectSource(), ThemeSource(), TerritorySource(), PageSource()
)}
KIND_OF_MODEL = {source.model: kind for kind, source in SOURCES.items()}


def entry(source, record):
    values = {}
    for language in LANGUAGES:
        with translation.override(language):
            suffix = "" if language == "fr" else f"_{language}"
            values.update({f"{name}{suffix}": value for name, value in source.text(record).items()})
    return SearchEntry(kind=source.kind, object_id=record.pk, slug=getattr(record, "slug", ""),
                       detail=source.detail(record), **values)


# --- Keeping the index current -----------------------------------------------


def affected(model, pks):
    """{kind: record ids} whose entry changes when these records change: a pole's
    projects (public only while it is, and named with it), the poles and projects
    named with a theme or territory, the policy page with its points."""
    pks = set(pks)
    if not pks:
        return {}
    if model is PolicyItem:
        return {Kind.PAGE: set(Page.objects.filter(slug=POLICY_PAGE).values_list("pk", flat=True))}
    kinds = {KIND_OF_MODEL[model]: pks} if model in KIND_OF_MODEL else {}
    if model is Pole:
        kinds[Kind.PROJECT] = set(Project.objects.filter(pole__in=pks).values_list("pk", flat=True))
    elif model in (Theme, Territory):
        relations = ("poles", "projects", "children") + (("centred_poles",) if model is Territory else ())
        for relation in relations:
            related = model._meta.get_field(relation).related_model
            ids = model.objects.filter(pk__in=pks, **{f"{relation}__isnull": False})
            kinds.setdefault(KIND_OF_MODEL[related], set()).update(ids.values_list(relation, flat=True))
    return kinds


def update_index(model, pks):
    """Rewrites the entries of these records and of those that show their text."""
    reindex(affected(model, pks))


def reindex(kinds):
    """Rewrites the entries of {kind: record ids}: public records get a fresh one,
    the others (drafts, deleted) none."""
    for kind, pks in kinds.items():
        pks = sorted(pks)
        source = SOURCES[kind]
        for start in range(0, len(pks), BATCH):
            chunk = pks[start:start + BATCH]
            SearchEntry.objects.filter(kind=kind, object_id__in=chunk).delete()
            records = source.queryset().filter(pk__in=chunk)
            SearchEntry.objects.bulk_create([entry(source, record) for record in records])


def rebuild():
    """The whole index again, from the published content. Returns the entry count."""
    with transaction.atomic():
        SearchEntry.objects.all().delete()
        for source in SOURCES.values():
            records = source.queryset().order_by("pk")
            SearchEntry.objects.bulk_create((entry(source, record) for record in records.iterator(BATCH)),
                                            batch_size=BATCH)
        if connection.vendor == "sqlite":
            # The FTS5 table rewritten from the text table, in case it was damaged.
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO poles_searchentry_fts(poles_searchentry_fts) VALUES ('rebuild')")
    return SearchEntry.objects.count()


_deferred = threading.local()


def update_index_on_commit(model, pk):
    """For raw saves (fixtures being loaded): the related records may not be there
    yet, so the records are indexed together once the load is committed."""
    # Django keeps the callbacks of the open transaction in run_on_commit; ours
    # is missing after a commit or a rollback, and the pending records start over.
    if not any(callback is _index_pending for _, callback, _ in connection.run_on_commit):
        _deferred.pending = {model: {pk}}
        transaction.on_commit(_index_pending)  # at once, outside a transaction
    else:
        _deferred.pending.setdefault(model, set()).add(pk)


def _index_pending():
    pending, _deferred.pending = _deferred.pending, {}
    for model, pks in pending.items():
        update_index(model, pks)


# --- Queries -----------------------------------------------------------------


def terms(query):
    """The words of a query, accents and case kept (the engines fold them)."""
    query = unicodedata.normalize("NFKC", query or "")[:MAX_QUERY_LENGTH]
    return WORD.findall(query)[:MAX_TERMS]


@dataclass
class Hit:
    kind: str
    url: str
    title: str
    snippet: str
    detail: str
    title_in_french: bool = False
    snippet_in_french: bool = False

    @property
    def kind_label(self):
        return KIND_LABELS[self.kind]


def highlighted(text):
    """Engine output to safe HTML: the text escaped, the engine's marks as <mark>."""
    return mark_safe(escape(text or "").replace(START, "<mark>").replace(STOP, "</mark>"))  # noqa: S308


def url(kind, slug):
    if kind == Kind.PAGE:
        return page_url(Page.URL_NAMES[slug])
    return page_url(f"poles:{kind}-detail", slug)


class Results:
    """The matches of a query, for Django's Paginator: counted by kind in one
    query, read one page at a time (highlighting only what is shown)."""

    def __init__(self, engine, words, language, kind=None):
        self.engine, self.words, self.language, self.kind = engine, words, language, kind
        self._counts = None

    @property
    def counts(self):
        """{kind: number of matches}, whatever kind is selected."""
        if self._counts is None:
            self._counts = dict(self.engine.counts(self.words, self.language))
        return self._counts

    def count(self):
        return self.counts.get(self.kind, 0) if self.kind else sum(self.counts.values())

    def __len__(self):
        return self.count()

    def __getitem__(self, page):
        if page.stop <= page.start:
            return []
        rows = self.engine.hits(self.words, self.language, self.kind, page.start, page.stop - page.start)
        # On an English page, French text shown for want of English is marked lang="fr".
        english = self.language != "fr"
        return [
            Hit(kind=kind, url=url(kind, slug), title=highlighted(title), snippet=highlighted(snippet), detail=detail,
                title_in_french=english and bool(title_is_french),
                snippet_in_french=english and bool(body_is_french))
            for kind, slug, detail, title_is_french, body_is_french, title, snippet in rows
        ]


class SQLiteEngine:
    """FTS5: bm25 with the title weighing most, highlight() and snippet()."""

    WEIGHTS = (10.0, 2.0, 1.0)

    def match(self, words, language):
        columns = "title body keywords" if language == "fr" else "title_en body_en keywords_en"
        # Words hold only letters and digits: quoted, they are never operators.
        quoted = " AND ".join(f'"{word}"*' for word in words)
        return f"{{{columns}}} : ({quoted})"

    def where(self, kind):
        return "poles_searchentry_fts MATCH %s" + (" AND e.kind = %s" if kind else "")

    def counts(self, words, language):
        sql = ("SELECT e.kind, COUNT(*) FROM poles_searchentry_fts JOIN poles_searchentry e"
               " ON e.id = poles_searchentry_fts.rowid WHERE poles_searchentry_fts MATCH %s GROUP BY e.kind")
        with connection.cursor() as cursor:
            cursor.execute(sql, [self.match(words, language)])
            return cursor.fetchall()

    def hits(self, words, language, kind, offset, limit):
        first = 0 if language == "fr" else 3
        weights = [0.0] * 6
        weights[first:first + 3] = self.WEIGHTS
        sql = (
            "SELECT e.kind, e.slug, e.detail, e.title_en = e.title, e.body_en = e.body,"
            f" highlight(poles_searchentry_fts, {first}, %s, %s),"
            f" snippet(poles_searchentry_fts, {first + 1}, %s, %s, '…', 30)"
            " FROM poles_searchentry_fts JOIN poles_searchentry e ON e.id = poles_searchentry_fts.rowid"
            f" WHERE {self.where(kind)}"
            f" ORDER BY bm25(poles_searchentry_fts, {', '.join(map(str, weights))}), e.title, e.id"
            " LIMIT %s OFFSET %s"
        )
        params = [START, STOP, START, STOP, self.match(words, language), *([kind] if kind else []), limit, offset]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()


class PostgreSQLEngine:
    """Full-text search: each word a prefix, matched stemmed (French or English)
    or word for word, accents ignored; ts_rank weighs the title (A) above the
    text (B) and the related names (C); ts_headline marks the words."""

    CONFIGS = {"fr": "french_unaccent", "en": "english_unaccent"}
    HEADLINE = f'StartSel="{START}", StopSel="{STOP}"'
    WHOLE_TEXT = 240  # characters

    def query(self, words, language):
        """SQL of the tsquery, and its parameters: words (letters and digits only)
        reach to_tsquery quoted, as prefix lexemes."""
        config = self.CONFIGS[language]
        part = f"(to_tsquery('{config}', %s) || to_tsquery('simple_unaccent', %s))"
        params = []
        for word in words:
            params += [f"'{word}':*"] * 2
        return " && ".join([part] * len(words)), params

    def counts(self, words, language):
        tsquery, params = self.query(words, language)
        sql = (f"SELECT kind, COUNT(*) FROM poles_searchentry WHERE search_{language} @@ ({tsquery})"
               " GROUP BY kind")
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def hits(self, words, language, kind, offset, limit):
        tsquery, params = self.query(words, language)
        config = self.CONFIGS[language]
        suffix = "" if language == "fr" else "_en"
        sql = (
            f"WITH query AS (SELECT {tsquery} AS q),"
            f" hits AS (SELECT e.id, ts_rank(e.search_{language}, query.q) AS rank"
            f" FROM poles_searchentry e, query WHERE e.search_{language} @@ query.q"
            + (" AND e.kind = %s" if kind else "")
            + f" ORDER BY rank DESC, e.title{suffix}, e.id LIMIT %s OFFSET %s)"
            " SELECT e.kind, e.slug, e.detail, e.title_en = e.title, e.body_en = e.body,"
            f" ts_headline('{config}', e.title{suffix}, query.q, %s),"
            # A short text is shown whole, as FTS5's snippet() does.
            f" ts_headline('{config}', e.body{suffix}, query.q,"
            f" CASE WHEN length(e.body{suffix}) <= {self.WHOLE_TEXT} THEN %s ELSE %s END)"
            " FROM hits JOIN poles_searchentry e ON e.id = hits.id CROSS JOIN query"
            f" ORDER BY hits.rank DESC, e.title{suffix}, e.id"
        )
        params = [
            *params, *([kind] if kind else []), limit, offset,
            f"{self.HEADLINE}, HighlightAll=true",
            f"{self.HEADLINE}, HighlightAll=true",
            f'{self.HEADLINE}, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "',
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()


ENGINES = {"sqlite": SQLiteEngine, "postgresql": PostgreSQLEngine}


def search(query, kind=None):
    """The matches of the query in the active language's text, or None when the
    query has no word to look for."""
    words = terms(query)
    if not words:
        return None
    language = "en" if (translation.get_language() or "fr").startswith("en") else "fr"
    return Results(ENGINES[connection.vendor](), words, language, kind if kind in SOURCES else None)


KIND_LABELS = {
    Kind.POLE: translation.gettext_lazy("Pôle"),
    Kind.PROJECT: translation.gettext_lazy("Projet"),
    Kind.THEME: translation.gettext_lazy("Thématique"),
    Kind.TERRITORY: translation.gettext_lazy("Territoire"),
    Kind.PAGE: translation.gettext_lazy("Page"),
}
KIND_PLURALS = {
    Kind.POLE: translation.gettext_lazy("Pôles"),
    Kind.PROJECT: translation.gettext_lazy("Projets"),
    Kind.THEME: translation.gettext_lazy("Thématiques"),
    Kind.TERRITORY: translation.gettext_lazy("Territoires"),
    Kind.PAGE: translation.gettext_lazy("Pages du site"),
}
