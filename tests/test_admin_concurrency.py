"""Two editors at once, or an editor and an import: the admin never saves a form
over a change made since it was opened, says who made it, in French, and keeps
what the editor typed. Inline records the editor did not touch are not written."""
import io
import threading
from html import unescape
from html.parser import HTMLParser

import psycopg
import pytest
import tablib
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection
from django.test import Client

from poles.models import KeyFigure, Pole, Project
from poles.resources import RESOURCES
from poles.spreadsheets import export_dataset, run_import
from tests.throwaway_postgres import wait_until

CONFLICT = "depuis que vous l'avez ouverte : vos modifications n'ont pas été enregistrées."
RELOAD = "Rechargez la page pour voir la version actuelle, puis refaites vos modifications."


class FormReader(HTMLParser):
    """The values a browser would post for the admin's change form, as the page shows them."""

    def __init__(self):
        super().__init__()
        self.data, self._select, self._textarea = {}, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.data.setdefault(name, []).append(attrs.get("value", "on" if attrs.get("type") == "checkbox" else ""))
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select].append(attrs.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][0] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            if self._textarea:
                # The HTML parser keeps the newline a browser drops after <textarea>.
                self.data[self._textarea][0] = self.data[self._textarea][0].removeprefix("\n")
            self._textarea = None


def open_form(client, url):
    """GET the change form; returns what the browser would post if nothing were typed."""
    response = client.get(url)
    assert response.status_code == 200
    reader = FormReader()
    reader.feed(response.content.decode())
    data = {name: values if len(values) > 1 else (values[0] if values else "") for name, values in reader.data.items()}
    data.pop("csrfmiddlewaretoken", None)
    data["_save"] = "Enregistrer"
    return data


def inline_index(data, prefix, record):
    return next(key.split("-")[1] for key, value in data.items()
                if key.startswith(f"{prefix}-") and key.endswith("-id") and str(value) == str(record.pk))


def page_text(response):
    return unescape(response.content.decode())


def editor_client(username):
    user = User.objects.create_user(username=username, email=username, password="un-mot-de-passe-solide-2026",
                                    is_staff=True, first_name=username.split("@")[0].capitalize())
    user.groups.add(Group.objects.get(name="Éditeurs"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice(prefecture):
    return editor_client("alice@example.org")


@pytest.fixture
def bruno(prefecture):
    return editor_client("bruno@example.org")


@pytest.fixture
def pole(prefecture):
    return Pole.objects.get(slug="capenergies")


def pole_url(pole):
    return f"/admin/poles/pole/{pole.pk}/change/"


def import_project_title(project, title):
    """The project's row of an exported spreadsheet, imported back with a new title."""
    exported = export_dataset(RESOURCES["projects"](), Project.objects.filter(pk=project.pk))
    row = dict(zip(exported.headers, exported[0]))
    row["titre"] = title
    dataset = tablib.Dataset(list(row.values()), headers=list(row))
    report = run_import(RESOURCES["projects"], dataset, dry_run=False)
    assert report.is_valid and report.updated == 1, report.errors


def test_a_normal_save_is_unaffected(alice, pole):
    data = open_form(alice, pole_url(pole))
    assert data["opened_version"] == pole.updated_at.isoformat()
    data["summary_fr"] = "Un résumé revu."

    response = alice.post(pole_url(pole), data)

    assert response.status_code == 302
    assert Pole.objects.get(pk=pole.pk).summary_fr == "Un résumé revu."


def test_the_second_of_two_editors_is_refused_naming_the_first_and_keeps_what_they_typed(alice, bruno, pole):
    form_alice = open_form(alice, pole_url(pole))
    form_bruno = open_form(bruno, pole_url(pole))
    form_alice["summary_fr"] = "Le résumé d'Alice."
    assert alice.post(pole_url(pole), form_alice).status_code == 302

    form_bruno["summary_fr"] = "Le résumé de Bruno."
    response = bruno.post(pole_url(pole), form_bruno)

    assert response.status_code == 200
    text = page_text(response)
    assert "Cette fiche a été modifiée par Alice le " in text and CONFLICT in text and RELOAD in text
    assert "Le résumé de Bruno." in text  # what Bruno typed is still in the form
    assert Pole.objects.get(pk=pole.pk).summary_fr == "Le résumé d'Alice."
    # Reloading gives the current version, which saves.
    again = open_form(bruno, pole_url(pole))
    again["summary_fr"] = "Le résumé de Bruno."
    assert bruno.post(pole_url(pole), again).status_code == 302
    assert Pole.objects.get(pk=pole.pk).summary_fr == "Le résumé de Bruno."


def test_an_import_made_meanwhile_survives_a_pole_saved_with_the_project_untouched(alice, pole):
    """The load test's finding: the pole form posts its projects as they were when opened."""
    project = pole.projects.first()
    data = open_form(alice, pole_url(pole))
    import_project_title(project, "Titre venu du tableur")
    data["summary_fr"] = "Résumé retouché pendant l'import."
    versions = project.history.count()

    response = alice.post(pole_url(pole), data)

    assert response.status_code == 302
    assert Project.objects.get(pk=project.pk).title_fr == "Titre venu du tableur"
    assert project.history.count() == versions  # not written back at all
    assert Pole.objects.get(pk=pole.pk).summary_fr == "Résumé retouché pendant l'import."


def test_a_project_changed_by_an_import_and_by_the_editor_is_refused_naming_the_import(alice, pole):
    project = pole.projects.first()
    data = open_form(alice, pole_url(pole))
    import_project_title(project, "Titre venu du tableur")
    index = inline_index(data, "projects", project)
    data[f"projects-{index}-summary_fr"] = "Résumé du projet retouché."
    data["summary_fr"] = "Résumé du pôle retouché."

    response = alice.post(pole_url(pole), data)

    assert response.status_code == 200
    text = page_text(response)
    assert "a été modifié par un import de tableur le " in text and RELOAD in text
    assert "Résumé du projet retouché." in text and "Résumé du pôle retouché." in text
    stored = Project.objects.get(pk=project.pk)
    assert (stored.title_fr, stored.summary_fr) == ("Titre venu du tableur", project.summary_fr)
    assert Pole.objects.get(pk=pole.pk).summary_fr == pole.summary_fr  # nothing saved


def test_a_key_figure_changed_by_another_editor_meanwhile_is_not_overwritten(alice, bruno, pole):
    figure = pole.key_figures.first()
    data = open_form(alice, pole_url(pole))
    figure_url = f"/admin/poles/keyfigure/{figure.pk}/change/"
    other = open_form(bruno, figure_url)
    other["value"] = "999"
    assert bruno.post(figure_url, other).status_code == 302
    data[f"key_figures-{inline_index(data, 'key_figures', figure)}-value"] = "111"

    response = alice.post(pole_url(pole), data)

    assert response.status_code == 200
    assert "a été modifié par Bruno le " in page_text(response)
    assert KeyFigure.objects.get(pk=figure.pk).value == 999


def test_unchanged_inline_records_are_not_written_back(alice, pole):
    data = open_form(alice, pole_url(pole))
    data["summary_fr"] = "Seul le pôle change."
    before = {project.pk: project.updated_at for project in pole.projects.all()}
    versions = sum(project.history.count() for project in pole.projects.all())

    assert alice.post(pole_url(pole), data).status_code == 302

    assert {project.pk: project.updated_at for project in pole.projects.all()} == before
    assert sum(project.history.count() for project in pole.projects.all()) == versions


def test_a_bulk_action_made_meanwhile_is_not_overwritten(alice, bruno, pole):
    data = open_form(alice, pole_url(pole))
    assert bruno.post("/admin/poles/pole/", {"action": "unpublish", "_selected_action": [pole.pk]}).status_code == 302
    data["summary_fr"] = "Résumé retouché."

    response = alice.post(pole_url(pole), data)

    assert response.status_code == 200
    assert "Cette fiche a été modifiée par Bruno le " in page_text(response)
    assert Pole.objects.get(pk=pole.pk).is_published is False


def test_a_project_form_is_refused_after_an_import_of_that_project(alice, pole):
    project = pole.projects.first()
    url = f"/admin/poles/project/{project.pk}/change/"
    data = open_form(alice, url)
    import_project_title(project, "Titre venu du tableur")
    data["summary_fr"] = "Résumé retouché."

    response = alice.post(url, data)

    assert response.status_code == 200
    assert "Cette fiche a été modifiée par un import de tableur le " in page_text(response)
    assert Project.objects.get(pk=project.pk).title_fr == "Titre venu du tableur"


def test_a_version_restored_from_the_history_is_checked_against_the_record_now(alice, bruno, pole):
    first = pole.history.earliest()
    url = f"/admin/poles/pole/{pole.pk}/history/{first.history_id}/"
    restore = open_form(alice, url)
    assert restore["opened_version"] == pole.updated_at.isoformat()
    edit = open_form(bruno, pole_url(pole))
    edit["summary_fr"] = "Le résumé de Bruno."
    assert bruno.post(pole_url(pole), edit).status_code == 302

    refused = alice.post(url, restore)
    assert refused.status_code == 200 and "Cette fiche a été modifiée par Bruno le " in page_text(refused)
    assert Pole.objects.get(pk=pole.pk).summary_fr == "Le résumé de Bruno."

    assert alice.post(url, open_form(alice, url)).status_code == 302  # reopened: the restore goes through
    assert Pole.objects.get(pk=pole.pk).summary_fr == first.summary_fr


def test_a_save_waiting_for_another_one_to_finish_sees_it(transactional_db):
    """The race the version check must win: another save has locked and changed the pole but
    not committed yet when this one is checked. The check waits for it (SELECT … FOR UPDATE),
    then sees its version; a plain read would see the old one and overwrite the other save."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite lets one writer at a time: no race to lose")
    call_command("seed_content", stdout=io.StringIO())
    alice = editor_client("alice@example.org")
    pole = Pole.objects.get(slug="capenergies")
    data = open_form(alice, pole_url(pole))
    data["summary_fr"] = "Le résumé d'Alice."
    database = settings.DATABASES["default"]
    responses = []

    def save():
        try:
            responses.append(alice.post(pole_url(pole), data))
        finally:
            connection.close()

    address = {"dbname": database["NAME"], "user": database["USER"], "password": database["PASSWORD"],
               "host": database["HOST"], "port": database["PORT"] or 5432}
    with psycopg.connect(**address) as other, psycopg.connect(**address, autocommit=True) as watcher:
        with other.transaction():
            other.execute(f"UPDATE {Pole._meta.db_table} SET summary_fr = %s, updated_at = now() WHERE id = %s",
                          ["Le résumé de Bruno.", pole.pk])
            saving = threading.Thread(target=save)
            saving.start()
            # Polled outside the transaction, whose view of pg_stat_activity is a snapshot.
            wait_until(lambda: watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = %s",
                [database["NAME"]]).fetchone()[0] == 1, "Alice's save waiting for Bruno's")
        saving.join(timeout=60)

    assert CONFLICT in page_text(responses[0])
    assert Pole.objects.get(pk=pole.pk).summary_fr == "Le résumé de Bruno."
