from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

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
    path("", include("poles.urls")),
]

handler500 = "poles.views.server_error"
