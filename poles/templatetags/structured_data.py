"""Schema.org data for search engines, as JSON-LD in the page's head."""
import json

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.safestring import mark_safe

register = template.Library()

# What django.utils.html.json_script escapes, for the same reason.
JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def json_ld(data):
    """A <script type="application/ld+json"> block. `<`, `>` and `&` are escaped
    as in json_script, so that no text from the content can close the element."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(JSON_SCRIPT_ESCAPES)
    return mark_safe(f'<script type="application/ld+json">{text}</script>')  # noqa: S308 - escaped above


@register.simple_tag(takes_context=True)
def pole_organization(context, pole):
    """The pole as a schema.org Organization: names, summary, site, themes and
    territories (the published ones the page shows)."""
    request = context["request"]
    page_url = request.build_absolute_uri(pole.get_absolute_url())
    data = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "@id": f"{page_url}#organisation",
        "name": pole.name,
        "alternateName": pole.acronym,
        "description": pole.summary,
        "url": pole.website or page_url,
        "mainEntityOfPage": page_url,
        "knowsAbout": [theme.name for theme in pole.themes.all()],
        "areaServed": [{"@type": "AdministrativeArea", "name": territory.name} for territory in pole.territories.all()],
    }
    if pole.website:
        data["sameAs"] = [pole.website]
    return json_ld(data)
