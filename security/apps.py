from django.apps import AppConfig


class SecurityConfig(AppConfig):
    """What protects the site rather than its content: response headers, bounded
    request bodies, error pages, and the Content-Security-Policy violation reports."""

    name = "security"
    verbose_name = "Sécurité du site"
