from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalAdminConfig(admin_apps.AdminConfig):
    """Django's admin, with the portal's own site (see poles.admin_site)."""

    default = False
    default_site = "poles.admin_site.PortalAdminSite"


class PolesConfig(AppConfig):
    default = True
    name = "poles"
    verbose_name = "Contenus du portail"

    def ready(self):
        # History is registered here, after modeltranslation has added the
        # translated fields (its ready() runs first): registered earlier, the
        # historical models lack those fields and saving crashes.
        from simple_history import register

        from . import cache, models

        # Any change to the content forgets the cached public pages.
        cache.connect_signals()

        for model in (models.Theme, models.Territory, models.KeyFigure, models.PolicyItem, models.Page):
            register(model, app="poles")
        register(models.Pole, app="poles", m2m_fields=["themes", "territories", "centres"])
        register(models.Project, app="poles", m2m_fields=["themes", "territories"])

        from . import signals

        signals.connect(self)
