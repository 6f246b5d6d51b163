"""Builds static/css/dsfr-portal.min.css: the DSFR stylesheet cut down to what the portal uses.

Why: the full dsfr.min.css (about 710 KB, 62 KB brotli) is render-blocking and 85 % of it is
unused here; on Lighthouse's throttled phone its download and parse made the mobile score
swing between 91 and 99. The DSFR package also ships per-part files, but core alone
(spacing, grid and typography utilities for every breakpoint) is 176 KB, so concatenating
parts would still leave most of the weight. This command therefore takes DSFR's own modern
bundle (dsfr.main.min.css = core + components + scheme, in DSFR's cascade order; the
*.legacy files are for IE11) and the system icons, and keeps a rule only if some selector of
it can match the portal's pages:

* a selector is kept unless it requires a ``fr-…`` class that no public template, template
  tag, included django-dsfr template, injected DSFR artwork or DSFR script uses; classes
  inside :not(), :is(), :where() and :has() are ignored (keeping the selector);
* rules without a ``fr-`` class (element styles, ``:root`` variables, the dark scheme on
  ``[data-fr-theme=dark]``, ``[class*=fr-icon-]``), @font-face and @keyframes are kept
  whole, so dark display, fonts and motion behave as with the full stylesheet;
* classes that DSFR's JavaScript adds at run time (``fr-collapse--expanded``,
  ``fr-modal--opened``, ``fr-collapsing``, ...) count as used: every class name literal
  of dsfr.module.min.js, and the ``--expanded``/``--selected``/``--opened`` state of every
  used class.

The result is deterministic: it depends only on the installed django-dsfr and on the
templates. tests/test_dsfr_css.py fails when the committed file differs from a fresh build
(after a django-dsfr upgrade, or when a template starts using a new DSFR class): run
``python manage.py build_dsfr_css`` and commit the file.
"""

import posixpath
import re
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

import dsfr

DIST = Path(dsfr.__file__).resolve().parent / "static" / "dsfr" / "dist"
# Modern-only parts, in the order they are linked (the icons come after the DSFR, as the
# separate icons stylesheet did).
SOURCES = ("dsfr/dsfr.main.min.css", "utility/icons/icons-system/icons-system.main.min.css")
# The stylesheets the subset replaces (for the test: what a page could use before).
FULL_SOURCES = ("dsfr/dsfr.min.css", "utility/icons/icons-system/icons-system.min.css")
OUTPUT = Path(settings.BASE_DIR) / "static" / "css" / "dsfr-portal.min.css"
# Where the package's files and the subset are in the static URL space.
STATIC_PREFIX = "dsfr/dist"
OUTPUT_STATIC_DIR = "css"

# Where the portal's public markup comes from. The admin has its own stylesheets.
TEMPLATE_DIR = Path(settings.BASE_DIR) / "templates"
PRIVATE_TEMPLATE_DIRS = ("admin", "simple_history")
CODE_GLOBS = ("poles/templatetags/*.py",)
# django-dsfr templates that base.html includes ({% dsfr_theme_modale %}, {% dsfr_favicon %}).
DSFR_TEMPLATES = ("dsfr/theme_modale.html", "dsfr/favicon.html")
# SVGs that DSFR's script injects inline (data-fr-inject-svg in the theme modal), with their
# fr-artwork-* classes.
ARTWORK = ("artwork/light.svg", "artwork/dark.svg", "artwork/system.svg")
SCRIPT = "dsfr/dsfr.module.min.js"
# Modifiers the script adds to the element of a class: disclosures get "<class>--<state>"
# (built as selector + "--" + type id), and `${selector}--align-right` literals are read from
# the script.
STATES = ("expanded", "selected", "opened")
SCRIPT_MODIFIER = re.compile(r"\}--([a-z][\w-]*)`")

CLASS_TOKEN = re.compile(r"(?<![\w-])fr-[A-Za-z0-9_@-]*[A-Za-z0-9_@]")
# A class in a selector; DSFR escapes some characters (.fr-cell--fixed\@lg).
SELECTOR_CLASS = re.compile(r"\.(fr-(?:[\w-]|\\.)+)")
# Class names in DSFR's script: ns("x"), ns.selector("x") and `${prefix}-x` literals.
SCRIPT_CLASS = re.compile(r'(?:\bns|\bg)(?:\.selector)?\("([\w-]+)"|\bprefix\}-([\w-]+)')
NESTED_AT_RULES = ("@media", "@supports", "@-moz-document", "@layer", "@container")


def public_template_files():
    """The public templates of the portal and the django-dsfr templates they include."""
    from django.template.loader import get_template

    files = [
        path
        for path in sorted(TEMPLATE_DIR.rglob("*.html"))
        if path.relative_to(TEMPLATE_DIR).parts[0] not in PRIVATE_TEMPLATE_DIRS
    ]
    files += [Path(get_template(name).origin.name) for name in DSFR_TEMPLATES]
    return files


def classes_in_markup(text):
    """Every fr-… token of a text (over-inclusive: ids such as fr-theme-modal count too,
    which only keeps a few more rules)."""
    return set(CLASS_TOKEN.findall(text))


def markup_classes():
    """fr-… tokens of the public templates, template tags and injected DSFR artwork."""
    texts = [path.read_text(encoding="utf-8") for path in public_template_files()]
    for pattern in CODE_GLOBS:
        texts += [path.read_text(encoding="utf-8") for path in sorted(Path(settings.BASE_DIR).glob(pattern))]
    texts += [(DIST / name).read_text(encoding="utf-8") for name in ARTWORK]
    return set().union(*(classes_in_markup(text) for text in texts))


def block(name):
    """The component a class belongs to: fr-table for fr-table__shadow--left."""
    return re.split(r"__|--", name, maxsplit=1)[0]


def script_classes(markup, css):
    """Class names of DSFR's script that it may add to the portal's elements.

    The script names both the classes it looks for (fr-range, fr-tooltip: markup that the
    portal does not have, so their rules would be dead weight) and the classes it adds
    (fr-table__shadow--left, fr-btns-group--equisized, fr-collapsing, fr-transition-none).
    A name counts when its component is in the markup, or when it is a standalone class,
    one that the stylesheet never uses as a component (no fr-x__… or fr-x--… class)."""
    script = (DIST / SCRIPT).read_text(encoding="utf-8")
    names = {"fr-" + (a or b) for a, b in SCRIPT_CLASS.findall(script)}
    blocks = {block(name) for name in markup}
    return {
        name
        for name in names
        if block(name) in blocks
        or (block(name) == name and not re.search(re.escape("." + name) + r"(__|--)", css))
    }


def used_classes(css):
    """Every fr- class that may be on a portal page; css: the full stylesheet."""
    markup = markup_classes()
    used = markup | script_classes(markup, css)
    modifiers = set(STATES) | set(SCRIPT_MODIFIER.findall((DIST / SCRIPT).read_text(encoding="utf-8")))
    return used | {f"{name}--{modifier}" for name in used for modifier in modifiers}


# --- A small parser for minified CSS: enough for DSFR's output (strings, comments, nested
# at-rules); it never rewrites a declaration, it only drops selectors and rules.


def _split_blocks(css):
    """Top-level items of a stylesheet or block body: (prelude, body) for a block,
    (statement, None) for an at-statement such as @charset or @import."""
    items, start, i, n = [], 0, 0, len(css)
    while i < n:
        char = css[i]
        if char in "\"'":
            i = _skip_string(css, i)
            continue
        if css.startswith("/*", i):
            end = css.index("*/", i + 2) + 2
            if css.startswith("/*!", i):  # licence comment: kept as a statement
                items.append((css[i:end], None))
            start = i = end
            continue
        if char == ";":
            statement = css[start : i + 1].strip()
            if statement:
                items.append((statement, None))
            start = i = i + 1
            continue
        if char == "{":
            end = _matching_brace(css, i)
            items.append((css[start:i].strip(), css[i + 1 : end]))
            start = i = end + 1
            continue
        i += 1
    if css[start:].strip():
        raise CommandError(f"CSS inattendu en fin de bloc : {css[start:start + 80]!r}")
    return items


def _skip_string(css, i):
    quote, i = css[i], i + 1
    while css[i] != quote:
        i += 2 if css[i] == "\\" else 1
    return i + 1


def _matching_brace(css, i):
    depth = 0
    while True:
        char = css[i]
        if char in "\"'":
            i = _skip_string(css, i)
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1


def _split_selectors(prelude):
    """Splits a selector list on top-level commas (not those inside :is(...) or [...])."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(prelude):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(prelude[start:i])
            start = i + 1
    parts.append(prelude[start:])
    return parts


def _required_classes(selector):
    """fr- classes an element must have for the selector to match: those outside
    functional pseudo-classes and attribute selectors."""
    outer, depth = [], 0
    for char in selector:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif depth == 0:
            outer.append(char)
    return {name.replace("\\", "") for name in SELECTOR_CLASS.findall("".join(outer))}


def prune(css, used):
    """The stylesheet without the selectors that require an unused fr- class."""
    out = []
    for prelude, body in _split_blocks(css):
        if body is None:
            out.append(prelude if prelude.startswith("/*") or prelude.endswith(";") else prelude + ";")
        elif prelude.startswith(NESTED_AT_RULES):
            inner = prune(body, used)
            if inner:
                out.append(f"{prelude}{{{inner}}}")
        elif prelude.startswith("@"):  # @font-face, @keyframes, @page: kept whole
            out.append(f"{prelude}{{{body}}}")
        else:
            selectors = [s for s in _split_selectors(prelude) if _required_classes(s) <= used]
            if selectors:
                out.append(f"{','.join(selectors)}{{{body}}}")
    return "".join(out)


def _without_head(css):
    """A part without its @charset and licence comment (the header carries them once)."""
    css = re.sub(r'^\s*@charset "UTF-8";', "", css)
    return re.sub(r"^\s*/\*!.*?\*/", "", css, count=1, flags=re.S)


URL = re.compile(r"""url\((["']?)([^"')]+)\1\)""")


def _rebase_urls(css, source):
    """Relative url()s of a part (../fonts/…, ../icons/…) pointed from static/css/, where the
    subset is served, to the same files of the package (static dsfr/dist/…)."""
    source_dir = posixpath.dirname(posixpath.join(STATIC_PREFIX, source))

    def rebase(match):
        quote, url = match.groups()
        if url.startswith(("data:", "/", "#")) or "://" in url:
            return match.group(0)
        target = posixpath.normpath(posixpath.join(source_dir, url))
        return f"url({quote}{posixpath.relpath(target, OUTPUT_STATIC_DIR)}{quote})"

    return URL.sub(rebase, css)


def dsfr_version():
    match = re.search(r"DSFR v([\d.]+)", (DIST / SOURCES[0]).read_text(encoding="utf-8")[:400])
    return match.group(1)


def build():
    """The text of static/css/dsfr-portal.min.css, built from the installed package."""
    sources = [_rebase_urls(_without_head((DIST / name).read_text(encoding="utf-8")), name) for name in SOURCES]
    used = used_classes("".join(sources))
    body = "".join(prune(css, used) for css in sources)
    header = (
        f'@charset "UTF-8";/*! DSFR v{dsfr_version()} | SPDX-License-Identifier: MIT | '
        f"rules of {' + '.join(SOURCES)} that the portal's pages use; "
        "generated by `manage.py build_dsfr_css`, do not edit */"
    )
    return header + body + "\n"


class Command(BaseCommand):
    help = "Construit static/css/dsfr-portal.min.css : les règles du DSFR qu’utilisent les pages du portail."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="Échoue si le fichier enregistré n’est pas à jour, sans l’écrire."
        )

    def handle(self, *args, check=False, **options):
        text = build()
        if check:
            if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
                raise CommandError(f"{OUTPUT} n’est pas à jour : lancez manage.py build_dsfr_css.")
            self.stdout.write(f"{OUTPUT} est à jour.")
            return
        OUTPUT.write_text(text, encoding="utf-8")
        full = sum((DIST / name).stat().st_size for name in FULL_SOURCES)
        self.stdout.write(f"{OUTPUT} : {len(text.encode()):,} octets (feuilles complètes : {full:,} octets).")
