import hashlib

from django.db import models


class CspReport(models.Model):
    """One kind of Content-Security-Policy violation reported by browsers: the same violation
    (page, directive, blocked resource, source line) is counted, not stored again."""

    fingerprint = models.CharField(max_length=64, unique=True, editable=False)
    document_uri = models.CharField("page", max_length=2000)
    directive = models.CharField("directive enfreinte", max_length=200)
    blocked_uri = models.CharField("ressource bloquée", max_length=2000, blank=True)
    source_file = models.CharField("fichier source", max_length=2000, blank=True)
    line_number = models.PositiveIntegerField("ligne", null=True, blank=True)
    column_number = models.PositiveIntegerField("colonne", null=True, blank=True)
    sample = models.CharField("extrait", max_length=200, blank=True)
    disposition = models.CharField("mode", max_length=20, blank=True,
                                   help_text="« enforce » : bloqué ; « report » : seulement signalé.")
    user_agent = models.CharField("navigateur", max_length=500, blank=True)
    count = models.PositiveIntegerField("nombre de rapports", default=1)
    first_seen = models.DateTimeField("premier rapport", auto_now_add=True)
    last_seen = models.DateTimeField("dernier rapport", auto_now=True)

    class Meta:
        verbose_name = "rapport de violation CSP"
        verbose_name_plural = "rapports de violation CSP"
        ordering = ["-last_seen"]

    def __str__(self):
        return f"{self.directive} : {self.blocked_uri or '—'} sur {self.document_uri}"

    @staticmethod
    def fingerprint_of(document_uri, directive, blocked_uri, source_file, line_number):
        key = "\n".join(str(part) for part in (document_uri, directive, blocked_uri, source_file, line_number))
        return hashlib.sha256(key.encode()).hexdigest()
