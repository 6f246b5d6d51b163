"""/api/: outside the language prefixes (portal/urls.py), always French."""
from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from . import views

app_name = "api"

router = SimpleRouter()
router.register("poles", views.PoleViewSet, basename="pole")
router.register("projets", views.ProjectViewSet, basename="project")
router.register("thematiques", views.ThemeViewSet, basename="theme")
router.register("territoires", views.TerritoryViewSet, basename="territory")

urlpatterns = [
    path("schema/", views.SchemaView.as_view(), name="schema"),
    *router.urls,
    re_path(r"^.*$", views.not_found),
]
