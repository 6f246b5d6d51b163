from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path

from poles.sitemaps import SITEMAPS
from poles.views import health, robots_txt
from security.views import csp_report

urlpatterns = [
    # The one-time link printed by `create_editor` lets a new editor choose a password.
    path(
        f"{settings.ADMIN_URL}mot-de-passe/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(success_url=f"/{settings.ADMIN_URL}mot-de-passe/termine/"),
        name="password_reset_confirm",
    ),
    path(
        f"{settings.ADMIN_URL}mot-de-passe/termine/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(settings.ADMIN_URL, admin.site.urls),
    # For the supervisor: database and cache up (200) or which is down (503).
    path("sante/", health, name="health"),
    # Where browsers send Content-Security-Policy violations (see security.views).
    path("rapport-csp/", csp_report, name="csp-report"),
    # Read by programs and robots: one address whatever the language.
    path("api/", include("poles.api.urls")),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path("robots.txt", robots_txt, name="robots"),
]

# The public pages: French at their own address, English under /en/ (same paths).
# Everything above (admin, and machine-read addresses) stays outside, in French.
urlpatterns += i18n_patterns(path("", include("poles.urls")), prefix_default_language=False)

handler400 = "security.views.bad_request"
handler500 = "poles.views.server_error"
