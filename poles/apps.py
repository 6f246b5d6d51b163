from django.apps import AppConfig


class PolesConfig(AppConfig):
    name = "poles"
    verbose_name = "Pôles de compétitivité"
