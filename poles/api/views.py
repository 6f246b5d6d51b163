"""The API's views: read only, published content only, in French.

Every answer carries CORS headers open for reading, and every successful
GET an ETag and a Last-Modified date computed from the state of the content
(one query) before the records are read: a client that already has the
answer gets a 304 without the database being read any further.
"""
import hashlib

from django.http import HttpResponseNotModified, JsonResponse
from django.urls import reverse
from django.utils import translation
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView
from rest_framework import exceptions, pagination, viewsets
from rest_framework.response import Response
from rest_framework.views import exception_handler as default_exception_handler

from ..models import Pole, Project, Territory, Theme
from ..open_data import content_state
from ..views import published
from . import filters, serializers

# Changes the ETags when the shape of the answers changes with a new version of the code.
API_VERSION = "1"
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "If-None-Match, If-Modified-Since",
    "Access-Control-Expose-Headers": "ETag",
    "Access-Control-Max-Age": "86400",
}


def allow_cross_origin_reading(response):
    for header, value in CORS_HEADERS.items():
        response[header] = value
    return response


class Pagination(pagination.PageNumberPagination):
    page_size = 20
    page_size_query_param = "par_page"
    max_page_size = 100
    page_query_description = "Numéro de la page (à partir de 1)."
    page_size_query_description = f"Nombre de résultats par page (20 par défaut, {max_page_size} au plus)."
    invalid_page_message = "Cette page n'existe pas."

    def get_page_number(self, request, paginator):
        """An empty `page=` is no page (DRF would take it as page 1): 404."""
        return request.query_params.get(self.page_query_param, 1)

    def get_page_size(self, request):
        """Capped at 100; anything but a whole number from 1 is refused, not ignored."""
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        if not value.isdigit() or int(value) < 1:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [f"« {value} » n'est pas un nombre entier supérieur ou égal à 1."]}
            )
        return min(int(value), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters

    def get_paginated_response(self, data):
        return Response({
            "nombre": self.page.paginator.count,
            "suivant": self.get_next_link(),
            "precedent": self.get_previous_link(),
            "resultats": data,
        })

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["nombre", "suivant", "precedent", "resultats"],
            "properties": {
                "nombre": {"type": "integer", "description": "Nombre total de résultats."},
                "suivant": {**link, "description": "Adresse de la page suivante."},
                "precedent": {**link, "description": "Adresse de la page précédente."},
                "resultats": schema,
            },
        }


def exception_handler(error, context):
    """Every error as {"detail": "…"}, plus {"parametres": {…}} for invalid
    parameters (DRF gives those as a bare dictionary)."""
    response = default_exception_handler(error, context)
    if response is not None and isinstance(error, exceptions.ValidationError):
        response.data = {"detail": _("Paramètre invalide."), "parametres": response.data}
    return response


class ReadOnlyApiMixin:
    """French messages, CORS for reading, and conditional GET."""

    def dispatch(self, request, *args, **kwargs):
        # The API speaks French whatever the browser asks: its content has both languages.
        with translation.override("fr"):
            if request.method in ("GET", "HEAD"):
                etag, last_modified = self.validators(request)
                cached = get_conditional_response(request, etag=etag, last_modified=last_modified)
                if isinstance(cached, HttpResponseNotModified):
                    return allow_cross_origin_reading(cached)
            response = super().dispatch(request, *args, **kwargs)
            if request.method in ("GET", "HEAD") and response.status_code == 200:
                response["ETag"] = etag
                if last_modified:
                    response["Last-Modified"] = http_date(last_modified)
                # Caches keep the answer but ask each time whether it changed (a 304 is cheap).
                patch_cache_control(response, public=True, no_cache=True)
            return allow_cross_origin_reading(response)

    @staticmethod
    def validators(request):
        """The ETag and Last-Modified date of this address in the current state
        of the content (any published record may appear in any answer)."""
        state = content_state()
        fingerprint = f"{API_VERSION}|{request.build_absolute_uri()}|{sorted((m.__name__, s) for m, s in state.items())}"
        etag = '"' + hashlib.sha256(fingerprint.encode()).hexdigest()[:32] + '"'
        dates = [last for last, _count in state.values() if last]
        return etag, int(max(dates).timestamp()) if dates else None

    def get_exception_handler(self):
        return exception_handler

    def options(self, request, *args, **kwargs):
        """A CORS preflight: the allowed methods and headers, nothing else."""
        return Response(status=200, headers={"Allow": "GET, HEAD, OPTIONS"})


class ContentViewSet(ReadOnlyApiMixin, viewsets.ReadOnlyModelViewSet):
    lookup_field = "slug"
    pagination_class = Pagination
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self):
        return self.model.objects.published()


def documented(list_summary, detail_summary, serializer_class, example_slug):
    """The schema of a list and a detail view, with their error answers."""
    slug = OpenApiParameter(
        "slug", str, OpenApiParameter.PATH, description="Identifiant d'adresse (slug).",
        examples=[OpenApiExample(example_slug, value=example_slug)],
    )
    return extend_schema_view(
        list=extend_schema(
            summary=list_summary,
            description="Liste paginée, filtrable ; seuls les contenus publiés y figurent.",
            responses={
                200: OpenApiResponse(serializer_class(many=True), "Une page de résultats."),
                400: OpenApiResponse(serializers.ErrorSerializer, "Un paramètre a une valeur hors de sa liste."),
                404: OpenApiResponse(serializers.ErrorSerializer, "Cette page de résultats n'existe pas."),
            },
        ),
        retrieve=extend_schema(
            summary=detail_summary,
            description="Un contenu publié, désigné par son identifiant d'adresse.",
            parameters=[slug],
            responses={
                200: OpenApiResponse(serializer_class, "Le contenu demandé."),
                404: OpenApiResponse(serializers.ErrorSerializer, "Aucun contenu publié ne porte cet identifiant."),
            },
        ),
    )


@documented("Les pôles publiés", "Un pôle", serializers.PoleSerializer, "capenergies")
class PoleViewSet(ContentViewSet):
    model = Pole
    serializer_class = serializers.PoleSerializer
    filterset_class = filters.PoleFilter

    def get_queryset(self):
        return super().get_queryset().select_related("successor").prefetch_related(
            *published(Theme, "themes"), *published(Territory, "territories", "centres")
        )


@documented("Les projets publiés", "Un projet", serializers.ProjectSerializer, "iter")
class ProjectViewSet(ContentViewSet):
    model = Project
    serializer_class = serializers.ProjectSerializer
    filterset_class = filters.ProjectFilter

    def get_queryset(self):
        return super().get_queryset().select_related("pole").prefetch_related(
            *published(Theme, "themes"), *published(Territory, "territories")
        )


@documented("Les thématiques publiées", "Une thématique", serializers.ThemeSerializer, "solaire")
class ThemeViewSet(ContentViewSet):
    model = Theme
    serializer_class = serializers.ThemeSerializer
    filterset_class = filters.ThemeFilter

    def get_queryset(self):
        return super().get_queryset().select_related("parent")


@documented("Les territoires publiés", "Un territoire", serializers.TerritorySerializer, "manosque")
class TerritoryViewSet(ContentViewSet):
    model = Territory
    serializer_class = serializers.TerritorySerializer
    filterset_class = filters.TerritoryFilter

    def get_queryset(self):
        return super().get_queryset().select_related("parent").by_kind()


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 description, in JSON (YAML with ?format=yaml)."""

    renderer_classes = [OpenApiJsonRenderer, OpenApiYamlRenderer]

    def dispatch(self, request, *args, **kwargs):
        with translation.override("fr"):
            return allow_cross_origin_reading(super().dispatch(request, *args, **kwargs))


def not_found(request, *args, **kwargs):
    """Any other address under /api/: a 404 in JSON, pointing at the documentation."""
    with translation.override("fr"):
        documentation = request.build_absolute_uri(reverse("poles:api-doc"))
        response = JsonResponse(
            {"detail": _("Aucune ressource à cette adresse. Documentation de l'API : %(url)s") % {"url": documentation}},
            status=404,
            json_dumps_params={"ensure_ascii": False},
        )
    return allow_cross_origin_reading(response)
