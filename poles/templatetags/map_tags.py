"""The territory map: official outlines (poles/data/boundaries.json) drawn as inline SVG.

Paths are precomputed in one projected space (see the build_boundaries command), so drawing a
map only picks shapes, frames them and joins strings: no query, no JavaScript, no tile server.
"""
import functools
import json
from pathlib import Path

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from poles.models import Territory

register = template.Library()

BOUNDARIES = Path(__file__).resolve().parent.parent / "data" / "boundaries.json"
KIND_RANK = {kind: rank for rank, kind in enumerate(Territory.Kind.values)}
# Past this width (in map units of 100 m), département borders would only blur the picture.
DEPARTEMENT_CONTEXT_MAX_WIDTH = 3500
MARGIN = 0.04


@functools.cache
def boundaries():
    with BOUNDARIES.open(encoding="utf-8") as data:
        return json.load(data)


def shape_key(territory):
    """The (kind, official code) key of a territory's outline; None for kinds without one."""
    if territory.kind == Territory.Kind.OTHER or not territory.code:
        return None
    return f"{territory.kind}:{territory.code.strip().upper()}"


def shape_of(territory):
    return boundaries()["shapes"].get(shape_key(territory))


def departement_of(commune_code):
    """The département key of a commune code (04112 -> 04, 2A004 -> 2A)."""
    return f"departement:{commune_code[:2]}"


def union(boxes):
    x0s, y0s, x1s, y1s = zip(*boxes)
    return [min(x0s), min(y0s), max(x1s), max(y1s)]


def overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@register.inclusion_tag("includes/_map.html")
def territory_map(*groups, title, focus=None, map_id="carte"):
    """A map of the given territories (territories, querysets or lists, merged and ordered by
    kind then name), each outline a link to its page, beside the list of the same territories.
    The map is framed on `focus` if given (a territory page: not on its whole parent region).
    Neighbouring regions and départements are drawn as background, not as links."""
    territories = sorted(
        {
            territory.pk: territory
            for group in groups
            for territory in ([group] if isinstance(group, Territory) else group or [])
        }.values(),
        key=lambda territory: (KIND_RANK.get(territory.kind, len(KIND_RANK)), territory.name),
    )
    items = [(territory, shape_of(territory)) for territory in territories]
    drawn = [(territory, shape) for territory, shape in items if shape]
    context = {"map_id": map_id, "title": title, "items": items, "drawn": drawn}
    if drawn:
        # Framed on the focus if drawn, else on all; a commune is shown within its département.
        framed = [territory for territory, _ in drawn if territory == focus] or [territory for territory, _ in drawn]
        context["view_box"], context["background"] = framing(
            tuple(shape_key(territory) for territory, _ in drawn),
            tuple(
                [shape_key(territory) for territory in framed]
                + [departement_of(territory.code) for territory in framed if territory.kind == Territory.Kind.COMMUNE]
            ),
        )
    return context


@functools.lru_cache(maxsize=1024)
def framing(highlighted, framed):
    """The view box around the `framed` outlines (keys without an outline are ignored), and the
    background drawn under the `highlighted` ones: regions filled, départements above them as
    thin borders. Both depend only on the keys and the outlines file, hence kept per process."""
    data = boundaries()
    shapes = data["shapes"]
    x0, y0, x1, y1 = union([shapes[key]["box"] for key in framed if key in shapes])
    margin = round(max(x1 - x0, y1 - y0) * MARGIN)
    frame = [x0 - margin, y0 - margin, x1 + margin, y1 + margin]
    wide = frame[2] - frame[0] > DEPARTEMENT_CONTEXT_MAX_WIDTH
    background = "".join(
        format_html('<path class="portal-map__context portal-map__context--{}" d="{}"/>', kind, shapes[key]["d"])
        for kind in ["region", *([] if wide else ["departement"])]
        for key in data["context"]
        if key.startswith(f"{kind}:") and key not in highlighted and overlaps(shapes[key]["box"], frame)
    )
    return f"{frame[0]} {frame[1]} {frame[2] - frame[0]} {frame[3] - frame[1]}", mark_safe(background)  # noqa: S308
