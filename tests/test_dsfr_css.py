"""The DSFR subset (static/css/dsfr-portal.min.css, built by `manage.py build_dsfr_css`).

The pages link this subset instead of the full dsfr.min.css (a render-blocking 710 KB that
made the mobile Lighthouse score swing). A subset can silently go stale: these tests fail
when it no longer matches what the installed django-dsfr and the templates give, or when a
template uses a DSFR class whose rules the subset lost.
"""

import posixpath
import re
from pathlib import Path

from poles.management.commands import build_dsfr_css as builder

FIX = "lancez « python manage.py build_dsfr_css » et enregistrez static/css/dsfr-portal.min.css"


def defined_classes(css):
    """fr- classes that a stylesheet's selectors mention."""
    return {name.replace("\\", "") for name in builder.SELECTOR_CLASS.findall(css)}


def test_committed_subset_is_what_the_command_builds_now():
    """After a django-dsfr upgrade, or when a template starts using a DSFR class, the
    committed file differs from a fresh build: rebuild it rather than ship stale rules."""
    assert builder.OUTPUT.read_text(encoding="utf-8") == builder.build(), f"Sous-ensemble du DSFR périmé : {FIX}."


def test_every_dsfr_class_of_the_public_templates_keeps_its_rules():
    """A fr- class used in a public template (or an included django-dsfr template) that the
    full DSFR styles must be styled by the subset too, or visitors would see it unstyled."""
    full = defined_classes("".join((builder.DIST / name).read_text(encoding="utf-8") for name in builder.FULL_SOURCES))
    subset = defined_classes(builder.OUTPUT.read_text(encoding="utf-8"))
    used = set()
    for path in builder.public_template_files():
        used |= builder.classes_in_markup(path.read_text(encoding="utf-8"))
    missing = sorted((used & full) - subset)
    assert not missing, f"Classes du DSFR absentes du sous-ensemble : {missing} ; {FIX}."


def test_templates_do_not_build_dsfr_class_names_from_variables():
    """The builder reads class names as written in the templates: a name completed at
    render time (class="fr-badge--{{ colour }}") would escape it and lose its rules.
    Write each possible class in full, in an {% if %} if need be."""
    built = re.compile(r"fr-[\w-]*(\{\{|[-_]\{%)")  # fr-btn{% if … %} is a whole name: fine
    offenders = [
        f"{path.name}:{number}"
        for path in builder.public_template_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if built.search(line)
    ]
    assert not offenders, f"Nom de classe du DSFR construit à partir d’une variable : {offenders}."


def test_files_the_subset_points_to_exist():
    """Fonts and icons are referenced relative to static/css/: each must be a file of the
    package (collectstatic would otherwise fail, and the page would lack the file)."""
    css = builder.OUTPUT.read_text(encoding="utf-8")
    urls = {url for _, url in builder.URL.findall(css) if not url.startswith("data:")}
    assert urls, "aucune police ni icône référencée : réécriture des adresses cassée ?"
    static_dir = builder.DIST.parent.parent  # the package's static/ folder
    missing = [
        url
        for url in sorted(urls)
        if not (static_dir / posixpath.normpath(posixpath.join(builder.OUTPUT_STATIC_DIR, url))).is_file()
    ]
    assert not missing, f"Fichiers introuvables : {missing}."


def test_subset_is_a_fraction_of_the_full_stylesheet():
    """The point of the subset: far less CSS to download and parse before the first paint."""
    full = sum((builder.DIST / name).stat().st_size for name in builder.FULL_SOURCES)
    assert Path(builder.OUTPUT).stat().st_size < full / 3
