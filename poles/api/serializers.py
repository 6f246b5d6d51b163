"""What the API answers for each record. Field names are those of the
open-data files (poles/resources.py) where a column exists; translated texts
come as the French field and its `_en` twin (null when not translated)."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Pole, Project, Territory, Theme


@extend_schema_field(OpenApiTypes.URI)
class PageUrlField(serializers.Field):
    """The record's public page, as an absolute address."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, record):
        return self.context["request"].build_absolute_uri(record.get_absolute_url())



class PublishedReference(serializers.Field):
    """A link to one record, null when there is none or when it is a draft."""

    def __init__(self, serializer_class, **kwargs):
        self.serializer_class = serializer_class
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, record):
        return self.serializer_class(record, context=self.context).data if record.is_published else None


class ThemeReferenceSerializer(serializers.ModelSerializer):
    nom = serializers.CharField(source="name_fr")
    page = PageUrlField()

    class Meta:
        model = Theme
        fields = ["slug", "nom", "page"]


class TerritoryReferenceSerializer(serializers.ModelSerializer):
    nom = serializers.CharField(source="name_fr")
    type = serializers.ChoiceField(source="kind", choices=Territory.Kind.choices)
    page = PageUrlField()

    class Meta:
        model = Territory
        fields = ["code", "type", "nom", "slug", "page"]


class PoleReferenceSerializer(serializers.ModelSerializer):
    sigle = serializers.CharField(source="acronym")
    nom = serializers.CharField(source="name_fr")
    page = PageUrlField()

    class Meta:
        model = Pole
        fields = ["sigle", "slug", "nom", "page"]


class ContentSerializer(serializers.ModelSerializer):
    """Provenance fields every record carries."""

    page = PageUrlField()
    derniere_modification = serializers.DateTimeField(source="updated_at")
    verifie_le = serializers.DateField(source="verified_on", allow_null=True)

    PROVENANCE = ["source", "source_url", "verifie_le", "derniere_modification", "page"]


@extend_schema_field(ThemeReferenceSerializer(allow_null=True))
class ParentThemeField(PublishedReference):
    def __init__(self, **kwargs):
        super().__init__(ThemeReferenceSerializer, **kwargs)


@extend_schema_field(TerritoryReferenceSerializer(allow_null=True))
class ParentTerritoryField(PublishedReference):
    def __init__(self, **kwargs):
        super().__init__(TerritoryReferenceSerializer, **kwargs)


@extend_schema_field(PoleReferenceSerializer(allow_null=True))
class PoleReferenceField(PublishedReference):
    def __init__(self, **kwargs):
        super().__init__(PoleReferenceSerializer, **kwargs)


class ThemeSerializer(ContentSerializer):
    nom = serializers.CharField(source="name_fr")
    nom_en = serializers.CharField(source="name_en", allow_null=True)
    parent = ParentThemeField()
    description = serializers.CharField(source="description_fr", allow_null=True)
    description_en = serializers.CharField(allow_null=True)

    class Meta:
        model = Theme
        fields = ["slug", "nom", "nom_en", "parent", "description", "description_en", *ContentSerializer.PROVENANCE]


class TerritorySerializer(ContentSerializer):
    type = serializers.ChoiceField(source="kind", choices=Territory.Kind.choices)
    nom = serializers.CharField(source="name_fr")
    nom_en = serializers.CharField(source="name_en", allow_null=True)
    parent = ParentTerritoryField()
    ancien_territoire = serializers.BooleanField(source="is_historical")
    description = serializers.CharField(source="description_fr", allow_null=True)
    description_en = serializers.CharField(allow_null=True)

    class Meta:
        model = Territory
        fields = ["code", "type", "nom", "nom_en", "slug", "parent", "ancien_territoire", "description",
                  "description_en", *ContentSerializer.PROVENANCE]


class PoleSerializer(ContentSerializer):
    sigle = serializers.CharField(source="acronym")
    nom = serializers.CharField(source="name_fr")
    nom_en = serializers.CharField(source="name_en", allow_null=True)
    titre = serializers.CharField(source="title_fr")
    titre_en = serializers.CharField(source="title_en", allow_null=True)
    statut = serializers.ChoiceField(source="status", choices=Pole.Status.choices)
    successeur = PoleReferenceField(source="successor")
    date_labellisation = serializers.DateField(source="labelled_on", allow_null=True)
    instance_labellisation = serializers.CharField(source="labelled_by_fr", allow_null=True)
    resume = serializers.CharField(source="summary_fr")
    resume_en = serializers.CharField(source="summary_en", allow_null=True)
    presentation = serializers.CharField(source="body_fr", allow_null=True, help_text="Texte en Markdown.")
    presentation_en = serializers.CharField(source="body_en", allow_null=True, help_text="Texte en Markdown.")
    thematiques = ThemeReferenceSerializer(source="themes", many=True)
    territoires = TerritoryReferenceSerializer(source="territories", many=True)
    centres = TerritoryReferenceSerializer(many=True)
    site_internet = serializers.CharField(source="website")

    class Meta:
        model = Pole
        fields = ["sigle", "slug", "nom", "nom_en", "titre", "titre_en", "statut", "successeur",
                  "date_labellisation", "instance_labellisation", "resume", "resume_en", "presentation",
                  "presentation_en", "thematiques", "territoires", "centres", "site_internet",
                  *ContentSerializer.PROVENANCE]


class ProjectSerializer(ContentSerializer):
    titre = serializers.CharField(source="title_fr")
    titre_en = serializers.CharField(source="title_en", allow_null=True)
    pole = PoleReferenceSerializer()
    type = serializers.ChoiceField(source="kind", choices=Project.Kind.choices)
    statut = serializers.ChoiceField(source="status", choices=Project.Status.choices)
    thematiques = ThemeReferenceSerializer(source="themes", many=True)
    territoires = TerritoryReferenceSerializer(source="territories", many=True)
    resume = serializers.CharField(source="summary_fr")
    resume_en = serializers.CharField(source="summary_en", allow_null=True)
    description = serializers.CharField(source="body_fr", allow_null=True, help_text="Texte en Markdown.")
    description_en = serializers.CharField(source="body_en", allow_null=True, help_text="Texte en Markdown.")
    date_debut = serializers.DateField(source="start_date", allow_null=True)
    date_fin = serializers.DateField(source="end_date", allow_null=True)
    site_internet = serializers.CharField(source="website")

    class Meta:
        model = Project
        fields = ["slug", "titre", "titre_en", "pole", "type", "statut", "thematiques", "territoires", "resume",
                  "resume_en", "description", "description_en", "date_debut", "date_fin", "site_internet",
                  *ContentSerializer.PROVENANCE]


class ErrorSerializer(serializers.Serializer):
    """Every error the API answers: one French sentence, and for invalid
    parameters the messages of each one."""

    detail = serializers.CharField()
    parametres = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)
