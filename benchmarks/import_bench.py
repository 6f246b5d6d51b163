#!/usr/bin/env python
"""Benchmark of the projects' spreadsheet import: how fast, and how much memory.

    .venv/bin/python benchmarks/import_bench.py [--rows N] [--stock-rows M]
        [--database-url postgres://…] [--paths abpcd] [--repeat R] [--no-tracemalloc]
        [--profile [--profile-rows 500]]

On the same database and the same generated rows (slugs bench-00001…), it
times NEW rows (no bench row in the database) and then UPDATES (every row has
a new title and a new status) along five paths:

  (a) stock   — a plain `import_export.resources.ModelResource` for Project with
                the library's default options, columns named after the model
                fields, `import_data(dataset, dry_run=False, use_transactions=True)`:
                the peer every Django project starts from;
  (b) portal  — `run_import(ProjectResource, dataset, dry_run=False)`, exactly what
                the admin's confirm step and `import_spreadsheet` run (history included);
  (p) preview — `run_import(ProjectResource, dataset, dry_run=True)`, the admin's
                preview step before the confirmation: for information (nothing is
                written; its updates start from the original rows);
  (c) bulk    — `bulk_create` / `bulk_update` of the same rows and `bulk_create` of
                the many-to-many links, without history: the floor;
  (d) bulk+h  — (c) plus the history records (`bulk_history_create`) and their
                many-to-many snapshots: for information only, what a bulk path that
                keeps the history would cost.

Each path runs in its own child process (so that its peak resident memory is its
own), starting from a database without bench rows; the rows are checked after
every run against what they should hold, and history is counted.

Without --database-url, the database is a throwaway SQLite file in a temporary
folder, migrated and loaded with the prefecture's content (`seed_content`).
With --database-url (e.g. PostgreSQL), the database must already be migrated and
hold the prefecture's content; the benchmark creates and deletes only its own
rows (projects whose slug starts with "bench-", their links and their history).
"""
import argparse
import cProfile
import datetime
import gc
import hashlib
import io
import json
import os
import pstats
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PREFIX = "bench-"
POLES = ("PASS", "Capenergies", "Orpheme")
SEED = 20250101
PATHS = {
    "a": "(a) stock ModelResource",
    "b": "(b) portail run_import",
    "p": "(p) aperçu, dry run",
    "c": "(c) bulk, sans historique",
    "d": "(d) bulk + historique",
}
GOAL_SPEEDUP = 10
GOAL_FLOOR_RATIO = 4
GOAL_MEMORY_MB = 300
MB = 1024 * 1024
WARM_UP_ROWS = 20
# Untranslated columns that modeltranslation fills with the French text on save.
MIRRORED_FIELDS = ["title", "summary", "body"]
# Rows a bulk query writes (50, 200 or 1000 make no real difference to bulk_update:
# its cost is Django compiling one CASE WHEN pk=… a field and a row).
BATCH_SIZE = 500

# Model fields the stock resource imports, named as the model names them.
STOCK_FIELDS = [
    "slug", "title_fr", "pole", "kind", "status", "themes", "territories", "summary_fr", "body_fr",
    "start_date", "end_date", "website", "order", "is_published", "source", "source_url", "verified_on",
]
# Scalar fields every path writes (the bulk paths' update list).
SCALAR_FIELDS = [
    "title_fr", "pole_id", "kind", "status", "summary_fr", "body_fr", "start_date", "end_date", "website",
    "order", "is_published", "source", "source_url", "verified_on",
]


def log(message):
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- Django


def setup_django(database_url):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings_test")
    os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()


def prepare_database(own_sqlite):
    """Migrates and seeds a throwaway database; only checks a given one."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from poles.models import Pole

    if own_sqlite:
        call_command("migrate", verbosity=0, interactive=False)
        call_command("seed_content", stdout=io.StringIO())
    else:
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            sys.exit("La base indiquée n'est pas à jour : lancez d'abord « manage.py migrate ».")
    missing = set(POLES) - set(Pole.objects.filter(acronym__in=POLES).values_list("acronym", flat=True))
    if missing:
        sys.exit(f"Pôles absents de la base : {', '.join(sorted(missing))} "
                 "(lancez « manage.py seed_content »).")


# ---------------------------------------------------------------- rows


def references():
    """Seeded keys the rows draw from: themes by slug, unambiguous territory codes."""
    from poles.models import Territory, Theme

    themes = sorted(Theme.objects.values_list("slug", flat=True))
    codes = defaultdict(int)
    for code in Territory.objects.exclude(code="").values_list("code", flat=True):
        codes[code.lower()] += 1
    territories = sorted(code for code, count in codes.items() if count == 1)
    return themes, territories


def make_rows(count, prefix=PREFIX):
    """The canonical rows, identical in every process: one dict a project."""
    from poles.models import Project

    themes, territories = references()
    kinds = list(Project.Kind.values)
    statuses = list(Project.Status.values)
    rng = random.Random(SEED)
    rows = []
    for number in range(1, count + 1):
        start = datetime.date(2010, 1, 1) + datetime.timedelta(days=rng.randrange(5000))
        rows.append({
            "slug": f"{prefix}{number:05d}",
            "title": f"Projet de banc d'essai n° {number}",
            "pole": POLES[number % len(POLES)],
            "kind": kinds[number % len(kinds)],
            "status": statuses[number % len(statuses)],
            "themes": sorted(rng.sample(themes, rng.choice((2, 3)))),
            "territories": sorted(rng.sample(territories, rng.choice((2, 3)))),
            "summary": f"Résumé du projet {number} : un programme de recherche et développement du pôle.",
            "body": " ".join([f"Le projet n° {number} réunit des entreprises et des laboratoires."] * 4),
            "start_date": start,
            "end_date": start + datetime.timedelta(days=365 * 3),
            "website": f"https://projets.example.fr/{number}",
            "order": number % 100,
            "is_published": True,
            "source": "Banc d'essai des imports",
            "source_url": "https://www.example.fr/source",
            "verified_on": datetime.date(2025, 1, 15),
        })
    return rows


def updated(rows):
    """The same rows, every one with a new title and a new status."""
    from poles.models import Project

    statuses = list(Project.Status.values)
    result = []
    for row in rows:
        row = dict(row)
        row["title"] += " (révisé)"
        row["status"] = statuses[(statuses.index(row["status"]) + 1) % len(statuses)]
        result.append(row)
    return result


def digest(rows):
    return hashlib.sha256(json.dumps(rows, default=str, sort_keys=True).encode()).hexdigest()[:16]


def portal_dataset(rows):
    """The rows as an editor's spreadsheet: ProjectResource's French columns, cells as a CSV gives them."""
    import tablib

    from poles.models import Project
    from poles.resources import LIST_SEPARATOR

    kinds, statuses = dict(Project.Kind.choices), dict(Project.Status.choices)
    headers = [
        "slug", "titre", "pole", "type", "statut", "thematiques", "territoires", "resume", "description",
        "date_debut", "date_fin", "site_internet", "ordre", "publie", "source", "source_url", "verifie_le",
    ]
    dataset = tablib.Dataset(headers=headers)
    for row in rows:
        dataset.append([
            row["slug"], row["title"], row["pole"], str(kinds[row["kind"]]), str(statuses[row["status"]]),
            LIST_SEPARATOR.join(row["themes"]), LIST_SEPARATOR.join(row["territories"]), row["summary"],
            row["body"], row["start_date"].isoformat(), row["end_date"].isoformat(), row["website"],
            str(row["order"]), "oui" if row["is_published"] else "non", row["source"], row["source_url"],
            row["verified_on"].strftime("%d/%m/%Y"),
        ])
    return dataset


def stock_dataset(rows):
    """The rows with the model's field names as columns, and primary keys for relations."""
    import tablib

    from poles.models import Pole, Territory, Theme

    poles = dict(Pole.objects.values_list("acronym", "pk"))
    themes = dict(Theme.objects.values_list("slug", "pk"))
    territories = {
        code.lower(): pk for code, pk in Territory.objects.exclude(code="").values_list("code", "pk")
    }
    dataset = tablib.Dataset(headers=STOCK_FIELDS)
    for row in rows:
        dataset.append([
            row["slug"], row["title"], poles[row["pole"]], row["kind"], row["status"],
            ",".join(str(themes[slug]) for slug in row["themes"]),
            ",".join(str(territories[code]) for code in row["territories"]),
            row["summary"], row["body"], row["start_date"].isoformat(), row["end_date"].isoformat(),
            row["website"], row["order"], 1 if row["is_published"] else 0, row["source"], row["source_url"],
            row["verified_on"].isoformat(),
        ])
    return dataset


# ---------------------------------------------------------------- the paths


def stock_resource_class():
    from import_export import resources

    from poles.models import Project

    class StockProjectResource(resources.ModelResource):
        class Meta:
            model = Project
            import_id_fields = ["slug"]
            fields = STOCK_FIELDS

    return StockProjectResource


def run_stock(dataset):
    result = stock_resource_class()().import_data(dataset, dry_run=False, use_transactions=True)
    if result.has_errors() or result.has_validation_errors():
        errors = [str(error.error) for _, row_errors in result.row_errors() for error in row_errors][:3]
        invalid = [str(row.error_dict) for row in result.invalid_rows][:3]
        raise RuntimeError(f"import refusé : {errors or invalid}")
    return {"new": result.totals["new"], "updated": result.totals["update"]}


def run_portal(dataset):
    from poles.resources import ProjectResource
    from poles.spreadsheets import run_import

    report = run_import(ProjectResource, dataset, dry_run=False)
    if not report.applied:
        raise RuntimeError(f"import refusé : {report.errors[:3]}")
    return {"new": report.new, "updated": report.updated}


class RowReader:
    """What the bulk paths must do with the editor's cells: resolve each key with
    one query a table, parse choices, dates and numbers."""

    def __init__(self):
        from poles.models import Pole, Project, Territory, Theme

        self.poles = {acronym.lower(): pk for acronym, pk in Pole.objects.values_list("acronym", "pk")}
        self.themes = {slug.lower(): pk for slug, pk in Theme.objects.values_list("slug", "pk")}
        self.territories = {}
        for code, pk in Territory.objects.exclude(code="").values_list("code", "pk"):
            self.territories.setdefault(code.lower(), []).append(pk)
        self.kinds = {str(label).lower(): code for code, label in Project.Kind.choices}
        self.statuses = {str(label).lower(): code for code, label in Project.Status.choices}

    def values(self, row):
        return {
            "title_fr": row["titre"].strip(),
            "pole_id": self.poles[row["pole"].strip().lower()],
            "kind": self.kinds[row["type"].strip().lower()],
            "status": self.statuses[row["statut"].strip().lower()],
            "summary_fr": row["resume"].strip(),
            "body_fr": row["description"].strip(),
            "start_date": datetime.date.fromisoformat(row["date_debut"]),
            "end_date": datetime.date.fromisoformat(row["date_fin"]),
            "website": row["site_internet"].strip(),
            "order": int(row["ordre"]),
            "is_published": row["publie"].strip().lower() == "oui",
            "source": row["source"].strip(),
            "source_url": row["source_url"].strip(),
            "verified_on": datetime.datetime.strptime(row["verifie_le"], "%d/%m/%Y").date(),
        }

    def links(self, row):
        themes = {self.themes[key.strip().lower()] for key in row["thematiques"].split(";") if key.strip()}
        territories = set()
        for key in row["territoires"].split(";"):
            if key.strip():
                (pk,) = self.territories[key.strip().lower()]  # the rows use unambiguous codes only
                territories.add(pk)
        return themes, territories


def run_bulk(dataset, history=False):
    """Creates the missing rows and updates the others, in one transaction."""
    from django.db import transaction
    from django.utils import timezone

    from poles.models import Project

    reader = RowReader()
    now = timezone.now()
    themes_through, territories_through = Project.themes.through, Project.territories.through
    rows = list(dataset.dict)
    with transaction.atomic():
        existing = Project.objects.filter(slug__in=[row["slug"] for row in rows]).in_bulk(field_name="slug")
        new, changed, wanted = [], [], {}
        for row in rows:
            values = reader.values(row)
            project = existing.get(row["slug"])
            if project is None:
                project = Project(slug=row["slug"], created_at=now, updated_at=now, **values)
                new.append(project)
            else:
                for name, value in values.items():
                    setattr(project, name, value)
                project.updated_at = now
                changed.append(project)
            wanted[row["slug"]] = reader.links(row)
        Project.objects.bulk_create(new, batch_size=BATCH_SIZE)
        if changed:
            # The untranslated columns mirror the French ones, as save() writes them
            # (rewrite(False): modeltranslation would turn "title" into "title_fr").
            Project.objects.rewrite(False).bulk_update(
                changed, [*SCALAR_FIELDS, *MIRRORED_FIELDS, "updated_at"], batch_size=BATCH_SIZE
            )
        projects = new + changed
        by_id = {project.pk: project for project in projects}
        links = {}  # (through model) -> {project id: [(link id, target id)]}, for the history
        for through, column, position in (
            (themes_through, "theme_id", 0),
            (territories_through, "territory_id", 1),
        ):
            current = defaultdict(dict)
            if changed:
                for link_id, project_id, target in through.objects.filter(
                    project_id__in=[p.pk for p in changed]
                ).values_list("pk", "project_id", column):
                    current[project_id][target] = link_id
            to_add, to_remove = [], []
            for project in projects:
                target = wanted[project.slug][position]
                have = current[project.pk]
                to_add += [through(project_id=project.pk, **{column: pk}) for pk in target - have.keys()]
                to_remove += [have.pop(pk) for pk in have.keys() - target]
            for link in through.objects.bulk_create(to_add, batch_size=BATCH_SIZE):
                current[link.project_id][getattr(link, column)] = link.pk
            through.objects.filter(pk__in=to_remove).delete()  # none in this benchmark
            links[through] = current
        if history:
            bulk_history(projects, links, new_ids={project.pk for project in new}, now=now)
    return {"new": len(new), "updated": len(changed)}


def bulk_history(projects, links, new_ids, now):
    """One history record a project, with its many-to-many snapshot, in a few queries."""
    from django.apps import apps

    from poles.models import Project

    history_model = Project.history.model
    fields = [field.attname for field in history_model.tracked_fields]
    records = [
        history_model(
            history_date=now,
            history_type="+" if project.pk in new_ids else "~",
            **{name: getattr(project, name) for name in fields},
        )
        for project in projects
    ]
    records = history_model.objects.bulk_create(records, batch_size=BATCH_SIZE)
    if records and records[0].pk is None:  # a database that returns no primary keys
        records = list(history_model.objects.filter(history_date=now, slug__in=[p.slug for p in projects]))
    for name, column in (("themes", "theme_id"), ("territories", "territory_id")):
        m2m_model = apps.get_model("poles", f"HistoricalProject_{name}")
        current = links[getattr(Project, name).through]
        m2m_model.objects.bulk_create(
            [
                m2m_model(id=link_id, history_id=record.pk, project_id=record.id, **{column: target})
                for record in records
                for target, link_id in sorted(current[record.id].items())
            ],
            batch_size=BATCH_SIZE,
        )


def run_preview(dataset):
    """The admin's preview step: the same import as a dry run, rolled back."""
    from poles.resources import ProjectResource
    from poles.spreadsheets import run_import

    report = run_import(ProjectResource, dataset, dry_run=True)
    if not report.is_valid:
        raise RuntimeError(f"aperçu refusé : {report.errors[:3]}")
    return {"new": report.new, "updated": report.updated}


RUNNERS = {
    "a": run_stock,
    "b": run_portal,
    "p": run_preview,
    "c": run_bulk,
    "d": lambda dataset: run_bulk(dataset, history=True),
}
# Paths that must record history, and the dry run, which must write nothing.
WITH_HISTORY = {"a", "b", "d"}
DRY_RUN = {"p"}


# ---------------------------------------------------------------- checks and cleaning


def clean_bench_rows():
    """Deletes the bench projects, their links and their history, recording no history."""
    from django.apps import apps
    from django.db import transaction
    from django.test import override_settings

    from poles.models import Project

    with override_settings(SIMPLE_HISTORY_ENABLED=False), transaction.atomic():
        for name in ("themes", "territories"):
            apps.get_model("poles", f"HistoricalProject_{name}").objects.filter(
                history__slug__startswith=PREFIX
            ).delete()
        Project.history.filter(slug__startswith=PREFIX).delete()
        Project.themes.through.objects.filter(project__slug__startswith=PREFIX).delete()
        Project.territories.through.objects.filter(project__slug__startswith=PREFIX).delete()
        Project.objects.filter(slug__startswith=PREFIX).delete()


def check_rows(rows):
    """How many bench rows differ from what they should hold (0 is right), and one example."""
    from django.db import connection

    from poles.models import Project

    expected = {row["slug"]: row for row in rows}
    themes, territories = defaultdict(set), defaultdict(set)
    for slug, key in Project.themes.through.objects.filter(project__slug__startswith=PREFIX).values_list(
        "project__slug", "theme__slug"
    ):
        themes[slug].add(key)
    for slug, key in Project.territories.through.objects.filter(project__slug__startswith=PREFIX).values_list(
        "project__slug", "territory__code"
    ):
        territories[slug].add(key.lower())
    wrong, example, seen = 0, None, set()
    for project in Project.objects.filter(slug__startswith=PREFIX).values(
        "slug", "title_fr", "pole__acronym", *SCALAR_FIELDS[2:]
    ):
        slug = project["slug"]
        seen.add(slug)
        row = expected.get(slug)
        if row is None:
            wrong += 1
            example = example or f"{slug} : ligne inattendue"
            continue
        got = {**project, "title": project["title_fr"], "pole": project["pole__acronym"],
               "summary": project["summary_fr"], "body": project["body_fr"],
               "themes": sorted(themes[slug]), "territories": sorted(territories[slug])}
        differences = [name for name in row if name != "slug" and got[name] != row[name]]
        if differences:
            wrong += 1
            example = example or f"{slug} : {', '.join(differences)}"
    with connection.cursor() as cursor:  # raw SQL: modeltranslation rewrites these names in the ORM
        mirrors = " OR ".join(f'"{name}" <> "{name}_fr"' for name in MIRRORED_FIELDS)
        table = Project._meta.db_table
        cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE slug LIKE %s AND ({mirrors})", [PREFIX + "%"])
        (unmirrored,) = cursor.fetchone()
    if unmirrored:
        wrong += unmirrored
        example = example or f"{unmirrored} ligne(s) : {', '.join(MIRRORED_FIELDS)} différents du français"
    missing = len(expected.keys() - seen)
    if missing:
        example = example or f"{missing} ligne(s) absente(s)"
    return wrong + missing, example


def check_history(rows, since, phase):
    """What the step recorded in the history of the bench rows: how many rows got
    a record, whether their type says what happened ("+" created, "~" changed),
    and whether each row's latest record holds the row as written (fields and
    relations)."""
    from django.apps import apps

    from poles.models import Pole, Project

    history = Project.history.model
    records = history.objects.filter(slug__startswith=PREFIX, history_date__gte=since)
    types, latest = defaultdict(set), {}
    for record in records.order_by("-history_date", "-history_id").values(
        "history_id", "slug", "history_type", "title_fr", "status", "pole_id"
    ):
        types[record["slug"]].add(record["history_type"])
        latest.setdefault(record["slug"], record)
    snapshots = {name: defaultdict(set) for name in ("themes", "territories")}
    latest_ids = {record["history_id"] for record in latest.values()}
    for name, key in (("themes", "theme__slug"), ("territories", "territory__code")):
        through = apps.get_model("poles", f"HistoricalProject_{name}")
        for history_id, value in through.objects.filter(
            history__slug__startswith=PREFIX, history__history_date__gte=since
        ).values_list("history_id", key):
            if history_id in latest_ids:
                snapshots[name][history_id].add(value.lower())
    poles = dict(Pole.objects.values_list("acronym", "pk"))
    expected_type = "+" if phase == "new" else "~"
    wrong_type = wrong_content = 0
    for row in rows:
        record = latest.get(row["slug"])
        if record is None:
            continue
        if expected_type not in types[row["slug"]] or (phase == "update" and "+" in types[row["slug"]]):
            wrong_type += 1
        fields = (record["title_fr"], record["status"], record["pole_id"])
        if fields != (row["title"], row["status"], poles[row["pole"]]) \
                or snapshots["themes"][record["history_id"]] != set(row["themes"]) \
                or snapshots["territories"][record["history_id"]] != set(row["territories"]):
            wrong_content += 1
    return {
        "history_total": records.count(),
        "history_rows": sum(1 for row in rows if row["slug"] in latest),
        "history_types": sorted({kind for kinds in types.values() for kind in kinds}),
        "history_wrong_type": wrong_type,
        "history_wrong_content": wrong_content,
    }


# ---------------------------------------------------------------- measuring


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def rss_status_mb(key):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise OSError(key)


def reset_peak_rss():
    """Resets the process's peak resident memory (Linux: /proc/self/clear_refs) and
    returns the resident memory now; None where the peak cannot be reset."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return rss_status_mb("VmRSS")
    except OSError:
        return None


def peak_rss_rise(start):
    """How far resident memory rose above `start` since reset_peak_rss() (None without a reset)."""
    if start is None:
        return None
    return rss_status_mb("VmHWM") - start


def timed(runner, dataset):
    from django.db import connection
    from django.utils import timezone

    gc.collect()
    counter = QueryCounter()
    since = timezone.now()
    rss_start, maxrss_start = reset_peak_rss(), maxrss_mb()
    with connection.execute_wrapper(counter):
        start, cpu = time.perf_counter(), time.process_time()
        totals = runner(dataset)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    rise = peak_rss_rise(rss_start)
    if rise is None:  # no reset possible: the rise of the lifetime peak, a lower bound
        rise = maxrss_mb() - maxrss_start
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "queries": counter.count, "totals": totals,
            "since": since, "rss_rise_mb": rise, "rss_reset": rss_start is not None, "maxrss_mb": maxrss_mb()}


def traced_peak(runner, dataset):
    gc.collect()
    tracemalloc.start()
    try:
        runner(dataset)
        return tracemalloc.get_traced_memory()[1] / MB
    finally:
        tracemalloc.stop()


def child(path, count, use_tracemalloc, repeat, output):
    """Runs one path: new rows, then updates (`repeat` times, keeping the best
    time of each); then once more under tracemalloc."""
    rows = make_rows(count)
    rows_updated = updated(rows)
    build = stock_dataset if path == "a" else portal_dataset
    dataset_new, dataset_update = build(rows), build(rows_updated)
    runner = RUNNERS[path]
    dry = path in DRY_RUN
    result = {"path": path, "rows": count, "digest": digest(rows) + "/" + digest(rows_updated)}

    def prepare(phase):
        """The state a step starts from: no bench row for new rows; for the dry
        run's updates, the original rows (a dry run leaves nothing behind)."""
        if phase == "new":
            clean_bench_rows()
        elif dry:
            run_bulk(portal_dataset(rows))

    # Warm-up on a few other rows, as a running server would be: imports done, queries compiled.
    clean_bench_rows()
    warm_up = make_rows(WARM_UP_ROWS, prefix=PREFIX + "w-")
    if dry:
        run_bulk(portal_dataset(warm_up))
    runner(build(warm_up))
    runner(build(updated(warm_up)))
    clean_bench_rows()
    gc.collect()
    attempts = {"new": [], "update": []}
    for attempt in range(1, repeat + 1):
        for phase, dataset, written in (("new", dataset_new, rows), ("update", dataset_update, rows_updated)):
            prepare(phase)
            log(f"  {PATHS[path]} : {'nouvelles lignes' if phase == 'new' else 'mises à jour'} ({count})"
                + (f", essai {attempt}/{repeat}" if repeat > 1 else "") + "…")
            measure = timed(runner, dataset)
            # What the database must hold now: the dry run writes nothing.
            expected = ([] if phase == "new" else rows) if dry else written
            wrong, example = check_rows(expected)
            totals = measure["totals"]
            if totals["new" if phase == "new" else "updated"] != count:
                wrong, example = wrong or count, example or f"compte rendu inattendu : {totals}"
            history = check_history(written, measure.pop("since"), phase)
            measure.update(wrong=wrong, example=example, **history)
            attempts[phase].append(measure)
            log(f"    {measure['seconds']:.2f} s, {fmt_rate(rate(count, measure['seconds']))} lignes/s, "
                f"CPU {measure['cpu_seconds']:.2f} s, {measure['queries'] / count:.1f} requêtes/ligne, "
                f"historique {measure['history_rows']}/{count} {''.join(measure['history_types'])}, "
                f"mémoire résidente +{measure['rss_rise_mb']:.0f} Mo, "
                + ("contenu vérifié" if not wrong else f"{wrong} ligne(s) fausse(s) : {example}"))
    for phase, measures in attempts.items():  # the best time; the worst content and history
        best = dict(min(measures, key=lambda measure: measure["seconds"]))
        worst = max(measures, key=lambda measure: measure["wrong"])
        best.update(
            wrong=worst["wrong"], example=worst["example"],
            history_rows=min(measure["history_rows"] for measure in measures),
            rss_rise_mb=max(measure["rss_rise_mb"] for measure in measures),
            history_wrong_type=max(measure["history_wrong_type"] for measure in measures),
            history_wrong_content=max(measure["history_wrong_content"] for measure in measures),
            all_seconds=[measure["seconds"] for measure in measures],
        )
        result[phase] = best
    if use_tracemalloc:
        log(f"  {PATHS[path]} : pic mémoire (tracemalloc, plus lent)…")
        for phase, dataset in (("new", dataset_new), ("update", dataset_update)):
            prepare(phase)
            result[phase]["traced_peak_mb"] = traced_peak(runner, dataset)
            log(f"    {phase} : {result[phase]['traced_peak_mb']:.0f} Mo")
    clean_bench_rows()
    Path(output).write_text(json.dumps(result))


# Steps of path (b), as (label, function, files): their cumulative time in the profile.
# Nested steps are indented. When the portal overrides a library method, the outer
# call is counted (the larger cumulative time); steps absent from the profile are not shown.
LIBRARY, PORTAL = "import_export/resources.py", "poles/resources.py"
PROFILE_STEPS = [
    ("lignes une à une (import_row)", "import_row", (LIBRARY,)),
    ("  recherche de l'existant (get_or_init_instance)", "get_or_init_instance", (LIBRARY,)),
    ("  cellules avant, pour l'aperçu (after_init_instance)", "after_init_instance", (PORTAL,)),
    ("  copie et export avant, pour le diff (Diff.__init__)", "__init__", (LIBRARY,)),
    ("  lecture des cellules (import_instance)", "import_instance", (PORTAL, LIBRARY)),
    ("  comparaison à la base (skip_row)", "skip_row", (PORTAL, LIBRARY)),
    ("  validation (validate_instance)", "validate_instance", (PORTAL, LIBRARY)),
    ("  enregistrement (save_instance)", "save_instance", (PORTAL, LIBRARY)),
    ("  relations m2m (save_m2m)", "save_m2m", (PORTAL, LIBRARY)),
    ("  export après, pour le diff (Diff.compare_with)", "compare_with", (LIBRARY,)),
    ("  changements pour l'aperçu (after_import_row)", "after_import_row", (PORTAL,)),
    ("fin d'import (after_import)", "after_import", (PORTAL, LIBRARY)),
    ("  écriture groupée (_write)", "_write", (PORTAL,)),
    ("    mises à jour (_update_rows)", "_update_rows", (PORTAL,)),
    ("    relations (_write_relations)", "_write_relations", (PORTAL,)),
    ("    historique groupé (bulk_history_create)", "bulk_history_create", ("simple_history/manager.py",)),
    ("historique ligne à ligne (create_historical_record)", "create_historical_record",
     ("simple_history/models.py",)),
    ("  dont instantanés m2m de l'historique", "create_historical_record_m2ms",
     ("simple_history/models.py",)),
    ("contrôle des colonnes et des clés (check_columns)", "check_columns", ("poles/spreadsheets.py",)),
    ("compte rendu (_report)", "_report", ("poles/spreadsheets.py",)),
]


def step_time(stats, function, files):
    """Cumulative seconds of a step; None when the profile never entered it."""
    times = []
    for (path, _, name), value in stats.stats.items():
        if name != function or not path.endswith(files):
            continue
        if function == "__init__":  # only the __init__ that import_row calls: the Diff's
            times += [timing[3] for caller, timing in value[4].items() if caller[2] == "import_row"]
        else:
            times.append(value[3])
    return max(times) if times else None


class QueryKinds:
    """Counts queries by verb and main table."""

    def __init__(self):
        import re

        self.pattern = re.compile(r'^\s*(SELECT|INSERT|UPDATE|DELETE|SAVEPOINT|RELEASE|ROLLBACK)\b'
                                  r'(?:.*?\b(?:FROM|INTO|UPDATE)\s+"?(\w+)"?)?', re.S | re.I)
        self.counts = defaultdict(int)

    def __call__(self, execute, sql, params, many, context):
        match = self.pattern.match(sql)
        kind = f"{match.group(1).upper()} {match.group(2) or ''}".strip() if match else sql.split()[0]
        if kind == "UPDATE":
            kind = "UPDATE " + sql.split()[1].strip('"')
        elif kind == "SELECT" and '"_check"' in sql:
            kind = "SELECT (contrôle d'une contrainte CHECK, full_clean)"
        self.counts[kind] += 1
        return execute(sql, params, many, context)


def profile_child(count, output):
    """cProfile of path (b), new rows then updates: where a row's time goes, its
    queries, and the 15 heaviest cumulative entries."""
    from django.db import connection

    rows = make_rows(count)
    dataset_new, dataset_update = portal_dataset(rows), portal_dataset(updated(rows))
    clean_bench_rows()
    warm_up = make_rows(WARM_UP_ROWS, prefix=PREFIX + "w-")
    run_portal(portal_dataset(warm_up))
    run_portal(portal_dataset(updated(warm_up)))
    clean_bench_rows()
    texts = {}
    for phase, dataset in (("new", dataset_new), ("update", dataset_update)):
        log(f"  profil de (b) : {'nouvelles lignes' if phase == 'new' else 'mises à jour'} ({count})…")
        profiler, kinds = cProfile.Profile(), QueryKinds()
        with connection.execute_wrapper(kinds):
            profiler.enable()
            run_portal(dataset)
            profiler.disable()
        stats = pstats.Stats(profiler)
        total = max(value[3] for value in stats.stats.values())
        lines = [f"{'étape':<62}{'s cumulées':>11}{'part':>7}{'ms/ligne':>10}"]
        for label, function, files in PROFILE_STEPS:
            cumulative = step_time(stats, function, files)
            if cumulative is not None:
                lines.append(f"{label:<62}{cumulative:>11.2f}{100 * cumulative / total:>6.0f}%"
                             f"{1000 * cumulative / count:>10.1f}")
        lines.append("")
        lines.append(f"Requêtes SQL : {sum(kinds.counts.values()) / count:.1f} par ligne")
        for kind, number in sorted(kinds.counts.items(), key=lambda item: -item[1]):
            if number / count >= 0.05:
                lines.append(f"  {number / count:>5.1f}  {kind}")
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(15)
        lines.append("")
        lines.append("15 premières entrées du profil, par temps cumulé :")
        lines.append(out.getvalue().strip())
        texts[phase] = "\n".join(lines)
    clean_bench_rows()
    Path(output).write_text(json.dumps(texts))


# ---------------------------------------------------------------- report


def rate(count, seconds):
    return count / seconds if seconds else float("inf")


def fmt_rate(value, estimated=False):
    return f"{value:,.0f}{'*' if estimated else ''}".replace(",", " ")


def code_version():
    """The commit measured, whether the application's code differs from it, and a
    fingerprint of both (to tell whether it changed during the run)."""
    def git(*arguments):
        return subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    try:
        commit = git("log", "-1", "--format=%h %s")
        changes = git("diff", "HEAD", "--", "poles", "portal")
    except OSError:
        return "inconnu (git absent)", None
    label = commit[:90] + (" — avec des modifications non validées dans poles/ ou portal/" if changes else "")
    return label, hashlib.sha256((commit + changes).encode()).hexdigest()


def verdict(ok):
    return "OBJECTIF ATTEINT" if ok else "OBJECTIF NON ATTEINT"


def report(results, args, database_label, load_before):
    rows, stock_rows, use_tracemalloc = args.rows, args.stock_rows, not args.no_tracemalloc
    load_after = os.getloadavg()[0]
    print()
    print(f"Base : {database_label} — {rows} lignes de projets (slugs {PREFIX}00001…)")
    print(f"Code mesuré : {args.code_before[0]}")
    if args.code_before[1] != code_version()[1]:
        print("ATTENTION : le code de poles/ ou portal/ a changé pendant la mesure : "
              "chiffres non comparables.")
    # The benchmark itself keeps one processor busy.
    busy = max(load_before, load_after) > 1 + 0.5 * ((os.cpu_count() or 1) - 1)
    print(f"Machine : {os.cpu_count()} processeur(s), charge moyenne sur 1 min {load_before:.1f} au début, "
          f"{load_after:.1f} à la fin" + (" — machine chargée : les temps écoulés sont bruités, "
                                         "voir aussi le temps CPU ci-dessous." if busy else "."))
    if args.repeat > 1:
        print(f"Temps : le meilleur de {args.repeat} essais par étape.")
    if "a" in results and stock_rows < rows:
        print(f"(a) n'a importé que les {stock_rows} premières de ces lignes (--stock-rows) : ses débits "
              f"marqués * sont extrapolés à {rows} lignes en supposant un débit constant par ligne.")
    if len({result["digest"] for result in results.values() if result["rows"] == rows}) > 1:
        print("ATTENTION : les chemins n'ont pas reçu les mêmes lignes.")
    print()
    header = (f"{'chemin':<27}{'lignes':>7} |{'nouv. s':>8}{'l/s':>8}{'CPU s':>7}{'req/l':>6} |"
              f"{'m.à.j. s':>9}{'l/s':>8}{'CPU s':>7}{'req/l':>6} |{'tracemalloc':>12}{'RSS Δ':>10} |"
              f"{'historique':>12}")
    units = (f"{'':<27}{'':>7} |{'':>8}{'':>8}{'':>7}{'':>6} |{'':>9}{'':>8}{'':>7}{'':>6} |"
             f"{'pic Mo n/m':>12}{'Mo n/m':>10} |{'lignes n/m':>12}")
    print(header)
    print(units)
    print("-" * len(header))
    for key, result in results.items():
        count = result["rows"]
        new, upd = result["new"], result["update"]
        estimated = count < rows
        peak = f"{new['traced_peak_mb']:.0f} / {upd['traced_peak_mb']:.0f}" if use_tracemalloc else "—"
        print(
            f"{PATHS[key]:<27}{count:>7} |"
            f"{new['seconds']:>8.2f}{fmt_rate(rate(count, new['seconds']), estimated):>8}"
            f"{new['cpu_seconds']:>7.1f}{new['queries'] / count:>6.1f} |"
            f"{upd['seconds']:>9.2f}{fmt_rate(rate(count, upd['seconds']), estimated):>8}"
            f"{upd['cpu_seconds']:>7.1f}{upd['queries'] / count:>6.1f} |"
            f"{peak:>12}{new['rss_rise_mb']:>5.0f} /{upd['rss_rise_mb']:>3.0f} |"
            f"{new['history_rows']:>5} / {upd['history_rows']:<5}"
        )
    print()
    print("nouv. / m.à.j. : lignes nouvelles (aucune ligne du banc en base), puis mises à jour")
    print("  (titre et statut changés) ; s : temps écoulé ; l/s : lignes par seconde ;")
    print("  CPU s : temps de calcul du processus Python (avec SQLite, le moteur de base y est compris) ;")
    print("  req/l : requêtes SQL par ligne (un executemany compte pour une).")
    print("tracemalloc : pic des allocations Python pendant l'import (nouvelles / mises à jour),")
    print("  mesuré à part ; RSS Δ : hausse du pic de mémoire résidente du processus pendant l'import")
    print("  chronométré (pic remis à zéro avant chaque import, /proc/self/clear_refs)"
          + ("." if all(r[phase]["rss_reset"] for r in results.values() for phase in ("new", "update"))
             else " — remise à zéro impossible ici : hausse du pic de toute la vie du processus."))
    print("historique : lignes du banc qui ont reçu au moins un enregistrement d'historique pendant l'étape.")
    print(f"Chaque chemin tourne dans son propre processus, après un échauffement sur {WARM_UP_ROWS} "
          "autres lignes, et part d'une base sans lignes du banc.")
    if "p" in results:
        print("(p) est l'aperçu que l'admin calcule avant la confirmation (run_import, dry_run=True) : "
              "il n'écrit rien ;")
        print("  ses mises à jour partent des lignes d'origine. Dans l'admin, l'éditeur attend (p) puis (b).")
    history_problems = []
    for key, result in results.items():
        if key not in WITH_HISTORY:
            continue
        for phase, label, kind in (("new", "nouvelles lignes", "+"), ("update", "mises à jour", "~")):
            measure = result[phase]
            if measure["history_wrong_type"]:
                history_problems.append(
                    f"{PATHS[key]}, {label} : {measure['history_wrong_type']} ligne(s) sans enregistrement "
                    f"« {kind} »" + (" (ou avec un « + »)" if kind == "~" else "")
                    + f" ; types enregistrés : {', '.join(measure['history_types']) or 'aucun'}")
            if measure["history_wrong_content"]:
                history_problems.append(
                    f"{PATHS[key]}, {label} : {measure['history_wrong_content']} ligne(s) dont la dernière "
                    "version dans l'historique ne correspond pas à la ligne écrite (champs ou relations)")
    for problem in history_problems:
        print("ERREUR D'HISTORIQUE — " + problem)
    if not history_problems and WITH_HISTORY & results.keys():
        print("Historique vérifié : chaque ligne a reçu un enregistrement du bon type (« + » à la création, "
              "« ~ » à la mise à jour) dont le contenu et les relations sont ceux de la ligne.")
    problems = [
        f"{PATHS[key]} ({phase}) : {result[phase]['wrong']} ligne(s) fausse(s), "
        f"par ex. {result[phase]['example']}"
        for key, result in results.items() for phase in ("new", "update") if result[phase]["wrong"]
    ]
    for problem in problems:
        print("ERREUR DE CONTENU — " + problem)
    if not problems:
        print("Contenu vérifié après chaque étape : chaque chemin a écrit exactement les lignes attendues "
              "(champs, pôle, thématiques, territoires).")

    print()
    print("Objectifs")
    b = results.get("b")
    if b is None:
        print("  (b) non mesuré : aucun objectif ne peut être évalué.")
        return
    labels = (("new", "nouvelles lignes"), ("update", "mises à jour"))
    for phase, label in labels:
        if "a" not in results:
            print(f"  (b) / (a), {label} : (a) non mesuré")
            continue
        a = results["a"]
        speedup = rate(rows, b[phase]["seconds"]) / rate(a["rows"], a[phase]["seconds"])
        cpu_speedup = rate(rows, b[phase]["cpu_seconds"]) / rate(a["rows"], a[phase]["cpu_seconds"])
        note = ", débit de (a) extrapolé" if a["rows"] < rows else ""
        print(f"  débit (b) / débit (a), {label} : ×{speedup:.2f} (×{cpu_speedup:.2f} en temps CPU{note}) "
              f"— objectif ≥ ×{GOAL_SPEEDUP} : {verdict(speedup >= GOAL_SPEEDUP)}")
    for phase, label in labels:
        if "c" not in results:
            print(f"  temps (b) / temps (c), {label} : (c) non mesuré")
            continue
        c = results["c"]
        ratio = b[phase]["seconds"] / c[phase]["seconds"]
        cpu_ratio = b[phase]["cpu_seconds"] / max(c[phase]["cpu_seconds"], 1e-9)
        print(f"  temps (b) / temps (c), {label} : {ratio:.1f} ({cpu_ratio:.1f} en temps CPU) "
              f"— objectif ≤ {GOAL_FLOOR_RATIO} : {verdict(ratio <= GOAL_FLOOR_RATIO)}")
        if phase == "update" and ratio < 1:
            print("    NB : (c) met à jour avec bulk_update (une expression CASE par ligne et par colonne),")
            print("    plus lent ici que (b) : pour les mises à jour, ce plancher est lâche.")
    rss = max(b["new"]["rss_rise_mb"], b["update"]["rss_rise_mb"])
    process = max(b["new"]["maxrss_mb"], b["update"]["maxrss_mb"])
    if use_tracemalloc:
        traced = max(b["new"]["traced_peak_mb"], b["update"]["traced_peak_mb"])
        print(f"  mémoire de (b) à {rows} lignes : pic tracemalloc {traced:.0f} Mo, "
              f"hausse de la mémoire résidente {rss:.0f} Mo (pic du processus {process:.0f} Mo) "
              f"— objectif < {GOAL_MEMORY_MB} Mo pour le plus grand des deux : "
              f"{verdict(max(traced, rss) < GOAL_MEMORY_MB)}")
    else:
        print(f"  mémoire de (b) à {rows} lignes : hausse de la mémoire résidente {rss:.0f} Mo "
              f"(pic du processus {process:.0f} Mo, tracemalloc non mesuré) "
              f"— objectif < {GOAL_MEMORY_MB} Mo : {verdict(rss < GOAL_MEMORY_MB)}")
    complete = b["new"]["history_rows"] >= rows and b["update"]["history_rows"] >= rows
    correct = not any(b[phase][name] for phase in ("new", "update")
                      for name in ("wrong", "history_wrong_type", "history_wrong_content"))
    types = ["/".join(b[phase]["history_types"]) or "—" for phase in ("new", "update")]
    print(f"  historique de (b) : {b['new']['history_rows']}/{rows} lignes après les nouvelles, "
          f"{b['update']['history_rows']}/{rows} après les mises à jour ; types {types[0]} puis {types[1]} ; "
          f"{b['new']['history_wrong_type'] + b['update']['history_wrong_type']} type(s) faux, "
          f"{b['new']['history_wrong_content'] + b['update']['history_wrong_content']} contenu(s) faux "
          f"— objectif : chaque ligne, correctement : {verdict(complete and correct)}")
    if "p" in results:
        p = results["p"]
        for phase, label in labels:
            wait = rows / rate(p["rows"], p[phase]["seconds"]) + b[phase]["seconds"]
            print(f"  pour information, attente de l'éditeur dans l'admin, {label} : aperçu "
                  f"{p[phase]['seconds']:.1f} s + confirmation {b[phase]['seconds']:.1f} s = {wait:.1f} s")


# ---------------------------------------------------------------- main


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000, help="lignes de projets (défaut 10000)")
    parser.add_argument("--stock-rows", type=int, help="lignes importées par le chemin (a), débit extrapolé")
    parser.add_argument("--database-url", help="base existante (PostgreSQL…), migrée, avec seed_content")
    parser.add_argument("--paths", default="abpcd", help="chemins parmi a, b, p, c, d (défaut abpcd)")
    parser.add_argument("--repeat", type=int, default=1, help="essais par chemin, meilleur temps gardé")
    parser.add_argument("--no-tracemalloc", action="store_true", help="ne pas mesurer le pic tracemalloc")
    parser.add_argument("--profile", action="store_true", help="profil cProfile du chemin (b)")
    parser.add_argument("--profile-rows", type=int, default=500, help="lignes pour --profile (défaut 500)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rows < 1 or args.repeat < 1 or (args.stock_rows is not None and args.stock_rows < 1):
        parser.error("--rows, --stock-rows et --repeat sont des nombres positifs")
    args.stock_rows = min(args.stock_rows or args.rows, args.rows)
    args.paths = [key for key in PATHS if key in args.paths.replace(",", "")]
    return args


def spawn(arguments, database_url):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        output = handle.name
    try:
        command = [sys.executable, str(Path(__file__).resolve()), *arguments, "--child-output", output]
        completed = subprocess.run(command, env={**os.environ, "DATABASE_URL": database_url}, cwd=ROOT)
        if completed.returncode:
            sys.exit(f"Le processus de mesure {' '.join(arguments)} a échoué (code {completed.returncode}).")
        return json.loads(Path(output).read_text())
    finally:
        os.unlink(output)


def main():
    args = parse_args()
    if args.child:
        setup_django(os.environ["DATABASE_URL"])
        if args.child == "profile":
            profile_child(args.rows, args.child_output)
        else:
            child(args.child, args.rows, not args.no_tracemalloc, args.repeat, args.child_output)
        return

    with tempfile.TemporaryDirectory(prefix="import-bench-") as folder:
        own_sqlite = not args.database_url
        database_url = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
        setup_django(database_url)
        from django.conf import settings
        from django.db import connection

        from poles.spreadsheets import max_rows

        name = "fichier jetable" if own_sqlite else connection.settings_dict["NAME"]
        label = f"{connection.vendor} ({name})"
        log(f"Préparation de la base {label}…")
        prepare_database(own_sqlite)
        clean_bench_rows()
        connection.close()
        if settings.DEBUG:
            log("ATTENTION : DEBUG est actif (les requêtes sont journalisées en mémoire).")
        if args.rows > max_rows():
            log(f"NB : l'admin refuse les fichiers de plus de {max_rows()} lignes ; "
                "run_import ne le vérifie pas.")

        load_before = os.getloadavg()[0]
        args.code_before = code_version()
        results = {}
        for key in args.paths:
            count = args.stock_rows if key == "a" else args.rows
            extra = (["--no-tracemalloc"] if args.no_tracemalloc else []) + ["--repeat", str(args.repeat)]
            results[key] = spawn(["--child", key, "--rows", str(count), *extra], database_url)
        if results:
            report(results, args, label, load_before)
        if args.profile:
            texts = spawn(["--child", "profile", "--rows", str(args.profile_rows)], database_url)
            for phase, title in (("new", "nouvelles lignes"), ("update", "mises à jour")):
                print()
                print(f"Profil de (b), {title}, {args.profile_rows} lignes (cProfile : temps gonflés, "
                      "les parts comptent)")
                print(texts[phase].strip())


if __name__ == "__main__":
    main()
