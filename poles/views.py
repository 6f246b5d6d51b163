"""Public pages. Views stay thin: the published rules live on the querysets."""
import hashlib

from django.conf import settings
from django.core.paginator import Paginator
from django.db import DatabaseError, connection
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.views.generic import DetailView, ListView, TemplateView

from . import cache, open_data
from . import search as site_search
from .models import KeyFigure, Page, PolicyItem, Pole, Project, Territory, Theme

LIST_PAGE_SIZE = 20


def published(model, *related):
    """A prefetch of a relation that keeps only published records."""
    return [Prefetch(name, queryset=model.objects.published()) for name in related]


def prefetched(queryset, records=None):
    """The queryset as prefetch_related leaves a relation: loaded with `records` if given,
    else with its own results, so that `instance.<relation>.all()` runs no query."""
    if records is None:
        queryset._fetch_all()
    else:
        queryset._result_cache = records
    queryset._prefetch_done = True
    return queryset


class PublishedMixin:
    """Only published records are listed; a draft is never shown in a list."""

    def get_queryset(self):
        return super().get_queryset().published()


class DraftPreviewMixin:
    """A draft answers 404 to visitors, like a missing page; staff see it, with a
    "Brouillon" banner, so that they can preview it before publishing."""

    def get_queryset(self):
        queryset = super().get_queryset()
        return queryset if self.request.user.is_staff else queryset.published()


class HomeView(TemplateView):
    template_name = "poles/home.html"

    def get_context_data(self, **kwargs):
        pages = Page.objects.published().in_bulk(
            ["accueil", "politique-nationale", "poles-du-departement"], field_name="slug"
        )
        return super().get_context_data(
            page=pages.get("accueil"),
            policy=pages.get("politique-nationale"),
            poles_intro=pages.get("poles-du-departement"),
            national_figures=KeyFigure.objects.published().filter(pole=None),
            axes=PolicyItem.objects.published().filter(kind=PolicyItem.Kind.AXIS),
            poles=Pole.objects.published().with_card_data(),
            themes=Theme.objects.published().filter(parent=None),
            territories=Territory.objects.published().filter(kind=Territory.Kind.DEPARTEMENT),
            # Where the published poles work, drawn on the map.
            pole_territories=Territory.objects.published()
            .filter(Q(poles__in=Pole.objects.published()) | Q(centred_poles__in=Pole.objects.published()))
            .distinct(),
            **kwargs,
        )


class PageView(DraftPreviewMixin, DetailView):
    """A site page (legal notice, accessibility statement…), found by the slug its URL names."""

    model = Page
    slug = None
    template_name = "poles/page_detail.html"

    def get_object(self, queryset=None):
        return get_object_or_404(self.get_queryset(), slug=self.slug)


class PolicyView(PageView):
    slug = "politique-nationale"
    template_name = "poles/policy.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(figures=KeyFigure.objects.published().filter(pole=None), **kwargs)


class PoleListView(PublishedMixin, ListView):
    model = Pole
    paginate_by = LIST_PAGE_SIZE

    def get_queryset(self):
        return super().get_queryset().with_card_data()

    def get_context_data(self, **kwargs):
        intro = Page.objects.published().filter(slug="poles-du-departement").first()
        return super().get_context_data(intro=intro, **kwargs)


class PoleDetailView(DraftPreviewMixin, DetailView):
    model = Pole

    def get_queryset(self):
        return super().get_queryset().select_related("successor")

    def get_object(self, queryset=None):
        """The pole, then its published themes, figures, projects and territories, one query each
        (five for the page, whatever their number), put where `pole.<relation>.all()` finds them.
        Done by hand rather than by prefetch_related, whose bookkeeping costs as much as a query:
        the territories covered and the centres come in one query, and the figures and projects
        need no join on their (already known) pole."""
        pole = super().get_object(queryset)
        pole._prefetched_objects_cache = {
            "themes": prefetched(Theme.objects.published().filter(poles=pole)),
            "key_figures": prefetched(KeyFigure.objects.filter(pole=pole, is_published=True)),
            "projects": prefetched(Project.objects.filter(pole=pole, is_published=True)),
        }
        linked = list(
            Territory.objects.published()
            .annotate(
                covered=Exists(Pole.territories.through.objects.filter(pole=pole, territory=OuterRef("pk"))),
                centre=Exists(Pole.centres.through.objects.filter(pole=pole, territory=OuterRef("pk"))),
            )
            .filter(Q(covered=True) | Q(centre=True))
        )
        for relation, flag in (("territories", "covered"), ("centres", "centre")):
            pole._prefetched_objects_cache[relation] = prefetched(
                getattr(pole, relation).all(), [territory for territory in linked if getattr(territory, flag)]
            )
        return pole


class ThemeListView(PublishedMixin, ListView):
    model = Theme
    paginate_by = LIST_PAGE_SIZE

    def get_queryset(self):
        return super().get_queryset().filter(parent=None).prefetch_related(*published(Theme, "children"))


class ThemeDetailView(DraftPreviewMixin, DetailView):
    model = Theme

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("parent")
            .prefetch_related(*published(Theme, "children"), *published(Pole, "poles"), *published(Project, "projects"))
        )


class TerritoryListView(PublishedMixin, ListView):
    model = Territory
    paginate_by = 50

    def get_queryset(self):
        return super().get_queryset().by_kind()


class TerritoryDetailView(DraftPreviewMixin, DetailView):
    model = Territory

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("parent")
            .prefetch_related(
                *published(Territory, "children"),
                *published(Pole, "poles", "centred_poles"),
                Prefetch("projects", queryset=Project.objects.published().select_related("pole")),
            )
        )


class ProjectListView(PublishedMixin, ListView):
    model = Project
    paginate_by = LIST_PAGE_SIZE

    def get_queryset(self):
        return super().get_queryset().select_related("pole")


class ProjectDetailView(DraftPreviewMixin, DetailView):
    model = Project

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("pole")
            .prefetch_related(*published(Theme, "themes"), *published(Territory, "territories"))
        )


class SiteMapView(TemplateView):
    """The human-readable site map (plan du site), one of RGAA's two ways to navigate."""

    template_name = "poles/site_map.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            poles=Pole.objects.published(),
            themes=Theme.objects.published().filter(parent=None).prefetch_related(*published(Theme, "children")),
            territories=Territory.objects.published().by_kind(),
            projects=Project.objects.published(),
            **kwargs,
        )


def server_error(request):
    """The 500 page, in the design system, with the site's context (no database needed)."""
    return render(request, "500.html", status=500)


class OpenDataView(TemplateView):
    """/donnees/: the published content to download, under Licence Ouverte 2.0."""

    template_name = "poles/open_data.html"

    def get_context_data(self, **kwargs):
        state = open_data.content_state()
        datasets = []
        for dataset in open_data.DATASETS.values():
            files = open_data.build_files(dataset, state)
            datasets.append({
                "dataset": dataset,
                "rows": dataset.model.objects.published().count(),
                "last_change": open_data.last_change(dataset, state),
                "files": [
                    {
                        "format": label,
                        "url": reverse("poles:open-data-file", args=[dataset.slug, file_format]),
                        "size": open_data.size_label(len(files[file_format].content)),
                    }
                    for file_format, label in open_data.FORMATS.items()
                ],
            })
        return super().get_context_data(datasets=datasets, **kwargs)


def open_data_file(request, dataset, file_format):
    """One dataset in one format, as a file to save (e.g. /donnees/projets.csv)."""
    if dataset not in open_data.DATASETS or file_format not in open_data.FORMATS:
        raise Http404
    dataset = open_data.DATASETS[dataset]
    state = open_data.content_state()
    file = open_data.build_files(dataset, state)[file_format]
    response = HttpResponse(file.content, content_type=file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    etag = '"' + hashlib.sha256(file.content).hexdigest()[:32] + '"'
    last_change = open_data.last_change(dataset, state)
    response["ETag"] = etag
    if last_change:
        response["Last-Modified"] = http_date(last_change.timestamp())
    return get_conditional_response(
        request, etag=etag, last_modified=int(last_change.timestamp()) if last_change else None, response=response
    )


class ApiDocView(TemplateView):
    """The human documentation of the read API."""

    template_name = "poles/api_doc.html"


def robots_txt(request):
    """robots.txt: everything may be indexed but the admin and the API; where the sitemap is."""
    return render(
        request,
        "robots.txt",
        {"admin_url": f"/{settings.ADMIN_URL}", "sitemap_url": request.build_absolute_uri(reverse("sitemap"))},
        content_type="text/plain; charset=utf-8",
    )


class SearchView(TemplateView):
    """Site search (/recherche/?q=…): published poles, projects, themes,
    territories and pages, ranked, by kind on request (&type=…)."""

    template_name = "poles/search.html"
    paginate_by = 10

    def get_context_data(self, **kwargs):
        query = " ".join(self.request.GET.get("q", "").split())[: site_search.MAX_QUERY_LENGTH]
        kind = self.request.GET.get("type", "")
        results = site_search.search(query, kind)
        context = {"query": query, "results": results}
        if results is not None:
            page = Paginator(results, self.paginate_by).get_page(self.request.GET.get("page"))
            context.update(
                page_obj=page,
                kind=results.kind,
                kinds=[(key, label, results.counts[key]) for key, label in site_search.KIND_PLURALS.items()
                       if key in results.counts],
                all_count=sum(results.counts.values()),
            )
        return super().get_context_data(**context, **kwargs)

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        if context["query"]:
            # Any text makes a new address: results are not stored in the public
            # page cache (poles/cache.py), which a stream of queries would flood.
            patch_cache_control(response, no_cache=True)
        return response


def health(request):
    """For the supervisor: 200 when the database and the cache both answer, else 503
    naming the part that failed — and nothing more. Never cached."""
    parts = {"base": _database_answers(), "cache": cache.answers()}
    response = JsonResponse(
        {part: "ok" if up else "en panne" for part, up in parts.items()}, status=200 if all(parts.values()) else 503
    )
    add_never_cache_headers(response)
    return response


def _database_answers():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False
