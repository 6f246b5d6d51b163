"""Page addresses, worked out once per process.

reverse() and translate_url() cost more than the rest of a link's rendering, and a page shows
dozens of links. Their answer depends only on their arguments, the active language, the script
prefix and the URLconf: all are part of the key, so a kept answer is always the right one.
"""
import functools

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse, translate_url
from django.utils.translation import get_language


def _context():
    return get_language(), get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF


@functools.lru_cache(maxsize=4096)
def _reverse(viewname, args, context):
    return reverse(viewname, args=args)


@functools.lru_cache(maxsize=1024)
def _translate(path, language, context):
    return translate_url(path, language)


def page_url(viewname, *args):
    """reverse(viewname, args=args) for the active language."""
    return _reverse(viewname, args, _context())


def translated_path(path, language):
    """translate_url(path, language): the same page's address in another language, or `path`
    itself when it has none. Search addresses make the keys unbounded, hence the LRU."""
    return _translate(path, language, _context())
