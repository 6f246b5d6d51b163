"""The portal's content: poles, their themes, territories, projects and key
figures, the national policy, and the site's own pages.

Every content record carries its source and the date it was last verified,
because the prefecture's text ages and editors must be able to tell what is
still true. Long texts are Markdown, rendered and sanitised at display time.
"""
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modeltranslation.translator import translator

from .addresses import page_url


# A record not verified for this long is flagged "à vérifier" to editors.
VERIFICATION_VALIDITY = timedelta(days=365)


class ContentQuerySet(models.QuerySet):
    def published(self):
        return self.filter(is_published=True)

    def to_check(self):
        """Records never verified, or verified more than a year ago."""
        limit = timezone.localdate() - VERIFICATION_VALIDITY
        return self.filter(Q(verified_on__isnull=True) | Q(verified_on__lt=limit))

    def get_by_natural_key(self, key):
        """The record a backup names by its key (see NaturalKey)."""
        return self.get(**{self.model.natural_key_field: key})


class NaturalKey:
    """Named in backups by a unique field rather than by its id, so that a backup
    restored into another database keeps every link (see backup_content).
    A territory too is named by its slug: (kind, code) is unique only when a
    code is given. Key figures and policy items have no such field: they keep their ids, which
    nothing else points to."""

    natural_key_field = "slug"

    def natural_key(self):
        return (getattr(self, self.natural_key_field),)


class Content(models.Model):
    """Fields shared by every editable record: publication and provenance."""

    is_published = models.BooleanField(
        "publié",
        default=True,
        help_text="Décochez pour retirer l'élément du site public sans le supprimer.",
    )
    source = models.CharField(
        "source",
        max_length=300,
        blank=True,
        help_text="D'où vient l'information (nom de la page ou du document).",
    )
    source_url = models.URLField("adresse de la source", max_length=500, blank=True)
    verified_on = models.DateField(
        "vérifié le",
        null=True,
        blank=True,
        help_text="Date à laquelle l'information a été vérifiée pour la dernière fois.",
    )
    # Defaults rather than auto_now(_add), which fixtures (raw saves) bypass.
    created_at = models.DateTimeField("créé le", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("modifié le", default=timezone.now, editable=False)

    objects = ContentQuerySet.as_manager()

    class Meta:
        abstract = True

    def _normalise_text(self):
        """One form for each text: browsers send line breaks as CR LF, and a missing
        English translation as "" where a spreadsheet gives none. Without this,
        history would show changes nobody made."""
        translated = translator.get_options_for_model(type(self)).fields
        for model_field in self._meta.concrete_fields:
            if model_field.name in translated or not isinstance(model_field, (models.CharField, models.TextField)):
                continue
            value = getattr(self, model_field.attname)
            if isinstance(value, str):
                value = value.replace("\r\n", "\n")
                optional_translation = getattr(model_field, "language", settings.LANGUAGE_CODE) != settings.LANGUAGE_CODE
                setattr(self, model_field.attname, None if value == "" and optional_translation else value)

    @property
    def needs_check(self):
        return self.verified_on is None or self.verified_on < timezone.localdate() - VERIFICATION_VALIDITY

    @property
    def is_public(self):
        """Whether a visitor may see this record (a project also needs its pole published)."""
        return self.is_published

    def prepare_for_bulk_save(self):
        """What save() does before writing, for records written by bulk_create/bulk_update."""
        self.updated_at = timezone.now()
        self._normalise_text()

    def save(self, *args, **kwargs):
        self.prepare_for_bulk_save()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "updated_at"}
        super().save(*args, **kwargs)


class Theme(NaturalKey, Content):
    """A field of activity (e.g. solar energy), optionally under a broader one."""

    name = models.CharField("nom", max_length=200)
    slug = models.SlugField("identifiant d'adresse", max_length=200, unique=True)
    description = models.TextField("description", blank=True, help_text="Texte en Markdown.")
    parent = models.ForeignKey(
        "self",
        verbose_name="thématique parente",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    order = models.PositiveIntegerField("ordre d'affichage", default=0)

    class Meta:
        verbose_name = "thématique"
        verbose_name_plural = "thématiques"
        ordering = ["order", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=models.F("pk")),
                name="theme_not_own_parent",
                violation_error_message="Une thématique ne peut pas être sa propre parente.",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return page_url("poles:theme-detail", self.slug)


class TerritoryQuerySet(ContentQuerySet):
    def by_kind(self):
        """Regions first, then départements, communes and other areas, each by name."""
        rank = models.Case(
            *(models.When(kind=kind, then=i) for i, kind in enumerate(Territory.Kind.values)),
            output_field=models.IntegerField(),
        )
        return self.order_by(rank, "name")


class Territory(NaturalKey, Content):
    """A region, département, commune or other area, identified by its official code."""

    class Kind(models.TextChoices):
        REGION = "region", _("région")
        DEPARTEMENT = "departement", _("département")
        COMMUNE = "commune", _("commune")
        OTHER = "other", _("autre territoire")

    name = models.CharField("nom officiel", max_length=200)
    slug = models.SlugField("identifiant d'adresse", max_length=200, unique=True)
    kind = models.CharField("type", max_length=20, choices=Kind.choices)
    code = models.CharField(
        "code officiel (INSEE/COG)",
        max_length=10,
        blank=True,
        help_text="Code du Code officiel géographique de l'INSEE : 93 pour une région, "
        "13 pour un département, 04112 pour une commune.",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name="territoire parent",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    is_historical = models.BooleanField(
        "n'existe plus en tant que tel",
        default=False,
        help_text="Par exemple une région fusionnée lors de la réforme de 2016.",
    )
    description = models.TextField("description", blank=True, help_text="Texte en Markdown.")

    objects = TerritoryQuerySet.as_manager()

    class Meta:
        verbose_name = "territoire"
        verbose_name_plural = "territoires"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "code"],
                condition=~Q(code=""),
                name="territory_unique_code_per_kind",
                violation_error_message="Un territoire de ce type porte déjà ce code officiel.",
            ),
            models.CheckConstraint(
                condition=~Q(parent=models.F("pk")),
                name="territory_not_own_parent",
                violation_error_message="Un territoire ne peut pas être son propre parent.",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return page_url("poles:territory-detail", self.slug)

    @property
    def kind_plural(self):
        """Heading for a group of territories of this kind."""
        return {
            self.Kind.REGION: _("Régions"),
            self.Kind.DEPARTEMENT: _("Départements"),
            self.Kind.COMMUNE: _("Communes"),
        }.get(self.kind, _("Autres territoires"))


class PoleQuerySet(ContentQuerySet):
    def with_card_data(self):
        """What a pole card needs, fetched in a fixed number of queries."""
        return self.prefetch_related(
            models.Prefetch("key_figures", queryset=KeyFigure.objects.published()),
        )


class Pole(NaturalKey, Content):
    """A pôle de compétitivité, as labelled by the State."""

    natural_key_field = "acronym"

    class Status(models.TextChoices):
        ACTIVE = "active", _("actif")
        MERGED = "merged", _("fusionné")
        RENAMED = "renamed", _("renommé")
        DELABELLED = "delabelled", _("n'est plus labellisé")

    name = models.CharField(
        "nom", max_length=300, help_text="Nom complet, par exemple « Parfums, arômes, senteurs et saveurs »."
    )
    acronym = models.CharField("sigle", max_length=50, unique=True)
    slug = models.SlugField("identifiant d'adresse", max_length=200, unique=True)
    title = models.CharField(
        "titre de la page",
        max_length=300,
        help_text="Titre affiché en haut de la page du pôle.",
    )
    status = models.CharField("statut", max_length=20, choices=Status.choices, default=Status.ACTIVE)
    successor = models.ForeignKey(
        "self",
        verbose_name="pôle successeur",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="predecessors",
        help_text="Le pôle qui a pris la suite, s'il a fusionné ou été renommé.",
    )
    labelled_on = models.DateField("date de labellisation", null=True, blank=True)
    labelled_by = models.CharField(
        "instance de labellisation",
        max_length=300,
        blank=True,
        help_text="Par exemple « Comité interministériel d'aménagement et de compétitivité des territoires (CIACT) ».",
    )
    summary = models.TextField("résumé", help_text="Deux ou trois phrases, reprises sur les cartes et les listes.")
    body = models.TextField("présentation", blank=True, help_text="Texte en Markdown.")
    themes = models.ManyToManyField(Theme, verbose_name="thématiques", blank=True, related_name="poles")
    territories = models.ManyToManyField(
        Territory, verbose_name="territoires couverts", blank=True, related_name="poles"
    )
    centres = models.ManyToManyField(
        Territory,
        verbose_name="centré sur",
        blank=True,
        related_name="centred_poles",
        help_text="Les villes ou bassins autour desquels le pôle est organisé.",
    )
    website = models.URLField("site internet", blank=True)
    order = models.PositiveIntegerField("ordre d'affichage", default=0)

    objects = PoleQuerySet.as_manager()

    class Meta:
        verbose_name = "pôle de compétitivité"
        verbose_name_plural = "pôles de compétitivité"
        ordering = ["order", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(successor=models.F("pk")),
                name="pole_not_own_successor",
                violation_error_message="Un pôle ne peut pas être son propre successeur.",
            ),
        ]

    def __str__(self):
        return self.acronym

    def get_absolute_url(self):
        return page_url("poles:pole-detail", self.slug)


class KeyFigureQuerySet(ContentQuerySet):
    def published(self):
        """A pole's figures disappear with the pole; national ones have no pole."""
        return super().published().filter(Q(pole=None) | Q(pole__is_published=True))


class KeyFigure(Content):
    """A number worth showing (partners, labelled projects…), with the period it refers to.

    A figure without a pole is a national or departmental one.
    """

    pole = models.ForeignKey(
        Pole,
        verbose_name="pôle",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="key_figures",
        help_text="Laissez vide pour un chiffre de la politique nationale.",
    )
    value = models.PositiveIntegerField("valeur")
    label = models.CharField("libellé", max_length=200, help_text="Ce que compte le chiffre, par exemple « partenaires ».")
    reference_date = models.DateField(
        "date de référence", null=True, blank=True, help_text="Date à laquelle le chiffre était vrai."
    )
    period = models.CharField(
        "période",
        max_length=100,
        blank=True,
        help_text="Période couverte, par exemple « depuis 2005 ».",
    )
    order = models.PositiveIntegerField("ordre d'affichage", default=0)

    objects = KeyFigureQuerySet.as_manager()

    class Meta:
        verbose_name = "chiffre clé"
        verbose_name_plural = "chiffres clés"
        ordering = ["order", "pk"]

    def __str__(self):
        return f"{self.value} {self.label}"


class ProjectQuerySet(ContentQuerySet):
    def published(self):
        """A project is public only while its pole is (see Project.is_public)."""
        return super().published().filter(pole__is_published=True)


class Project(NaturalKey, Content):
    """A project, programme, research direction or facility linked to a pole."""

    class Kind(models.TextChoices):
        PROGRAMME = "programme", _("programme de R&D")
        RESEARCH_DIRECTION = "research_direction", _("axe de recherche")
        INFRASTRUCTURE = "infrastructure", _("infrastructure de recherche")
        INDUSTRIAL_SITE = "industrial_site", _("site industriel")
        OTHER = "other", _("autre")

    class Status(models.TextChoices):
        PLANNED = "planned", _("en projet")
        ONGOING = "ongoing", _("en cours")
        COMPLETED = "completed", _("terminé")
        UNKNOWN = "unknown", _("non précisé")

    title = models.CharField("titre", max_length=300)
    slug = models.SlugField("identifiant d'adresse", max_length=200, unique=True)
    pole = models.ForeignKey(Pole, verbose_name="pôle", on_delete=models.PROTECT, related_name="projects")
    kind = models.CharField("type", max_length=30, choices=Kind.choices, default=Kind.OTHER)
    status = models.CharField("statut", max_length=20, choices=Status.choices, default=Status.UNKNOWN)
    themes = models.ManyToManyField(Theme, verbose_name="thématiques", blank=True, related_name="projects")
    territories = models.ManyToManyField(
        Territory, verbose_name="territoires", blank=True, related_name="projects"
    )
    summary = models.TextField("résumé")
    body = models.TextField("description", blank=True, help_text="Texte en Markdown.")
    start_date = models.DateField("date de début", null=True, blank=True)
    end_date = models.DateField("date de fin", null=True, blank=True)
    website = models.URLField("site internet", blank=True)
    order = models.PositiveIntegerField("ordre d'affichage", default=0)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        verbose_name = "projet"
        verbose_name_plural = "projets"
        ordering = ["pole__order", "order", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_date__isnull=True)
                | Q(end_date__isnull=True)
                | Q(end_date__gte=models.F("start_date")),
                name="project_ends_after_start",
                violation_error_message="La date de fin doit suivre la date de début.",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return page_url("poles:project-detail", self.slug)

    @property
    def is_public(self):
        return self.is_published and self.pole.is_published


class PolicyItem(Content):
    """One point of the national policy: an axis, a mission of a pole's association…"""

    class Kind(models.TextChoices):
        AXIS = "axis", "axe majeur"
        MISSION = "mission", "mission de l'entité du pôle"
        FRAMEWORK = "framework", "cadre contractuel"

    kind = models.CharField("type", max_length=20, choices=Kind.choices)
    text = models.TextField("texte", help_text="Texte en Markdown.")
    order = models.PositiveIntegerField("ordre d'affichage", default=0)

    class Meta:
        verbose_name = "point de la politique nationale"
        verbose_name_plural = "points de la politique nationale"
        ordering = ["kind", "order"]

    def __str__(self):
        return f"{self.get_kind_display()} : {self.text[:60]}"


class Page(NaturalKey, Content):
    """A page of the site's own: home introduction, national policy, legal pages…

    Pages are found by their slug, which the URL configuration names; editors
    change their text, not their address.
    """

    # The public address that shows each page.
    URL_NAMES = {
        "accueil": "poles:home",
        "politique-nationale": "poles:policy",
        "poles-du-departement": "poles:pole-list",
        "accessibilite": "poles:accessibility",
        "mentions-legales": "poles:legal-notice",
        "donnees-personnelles": "poles:personal-data",
        "gestion-des-cookies": "poles:cookies",
    }

    slug = models.SlugField("identifiant", max_length=100, unique=True)
    title = models.CharField("titre", max_length=200)
    summary = models.TextField(
        "chapeau", blank=True, help_text="Introduction courte, reprise comme description pour les moteurs de recherche."
    )
    body = models.TextField("contenu", blank=True, help_text="Texte en Markdown.")

    class Meta:
        verbose_name = "page du site"
        verbose_name_plural = "pages du site"
        ordering = ["title"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return page_url(self.URL_NAMES[self.slug])


# The editable content, in the order the admin lists what needs checking.
CONTENT_MODELS = (Pole, Project, Theme, Territory, KeyFigure, PolicyItem, Page)


class ImportLog(models.Model):
    """One spreadsheet import through the admin or the command line: who, when,
    which file, and what it did (or why it was refused)."""

    class Model(models.TextChoices):
        POLES = "poles", "pôles"
        THEMES = "themes", "thématiques"
        TERRITORIES = "territories", "territoires"
        PROJECTS = "projects", "projets"

    created_at = models.DateTimeField("date", default=timezone.now, editable=False)
    user = models.ForeignKey(
        "auth.User", verbose_name="par", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    model = models.CharField("contenu", max_length=20, choices=Model.choices)
    file_name = models.CharField("fichier", max_length=255)
    file_format = models.CharField("format", max_length=10)
    new = models.PositiveIntegerField("nouveaux", default=0)
    updated = models.PositiveIntegerField("modifiés", default=0)
    unchanged = models.PositiveIntegerField("inchangés", default=0)
    errors = models.PositiveIntegerField("erreurs", default=0)
    applied = models.BooleanField("appliqué", default=False)

    class Meta:
        verbose_name = "import de tableur"
        verbose_name_plural = "journal des imports"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.file_name} ({self.created_at:%d/%m/%Y %H:%M})"


class SearchEntry(models.Model):
    """A published record as the site search reads it: plain text, French and
    English, rewritten by poles.search whenever the record changes. The database
    indexes these rows itself (FTS5 table on SQLite, tsvector columns on PostgreSQL)."""

    class Kind(models.TextChoices):
        POLE = "pole", "pôle"
        PROJECT = "project", "projet"
        THEME = "theme", "thématique"
        TERRITORY = "territory", "territoire"
        PAGE = "page", "page"

    kind = models.CharField("type", max_length=20, choices=Kind.choices)
    object_id = models.PositiveBigIntegerField("identifiant")
    # The address is built when a result is shown, in the reader's language.
    slug = models.CharField("identifiant d'adresse", max_length=200)
    detail = models.CharField("précision", max_length=300, blank=True)
    title = models.TextField("titre")
    body = models.TextField("texte", blank=True)
    keywords = models.TextField("mots liés", blank=True)
    title_en = models.TextField("titre (anglais)")
    body_en = models.TextField("texte (anglais)", blank=True)
    keywords_en = models.TextField("mots liés (anglais)", blank=True)

    class Meta:
        verbose_name = "entrée de l'index de recherche"
        verbose_name_plural = "index de recherche"
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="search_entry_unique_object")]

    def __str__(self):
        return f"{self.get_kind_display()} : {self.title}"
