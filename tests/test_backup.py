"""backup_content and restore_content: the whole content comes back, field by
field; a bad backup is refused in French and leaves the database as it was."""

import datetime
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client

from poles.management.commands.backup_content import DUMP_ORDER
from poles.models import CONTENT_MODELS, KeyFigure, Pole, PolicyItem, Project, Territory, Theme
from poles.resources import RESOURCES
from poles.spreadsheets import read_spreadsheet, run_import


def add_varied_content():
    """Records using every kind of field, beside the prefecture's: drafts,
    English translations, parents, a successor, dates, relations."""
    solar = Theme.objects.get(slug="solaire")
    solar.name_en = "Solar"
    solar.save()
    Theme.objects.create(
        name="Photovoltaïque", slug="photovoltaique-h7", parent=solar, order=4, is_published=False
    )
    region = Territory.objects.get(code="93")
    basin = Territory.objects.create(
        name="Bassin de vie de Manosque", slug="bassin-manosque", kind="other", code="BV04112", parent=region
    )
    # Without a code, (kind, code) would not name it: its slug does.
    Territory.objects.create(
        name="Vallée de la Durance", slug="vallee-durance", kind="other", parent=basin, is_historical=True
    )
    pass_pole = Pole.objects.get(acronym="PASS")
    old = Pole.objects.create(
        name="Ancien pôle",
        name_en="Former pole",
        acronym="ANC",
        slug="ancien",
        title="L'ancien pôle",
        status="merged",
        successor=pass_pole,
        summary="Fusionné.",
        summary_en="Merged.",
        body="**Gras**",
        labelled_on=datetime.date(2005, 7, 12),
        verified_on=datetime.date(2024, 1, 2),
        is_published=False,
        source_url="https://example.gouv.fr/source",
        website="https://example.org",
    )
    old.themes.set([solar, *Theme.objects.filter(slug__startswith="parfums")])
    old.territories.set([basin, region])
    old.centres.set([basin])
    draft = Project.objects.create(
        title="Brouillon",
        title_en="Draft",
        slug="brouillon",
        pole=old,
        kind="programme",
        status="ongoing",
        summary="Pas encore publié.",
        start_date=datetime.date(2020, 1, 1),
        end_date=datetime.date(2030, 12, 31),
        is_published=False,
    )
    draft.themes.set([solar])
    draft.territories.set([basin])
    KeyFigure.objects.create(
        value=55,
        label="pôles en France",
        label_en="poles in France",
        period="2023-2026",
        reference_date=datetime.date(2023, 1, 1),
    )
    KeyFigure.objects.create(pole=old, value=12, label="adhérents", is_published=False)
    PolicyItem.objects.create(kind="axis", text="Un axe.", text_en="An axis.", order=9)


def key(record):
    """A record's natural key, or its id for the models that keep theirs."""
    return record.natural_key() if hasattr(record, "natural_key") else record.pk


def snapshot():
    """Every content record, field by field, named by its key; relations as
    the related records' keys."""
    state = {}
    for model in CONTENT_MODELS:
        for record in model.objects.all():
            fields = {}
            for field in model._meta.concrete_fields:
                if field.primary_key and hasattr(record, "natural_key"):
                    continue
                value = getattr(record, field.name)
                fields[field.name] = key(value) if field.many_to_one and value is not None else value
            for field in model._meta.many_to_many:
                fields[field.name] = sorted(key(related) for related in getattr(record, field.name).all())
            state[model._meta.label, key(record)] = fields
    return state


def history_counts():
    return {model: model.history.count() for model in CONTENT_MODELS}


def backup(folder):
    call_command("backup_content", str(folder), stdout=io.StringIO())
    return folder


def restore(folder):
    call_command("restore_content", str(folder), stdout=io.StringIO())


def change_manifest(folder, change):
    path = folder / "manifeste.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def write_content(folder, text):
    """Replaces contenu.json and signs it, as if the backup had been written so."""
    path = folder / "contenu.json"
    path.write_text(text, encoding="utf-8")
    change_manifest(
        folder,
        lambda manifest: manifest["sha256"].update(
            {"contenu.json": hashlib.sha256(path.read_bytes()).hexdigest()}
        ),
    )


def rewrite_content(folder, change):
    records = json.loads((folder / "contenu.json").read_text(encoding="utf-8"))
    write_content(folder, json.dumps(change(records)))


@pytest.fixture(scope="module")
def saved_backup(tmp_path_factory, django_db_setup, django_db_blocker):
    """A backup of the prefecture's content and varied records, made once, and
    the snapshot of what it holds; the database is left empty."""
    folder = tmp_path_factory.mktemp("backup") / "sauvegarde"
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_content", stdout=io.StringIO())
        add_varied_content()
        before = snapshot()
        backup(folder)
        transaction.set_rollback(True)
    return folder, before


@pytest.fixture
def backed_up(saved_backup, db, tmp_path):
    """A copy of the backup that a test may spoil, and an empty database, as
    just created by `migrate`."""
    folder, before = saved_backup
    return shutil.copytree(folder, tmp_path / "sauvegarde"), before


def test_backup_covers_every_content_model():
    assert set(DUMP_ORDER) == set(CONTENT_MODELS)


@pytest.fixture(scope="module")
def restored(saved_backup, django_db_blocker):
    """What the site holds once the backup is restored into an empty database,
    seen in one restore (the slowest step here), then undone."""
    folder, _ = saved_backup
    seen = {}
    with django_db_blocker.unblock(), transaction.atomic():
        seen["empty before"] = snapshot() == {}
        restore(folder)
        seen["snapshot"] = snapshot()
        seen["versions"] = {
            (model._meta.label, key(record)): [
                (
                    version.history_change_reason,
                    version.updated_at == record.updated_at,
                    sorted(link.territory.slug for link in version.territories.all())
                    if model is Pole
                    else None,
                )
                for version in record.history.all()
            ]
            for model in CONTENT_MODELS
            for record in model.objects.all()
        }
        seen["search page"] = Client().get("/recherche/", {"q": "Capenergies"}).content.decode()
        largest = max(KeyFigure.objects.values_list("pk", flat=True))
        seen["new figure id above the restored ones"] = (
            KeyFigure.objects.create(value=1, label="nouveau").pk > largest
        )
        seen["spreadsheet imports"] = {}
        manifest = json.loads((folder / "manifeste.json").read_text(encoding="utf-8"))
        for name, resource in RESOURCES.items():
            model = resource._meta.model
            file_name = manifest["spreadsheets"][model._meta.label_lower]
            report = run_import(
                resource, read_spreadsheet((folder / file_name).read_bytes(), file_name), dry_run=True
            )
            seen["spreadsheet imports"][name] = (
                report.errors,
                report.new,
                report.updated,
                report.unchanged == model.objects.count(),
            )
        transaction.set_rollback(True)
    return seen


def test_restore_brings_back_every_record_field_by_field(saved_backup, restored):
    _, before = saved_backup
    assert restored["empty before"]

    after = restored["snapshot"]
    assert after.keys() == before.keys()
    for name, fields in before.items():
        assert after[name] == fields, name


def test_restored_records_have_one_complete_history_version(restored):
    for record, versions in restored["versions"].items():
        assert len(versions) == 1, record
        reason, same_change_date, _ = versions[0]
        assert reason.startswith("Restauration de la sauvegarde du "), record
        assert same_change_date, record
    [(_, _, territories)] = restored["versions"]["poles.Pole", ("ANC",)]
    assert territories == ["bassin-manosque", "provence-alpes-cote-d-azur"]


def test_the_site_search_finds_restored_content(restored):
    assert 'href="/poles/capenergies/"' in restored["search page"]


def test_editors_can_add_records_after_a_restore(restored):
    """Key figures keep their ids: the database's counters must be moved past them."""
    assert restored["new figure id above the restored ones"]


def test_spreadsheets_of_a_backup_import_back_unchanged(restored):
    """The backup's spreadsheets have the editors' import columns: imported
    into the restored site, they change nothing."""
    for name, (errors, new, updated, all_unchanged) in restored["spreadsheet imports"].items():
        assert (errors, new, updated, all_unchanged) == ([], 0, 0, True), name


def test_manifest_counts_every_model(backed_up):
    folder, before = backed_up
    manifest = json.loads((folder / "manifeste.json").read_text(encoding="utf-8"))

    assert manifest["format"] == 1
    assert "0001_initial" in manifest["migrations"]
    assert sum(manifest["counts"].values()) == len(before)
    assert manifest["counts"]["poles.pole"] == 4


def test_restore_refuses_a_database_with_content(backed_up, theme):
    folder, _ = backed_up
    before = snapshot()

    with pytest.raises(
        CommandError, match=r"La base n'est pas vide \(1 thématique, 1 version dans l'historique\)"
    ):
        restore(folder)
    assert snapshot() == before


def test_backup_never_overwrites_a_folder(db, tmp_path):
    (tmp_path / "ancienne").mkdir()
    (tmp_path / "ancienne" / "contenu.json").write_text("[]")

    with pytest.raises(CommandError, match="n'est pas un dossier vide"):
        backup(tmp_path / "ancienne")
    assert (tmp_path / "ancienne" / "contenu.json").read_text() == "[]"


def bad_backups():
    def missing_folder(folder):
        return folder.parent / "absent", "n'existe pas"

    def corrupt_file(folder):
        path = folder / "contenu.json"
        path.write_bytes(path.read_bytes()[:-200])
        return folder, "modifié ou abîmé"

    def invalid_json(folder):
        write_content(folder, '[{"model": "poles.theme", ')
        return folder, "ne peut pas être restauré"

    def unknown_pole(folder):
        """The last project names a pole the backup lacks: what came before is undone."""

        def change(records):
            next(r for r in reversed(records) if r["model"] == "poles.project")["fields"]["pole"] = [
                "INCONNU"
            ]
            return records

        rewrite_content(folder, change)
        return folder, "ne peut pas être restauré"

    def wrong_format(folder):
        change_manifest(folder, lambda manifest: manifest.update(format=99))
        return folder, "format 99, ce portail lit le format 1"

    def newer_portal(folder):
        change_manifest(folder, lambda manifest: manifest["migrations"].append("9999_future"))
        return folder, "version plus récente du portail .*9999_future"

    def no_manifest(folder):
        (folder / "manifeste.json").unlink()
        return folder, "pas un dossier écrit par backup_content"

    def wrong_counts(folder):
        rewrite_content(folder, lambda records: [r for r in records if r["model"] != "poles.page"])
        return folder, "diffèrent de ceux du manifeste"

    return [
        missing_folder,
        corrupt_file,
        invalid_json,
        unknown_pole,
        wrong_format,
        newer_portal,
        no_manifest,
        wrong_counts,
    ]


@pytest.mark.parametrize("spoil", bad_backups(), ids=lambda spoil: spoil.__name__)
def test_bad_backup_is_refused_in_french_and_changes_nothing(backed_up, spoil):
    folder, _ = backed_up
    history = history_counts()
    folder, message = spoil(folder)

    with pytest.raises(CommandError, match=message):
        restore(folder)

    assert snapshot() == {}
    assert history_counts() == history


def test_the_command_line_exits_with_code_1_and_a_french_message(tmp_path):
    done = subprocess.run(
        [sys.executable, "manage.py", "restore_content", str(tmp_path / "absent")],
        cwd=settings.BASE_DIR, env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test"},
        capture_output=True, text=True, timeout=60,
    )

    assert done.returncode == 1
    assert f"Le dossier « {tmp_path / 'absent'} » n'existe pas." in done.stderr
    assert "Traceback" not in done.stderr
