from django.urls import path

from . import views
from .feeds import LatestChangesFeed

app_name = "poles"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("politique-nationale/", views.PolicyView.as_view(), name="policy"),
    path("poles/", views.PoleListView.as_view(), name="pole-list"),
    path("poles/<slug:slug>/", views.PoleDetailView.as_view(), name="pole-detail"),
    path("thematiques/", views.ThemeListView.as_view(), name="theme-list"),
    path("thematiques/<slug:slug>/", views.ThemeDetailView.as_view(), name="theme-detail"),
    path("territoires/", views.TerritoryListView.as_view(), name="territory-list"),
    path("territoires/<slug:slug>/", views.TerritoryDetailView.as_view(), name="territory-detail"),
    path("projets/", views.ProjectListView.as_view(), name="project-list"),
    path("projets/<slug:slug>/", views.ProjectDetailView.as_view(), name="project-detail"),
    path("plan-du-site/", views.SiteMapView.as_view(), name="site-map"),
    path("recherche/", views.SearchView.as_view(), name="search"),
    path("donnees/", views.OpenDataView.as_view(), name="open-data"),
    path("donnees/api/", views.ApiDocView.as_view(), name="api-doc"),
    path("donnees/<slug:dataset>.<slug:file_format>", views.open_data_file, name="open-data-file"),
    path("flux.atom", LatestChangesFeed(), name="feed"),
    # The footer's mandatory pages: text from the database, address fixed here.
    path("accessibilite/", views.PageView.as_view(slug="accessibilite"), name="accessibility"),
    path("mentions-legales/", views.PageView.as_view(slug="mentions-legales"), name="legal-notice"),
    path("donnees-personnelles/", views.PageView.as_view(slug="donnees-personnelles"), name="personal-data"),
    path("gestion-des-cookies/", views.PageView.as_view(slug="gestion-des-cookies"), name="cookies"),
]
