"""Load test: the production stack under wrk while an editor saves through the
admin and spreadsheet imports run, then a check that no edit was lost.

    .venv/bin/python benchmarks/load_test.py                 # 50 connections, 60 s
    .venv/bin/python benchmarks/load_test.py --outage 5      # the database stopped 5 s mid-run

It starts its own PostgreSQL (tests/throwaway_postgres.py, fsync on), migrates
it, loads the prefecture's content, collects the static files and starts
gunicorn (2 workers, DJANGO_DEBUG=0, the repository's gunicorn.conf.py if
there is one). During the run:

- wrk drives the public pages (benchmarks/load_test.lua) with `--connections`;
- an editor, a real account made by `create_editor`, logs in to the admin and
  saves, `--edits` times, a pole's summary (French and English in one save) and
  a key figure (value and period in one save), each time with new values;
- `import_spreadsheet` imports a generated projects file (new projects), then a
  second one (updates of those and more new ones);
- with `--outage S`, the database is stopped for S seconds mid-run.

Then it checks, in the database: every save the editor saw accepted is there,
in order, with one history version each, and the record holds the last one
whole (both fields); every import that succeeded is there row for row, with
its history, and one that failed left nothing. Exit code 0 only if every check
passes and no page answered other than 200 (503 while the database is
stopped, with `--outage`, counted apart).
"""

import argparse
import html.parser
import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from tests.throwaway_postgres import PG_BIN_DIRS, ThrowawayPostgres, free_port, wait_until  # noqa: E402

PAGES = [
    "/",
    "/poles/",
    "/poles/capenergies/",
    "/poles/pass/",
    "/poles/orpheme/",
    "/projets/",
    "/projets/iter/",
    "/thematiques/",
    "/thematiques/solaire/",
    "/territoires/",
    "/territoires/manosque/",
    "/politique-nationale/",
    "/plan-du-site/",
    "/recherche/?q=energie",
    "/en/",
    "/en/poles/capenergies/",
]
EDITED_POLE = "Capenergies"
# The imports write another pole's projects: the pole's admin page lists its
# projects as editable inlines, and saving it would write back the values it
# was opened with (see the README, "Load and faults").
IMPORTED_POLE = "Orpheme"
EDITOR = "editeur.charge@alpes-de-haute-provence.gouv.fr"


def log(message):
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())} UTC] {message}", flush=True)


# ---------------------------------------------------------------- the editor


class FormReader(html.parser.HTMLParser):
    """The fields a browser would send from the admin's change form."""

    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.fields = form_id, False, []
        self.textarea = self.select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside or "disabled" in attrs:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.fields.append((name, attrs.get("value", "on")))
            elif kind not in ("submit", "button", "image", "file", "reset"):
                self.fields.append((name, attrs.get("value") or ""))
        elif tag == "textarea" and name:
            self.textarea = [name, ""]
        elif tag == "select" and name:
            self.select = {"name": name, "multiple": "multiple" in attrs, "chosen": [], "first": None}
        elif tag == "option" and self.select is not None:
            value = attrs.get("value", "")
            if self.select["first"] is None:
                self.select["first"] = value
            if "selected" in attrs:
                self.select["chosen"].append(value)

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self.textarea is not None:
            name, text = self.textarea
            # Browsers drop the line break that follows <textarea>.
            self.fields.append((name, text[1:] if text.startswith("\n") else text))
            self.textarea = None
        elif tag == "select" and self.select is not None:
            select = self.select
            chosen = select["chosen"] or (
                [] if select["multiple"] or select["first"] is None else [select["first"]]
            )
            self.fields += [(select["name"], value) for value in chosen]
            self.select = None


class Browser:
    """An editor's browser behind the HTTPS proxy: cookies, CSRF token, forms."""

    def __init__(self, port):
        self.port, self.cookies = port, {}

    def request(self, method, path, fields=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        origin = f"https://127.0.0.1:{self.port}"
        headers = {
            "X-Forwarded-Proto": "https",
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            headers.update(
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Origin": origin,
                    "Referer": origin + path,
                }
            )
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key] = rest.split(";", 1)[0]
            return response.status, response.getheader("Location"), response.read().decode()
        finally:
            connection.close()

    def form(self, path, form_id):
        status, _, page = self.request("GET", path)
        if status != 200:
            return status, None
        reader = FormReader(form_id)
        reader.feed(page)
        return status, reader.fields

    def login(self, password):
        status, fields = self.form("/admin/login/", "login-form")
        fields = [(k, v) for k, v in fields if k not in ("username", "password")]
        status, location, _ = self.request(
            "POST",
            "/admin/login/",
            fields + [("username", EDITOR), ("password", password), ("next", "/admin/")],
        )
        if status != 302:
            raise RuntimeError(f"login refused ({status})")

    def save(self, path, form_id, changes):
        """Opens the change form, changes some fields, saves: 'accepted' (redirect),
        'refused' (the form comes back with errors) or 'failed' (anything else)."""
        try:
            status, fields = self.form(path, form_id)
            if fields is None:
                return f"failed ({status} on opening)"
            fields = [(name, value) for name, value in fields if name not in changes] + list(changes.items())
            status, location, _ = self.request("POST", path, fields)
        except (OSError, http.client.HTTPException) as error:
            return f"failed ({error.__class__.__name__})"
        if status == 302:
            return "accepted"
        return "refused" if status == 200 else f"failed ({status})"


def editor(browser, targets, edits, duration, token, journal):
    """Saves the pole's summary and the key figure in turn, `edits` times each
    at most, spread over `duration` seconds and never beyond."""
    pole_path, figure_path = targets
    interval = duration * 0.8 / edits
    deadline = time.monotonic() + duration - interval
    for number in range(1, edits + 1):
        if time.monotonic() > deadline:
            break
        summary = (f"Résumé modifié n°{number} ({token})", f"Summary changed no. {number} ({token})")
        outcome = browser.save(pole_path, "pole_form", {"summary_fr": summary[0], "summary_en": summary[1]})
        journal.append(("pole", number, summary, outcome))
        figure = (1000 + number, f"mesure n°{number} ({token})")
        outcome = browser.save(
            figure_path, "keyfigure_form", {"value": str(figure[0]), "period_fr": figure[1]}
        )
        journal.append(("figure", number, figure, outcome))
        time.sleep(interval)


# ---------------------------------------------------------------- imports


def projects_file(folder, name, first, count, version, token):
    """A projects spreadsheet, as editors fill it: rows `first`…`first + count - 1`."""
    import tablib

    from poles.resources import ProjectResource
    from poles.spreadsheets import write_spreadsheet

    dataset = tablib.Dataset(headers=ProjectResource.column_names())
    for number in range(first, first + count):
        row = {
            "slug": f"charge-{token}-{number}",
            "titre": f"Projet de charge {number}",
            "pole": IMPORTED_POLE,
            "type": "programme",
            "statut": "en cours",
            "thematiques": "pathologies-emergentes-maladies-orphelines",
            "territoires": "04209",
            "resume": f"Version {version} du projet {number}.",
            "publie": "oui",
        }
        dataset.append([row.get(header, "") for header in dataset.headers])
    path = folder / name
    path.write_bytes(write_spreadsheet(dataset, "xlsx"))
    return path


def expected_rows(first, count, version, token):
    return {f"charge-{token}-{n}": f"Version {version} du projet {n}." for n in range(first, first + count)}


def importer(env, files, start_after, results):
    time.sleep(start_after)
    for path, rows in files:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "manage.py", "import_spreadsheet", str(path), "--model", "projects"],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
        )
        results.append(
            {
                "file": path.name,
                "rows": rows,
                "exit": done.returncode,
                "seconds": round(time.monotonic() - started, 1),
                "output": (done.stdout + done.stderr).strip().splitlines()[-1:],
            }
        )
        time.sleep(3)


# ---------------------------------------------------------------- checks


def check_editor(journal, initial_versions, pole, figure):
    """Problems found with the editor's saves, as sentences."""
    from poles.models import KeyFigure, Pole

    problems = []
    kinds = {
        "pole": (Pole, pole.pk, lambda record: (record.summary_fr, record.summary_en)),
        "figure": (KeyFigure, figure.pk, lambda record: (record.value, record.period_fr)),
    }
    for kind, (model, pk, values) in kinds.items():
        attempts = [(number, value, outcome) for k, number, value, outcome in journal if k == kind]
        accepted = [value for _, value, outcome in attempts if outcome == "accepted"]
        unknown = {value for _, value, outcome in attempts if outcome.startswith("failed")}
        versions = [
            values(version) for version in model.history.filter(id=pk).order_by("history_date", "history_id")
        ][initial_versions[kind] :]
        record = values(model.objects.get(pk=pk))
        refused = [number for number, _, outcome in attempts if outcome == "refused"]
        if refused:
            problems.append(f"{kind}: saves refused by the form: {refused}")
        lost = [value for value in accepted if value not in versions]
        if lost:
            problems.append(f"{kind}: {len(lost)} accepted save(s) missing from the history: {lost[:3]}")
        # Versions may also hold saves whose answer was lost (database stopped after the commit).
        strangers = [value for value in versions if value not in accepted and value not in unknown]
        if strangers:
            problems.append(f"{kind}: history versions nobody saved (partial saves?): {strangers[:3]}")
        if [value for value in versions if value in accepted] != accepted:
            problems.append(f"{kind}: history not in the order of the saves, or a save recorded twice")
        if versions and record != versions[-1]:
            problems.append(f"{kind}: the record holds {record}, its last version {versions[-1]}")
        if accepted and record != accepted[-1] and record not in unknown:
            problems.append(f"{kind}: the record holds {record}, the last accepted save was {accepted[-1]}")
    return problems


def check_imports(results, token):
    from poles.models import Project

    problems = []
    found = {
        project.slug: project
        for project in Project.objects.filter(slug__startswith=f"charge-{token}-")
        .select_related("pole")
        .prefetch_related("themes", "territories")
    }
    applied = [result for result in results if result["exit"] == 0]
    final = {}
    for result in applied:
        final.update(result["rows"])
    for result in results:
        if result["exit"] != 0:
            # Refused as a whole: none of its new values may be there, unless a later import wrote them.
            written = [
                slug
                for slug, summary in result["rows"].items()
                if slug in found and found[slug].summary_fr == summary and final.get(slug) != summary
            ]
            if written:
                problems.append(f"{result['file']}: failed, yet {len(written)} row(s) written")
    missing = [slug for slug in final if slug not in found]
    if missing:
        problems.append(f"{len(missing)} imported row(s) missing, e.g. {missing[:3]}")
    wrong = [
        slug
        for slug, summary in final.items()
        if slug in found
        and (
            found[slug].summary_fr != summary
            or found[slug].pole.acronym != IMPORTED_POLE
            or [t.slug for t in found[slug].themes.all()] != ["pathologies-emergentes-maladies-orphelines"]
            or [t.code for t in found[slug].territories.all()] != ["04209"]
        )
    ]
    if wrong:
        problems.append(f"{len(wrong)} imported row(s) not as in the file, e.g. {wrong[:3]}")
    strays = [slug for slug in found if slug not in final]
    if strays:
        problems.append(f"{len(strays)} project(s) from failed imports present, e.g. {strays[:3]}")
    for slug, project in found.items():
        expected = sum(1 for result in applied if slug in result["rows"])
        if project.history.count() != expected:
            problems.append(f"{slug}: {project.history.count()} history version(s), {expected} expected")
            break
    return problems


# ---------------------------------------------------------------- the run


def wrk(base, connections, duration):
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(BASE_DIR / "benchmarks" / "load_test.lua"),
        base,
        "--",
        *PAGES,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


crashes = set()


def _record_crash(hook_args):
    crashes.add(hook_args.thread.name)
    threading.__excepthook__(hook_args)


def main():
    threading.excepthook = _record_crash
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=int, default=60, help="seconds")
    parser.add_argument("--edits", type=int, default=30, help="saves of each record by the editor")
    parser.add_argument("--import-rows", type=int, default=300)
    parser.add_argument("--outage", type=float, default=0, help="seconds the database is stopped mid-run")
    args = parser.parse_args()
    if not PG_BIN_DIRS or not shutil.which("wrk"):
        sys.exit("PostgreSQL (initdb) and wrk are needed: apt-get install postgresql wrk")

    folder = Path(tempfile.mkdtemp(prefix="portal-load-"))
    postgres = ThrowawayPostgres(durable=True)
    gunicorn = None
    try:
        log(f"PostgreSQL {postgres.bin_dir.parent.name} on port {postgres.port}")
        postgres.create()
        token = secrets.token_hex(3)
        env = {
            **os.environ,
            "DATABASE_URL": postgres.url,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "PORTAL_CACHE_DIR": str(folder / "cache"),
            "DJANGO_LOG_LEVEL": "WARNING",
        }
        os.environ.update(env)
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connections

        from poles.models import Pole

        log("migrate, seed_content, collectstatic (if static files changed), create_editor")
        call_command("migrate", verbosity=0)
        call_command("seed_content", verbosity=0)
        if static_files_changed():
            call_command("collectstatic", interactive=False, verbosity=0)
        call_command("create_editor", EDITOR, stdout=open(os.devnull, "w"))
        password = secrets.token_urlsafe(16)
        user = get_user_model().objects.get(username=EDITOR)
        user.set_password(password)
        user.save()
        pole = Pole.objects.get(acronym=EDITED_POLE)
        figure = pole.key_figures.order_by("pk").first()
        initial_versions = {"pole": pole.history.count(), "figure": figure.history.count()}
        rows = args.import_rows
        imports = [
            (
                projects_file(folder, "projets-nouveaux.xlsx", 1, rows, 1, token),
                expected_rows(1, rows, 1, token),
            ),
            (
                projects_file(folder, "projets-mis-a-jour.xlsx", 1, rows + rows // 3, 2, token),
                expected_rows(1, rows + rows // 3, 2, token),
            ),
        ]
        connections.close_all()

        port = free_port()
        command = [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}",
                   "--workers", "2"]
        if (BASE_DIR / "gunicorn.conf.py").exists():
            command += ["--config", str(BASE_DIR / "gunicorn.conf.py")]
        gunicorn = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(folder / "gunicorn.log", "w"),
        )
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(port), "gunicorn")
        log(
            f"gunicorn (2 workers) on {base}; wrk -c{args.connections} for {args.duration} s, "
            f"editor ({args.edits}×2 saves), imports ({rows} then {rows + rows // 3} rows)"
            + (f", database stopped {args.outage} s at mid-run" if args.outage else "")
        )

        journal, import_results = [], []
        # Logged in before the run: the editor's session is ready when the load starts.
        browser = Browser(port)
        browser.login(password)
        targets = (f"/admin/poles/pole/{pole.pk}/change/", f"/admin/poles/keyfigure/{figure.pk}/change/")
        workers = [
            threading.Thread(name="editor", target=editor,
                             args=(browser, targets, args.edits, args.duration, token, journal)),
            threading.Thread(name="imports", target=importer,
                             args=(env, imports, args.duration * 0.05, import_results)),
        ]
        outage = []
        if args.outage:
            workers.append(threading.Thread(name="outage", target=stop_database,
                                            args=(postgres, args.duration / 2, args.outage, outage)))
        for worker in workers:
            worker.start()
        started = time.monotonic()
        result = wrk(base, args.connections, args.duration)
        for worker in workers:
            worker.join()
        log(f"run over after {time.monotonic() - started:.0f} s")
        crashed = [worker.name for worker in workers if worker.name in crashes]

        public = Browser(port).request("GET", "/poles/capenergies/")
        connections.close_all()
        problems = check_editor(journal, initial_versions, pole, figure) + check_imports(
            import_results, token
        )
        problems += [f"{name} stopped on an error (see above)" for name in crashed]
        if late := late_unavailable(result, outage):
            problems.append(f"{late} page(s) answered 503 while the database was up")
        last_summary = next(
            (
                value[0]
                for kind, _, value, outcome in reversed(journal)
                if kind == "pole" and outcome == "accepted"
            ),
            None,
        )
        if public[0] != 200 or (last_summary and last_summary not in public[2]):
            problems.append("the public pole page does not show the last saved summary")
        report(args, result, journal, import_results, outage, problems)
        return 1 if problems or _bad_statuses(result, args.outage) else 0
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=15)
        postgres.remove()
        shutil.rmtree(folder, ignore_errors=True)


def static_files_changed():
    """Whether collectstatic must run (three minutes here: it compresses every file)."""
    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders

    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if not manifest.exists():
        return True
    collected = manifest.stat().st_mtime
    return any(
        Path(storage.path(path)).stat().st_mtime > collected
        for finder in get_finders()
        for path, storage in finder.list([])
    )


def _answers(port):
    try:
        return Browser(port).request("GET", "/robots.txt")[0] == 200
    except OSError:
        return False


def stop_database(postgres, after, seconds, outage):
    """Stops the database for `seconds`; `outage` gets the clock times from the
    moment stopping begins until it accepts connections again."""
    time.sleep(after)
    outage.append(time.time())
    postgres.stop()
    time.sleep(seconds)
    postgres.start()
    outage.append(time.time())


def late_unavailable(result, outage):
    """503 answers outside the outage (wrk's clock has one-second steps)."""
    if not outage:
        return sum(result["unavailable_at"].values())
    first, last = int(outage[0]), int(outage[1]) + 1
    seconds = result["unavailable_at"].items()
    return sum(count for second, count in seconds if not first <= int(second) <= last)


def _bad_statuses(result, outage):
    allowed = {"200"} | ({"503"} if outage else set())
    return sum(count for status, count in result["statuses"].items() if status not in allowed) + sum(
        result["socket_errors"].values()
    )


def report(args, result, journal, import_results, outage, problems):
    seconds = result["duration_us"] / 1e6
    statuses = result["statuses"]
    non_2xx = sum(count for status, count in statuses.items() if not status.startswith("2"))
    latency = result["latency_ms"]
    print()
    print(
        f"Pages        {result['requests']} requests in {seconds:.0f} s "
        f"({result['requests'] / seconds:.0f}/s), {args.connections} connections"
    )
    print(
        f"Statuses     {json.dumps(statuses, sort_keys=True)}; non-2xx: {non_2xx}"
        + (f" (503 while the database was stopped: {statuses.get('503', 0)})" if args.outage else "")
    )
    print(f"Page cache   {json.dumps(result['cache'], sort_keys=True)} (X-Cache; every save empties it)")
    print(f"Socket errors {result['socket_errors']}")
    print(
        f"Machine      load average {' '.join(f'{load:.1f}' for load in os.getloadavg())} at the end "
        f"({os.cpu_count()} cores, shared)"
    )
    print(
        f"Latency ms   mean {latency['mean']}, p50 {latency['p50']}, p90 {latency['p90']}, "
        f"p99 {latency['p99']}, max {latency['max']}"
    )
    outcomes = {}
    for kind, _, _, outcome in journal:
        outcomes.setdefault(kind, {}).setdefault(outcome, 0)
        outcomes[kind][outcome] += 1
    print(f"Editor       {json.dumps(outcomes, ensure_ascii=False)}")
    for result_ in import_results:
        print(
            f"Import       {result_['file']}: {len(result_['rows'])} rows, exit {result_['exit']} "
            f"in {result_['seconds']} s — {' '.join(result_['output'])}"
        )
    if outage:
        stopped = outage[1] - outage[0]
        print(f"Outage       database stopped for {stopped:.1f} s (pg_ctl stop -m fast, then start); "
              f"503 after it: {late_unavailable(result, outage)}")
    passed = "all passed: no edit lost or partial, every applied import whole"
    print(f"Checks       {passed if not problems else ''}")
    for problem in problems:
        print(f"  PROBLEM: {problem}")


if __name__ == "__main__":
    sys.exit(main())
