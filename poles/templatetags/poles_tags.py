"""Template filters for editor-supplied text, and the page's versions in each language."""
import functools

import markdown as markdown_lib
import nh3
from django import template
from django.conf import settings
from django.utils import translation
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from modeltranslation.utils import build_localized_fieldname, get_language

from poles.addresses import page_url, translated_path

register = template.Library()

# What an editor's Markdown may produce; everything else is stripped.
ALLOWED_TAGS = {
    "p", "br", "h2", "h3", "h4", "ul", "ol", "li", "a", "em", "strong", "abbr",
    "blockquote", "code", "pre",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title", "hreflang"}, "abbr": {"title"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto", "tel"}
# How editors' Markdown is read (the site search reads it the same way).
MARKDOWN_OPTIONS = {"extensions": ["abbr", "sane_lists"], "output_format": "html"}


@functools.lru_cache(maxsize=256)
def render_markdown(text):
    """Markdown to HTML, sanitised with nh3 so that no script or frame survives.

    Kept per process for the texts last rendered: the same text always gives the same HTML,
    and converting a pole's body costs more than the rest of its page's content."""
    html = markdown_lib.markdown(text or "", **MARKDOWN_OPTIONS)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


@register.filter(name="markdown")
def markdown_filter(text):
    return mark_safe(render_markdown(text))  # noqa: S308 - sanitised by nh3 just above


@register.simple_tag
def french_lang():
    """` lang="fr"` on a page in another language, for text that is always in French
    (a source's name, the prefecture's logo)."""
    if get_language() == settings.LANGUAGE_CODE:
        return ""
    return format_html(' lang="{}"', settings.LANGUAGE_CODE)


@register.filter
def fallback_lang(record, field):
    """` lang="fr"` when `record.field` shows the French text for want of a translation
    into the page's language, so that a screen reader pronounces it in French."""
    if record is None or getattr(record, build_localized_fieldname(field, get_language()), None):
        return ""
    return french_lang()


@register.filter
def in_french(text):
    """Text always in French, inside a sentence: in a `<span lang="fr">` on a page in another language."""
    lang = french_lang()
    return format_html("<span{}>{}</span>", lang, text) if lang else text


@register.filter
def localized(record, field):
    """The field's text for a sentence, in a `<span lang="fr">` when it is the French fallback."""
    text = getattr(record, field)
    return in_french(text) if fallback_lang(record, field) else text


@register.simple_tag(takes_context=True)
def language_versions(context, path):
    """The page at `path` in each language: code, name, address (absolute too) and
    whether it is the current one. A path with no equivalent (a missing page) leads
    to the home page in the other language."""
    request = context.get("request")
    current = translation.get_language()
    versions = []
    for code, name in settings.LANGUAGES:
        url = translated_path(path, code)
        if url == path and code != current:
            with translation.override(code):
                url = page_url("poles:home")
        versions.append({
            "code": code,
            "name": name,
            "url": url,
            "absolute_url": request.build_absolute_uri(url) if request else url,
            "current": code == current,
            "default": code == settings.LANGUAGE_CODE,
        })
    return versions
