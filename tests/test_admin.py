"""The editors' admin: roles, drafts, history and revert, safe rich text,
freshness, and the login's defences."""
import datetime
import os
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import html5lib
import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.utils import timezone

from poles.models import KeyFigure, Page, Pole, Project

PASSWORD = "un-mot-de-passe-solide-2026"


def make_staff(username, group):
    user = User.objects.create_user(username=username, email=username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def editor(db):
    return make_staff("editrice@example.org", "Éditeurs")


@pytest.fixture
def administrator(db):
    return make_staff("admin@example.org", "Administrateurs")


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


def pole_form_data(pole, **changes):
    """The pole change form as the browser would post it, with some fields changed."""
    data = {
        "name_fr": pole.name_fr, "name_en": pole.name_en or "", "acronym": pole.acronym, "slug": pole.slug,
        "title_fr": pole.title_fr, "title_en": pole.title_en or "", "order": pole.order, "status": pole.status,
        "successor": "", "labelled_on": pole.labelled_on or "", "labelled_by_fr": pole.labelled_by_fr or "",
        "labelled_by_en": "", "summary_fr": pole.summary_fr, "summary_en": pole.summary_en or "",
        "body_fr": pole.body_fr or "", "body_en": "", "website": pole.website,
        "themes": [theme.pk for theme in pole.themes.all()],
        "territories": [territory.pk for territory in pole.territories.all()],
        "centres": [territory.pk for territory in pole.centres.all()],
        "is_published": "on" if pole.is_published else "", "source": pole.source, "source_url": "",
        "verified_on": pole.verified_on or "",
    }
    for prefix, related in (("key_figures", pole.key_figures.all()), ("projects", pole.projects.all())):
        data.update({f"{prefix}-TOTAL_FORMS": len(related), f"{prefix}-INITIAL_FORMS": len(related),
                     f"{prefix}-MIN_NUM_FORMS": 0, f"{prefix}-MAX_NUM_FORMS": 1000})
        for index, record in enumerate(related):
            data[f"{prefix}-{index}-id"] = record.pk
            data[f"{prefix}-{index}-pole"] = pole.pk
            if prefix == "key_figures":
                data.update({f"{prefix}-{index}-value": record.value, f"{prefix}-{index}-label_fr": record.label_fr,
                             f"{prefix}-{index}-order": record.order, f"{prefix}-{index}-is_published": "on"})
            else:
                data.update({f"{prefix}-{index}-title_fr": record.title_fr, f"{prefix}-{index}-slug": record.slug,
                             f"{prefix}-{index}-kind": record.kind, f"{prefix}-{index}-status": record.status,
                             f"{prefix}-{index}-summary_fr": record.summary_fr,
                             f"{prefix}-{index}-is_published": "on"})
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


# ------------------------------------------------------------------ roles


@pytest.mark.parametrize("url", ["/admin/auth/user/", "/admin/auth/group/", "/admin/auth/user/add/", "/admin/axes/accessattempt/"])
def test_an_editor_is_refused_the_accounts_and_technical_pages(editor_client, url):
    assert editor_client.get(url).status_code == 403


def test_an_editor_does_not_see_accounts_on_the_admin_index(editor_client):
    page = editor_client.get("/admin/").content.decode()
    assert "Pôles de compétitivité" in page
    assert "/admin/auth/user/" not in page and "/admin/auth/group/" not in page


@pytest.mark.parametrize(
    "url", ["/admin/poles/pole/", "/admin/poles/pole/add/", "/admin/poles/project/", "/admin/poles/page/",
            "/admin/poles/theme/", "/admin/poles/territory/", "/admin/poles/keyfigure/", "/admin/poles/policyitem/"]
)
def test_an_editor_works_on_every_content_list(editor_client, prefecture, url):
    assert editor_client.get(url).status_code == 200


def test_an_editor_may_delete_a_figure_but_not_a_pole(editor_client, prefecture):
    pole = Pole.objects.get(slug="pass")
    figure = KeyFigure.objects.filter(pole__slug="capenergies").first()
    assert editor_client.get(f"/admin/poles/pole/{pole.pk}/delete/").status_code == 403
    assert editor_client.get(f"/admin/poles/keyfigure/{figure.pk}/delete/").status_code == 200


def test_nobody_adds_or_deletes_a_site_page(editor_client, prefecture):
    page = Page.objects.get(slug="mentions-legales")
    assert editor_client.get("/admin/poles/page/add/").status_code == 403
    assert editor_client.get(f"/admin/poles/page/{page.pk}/delete/").status_code == 403


def test_an_administrator_manages_accounts(client, administrator):
    client.force_login(administrator)
    assert client.get("/admin/auth/user/").status_code == 200
    assert client.get("/admin/poles/pole/add/").status_code == 200


def test_the_admin_is_in_french_and_names_the_portal(editor_client):
    page = editor_client.get("/admin/").content.decode()
    assert '<html lang="fr"' in page
    assert "Pôles de compétitivité — administration" in page


# ------------------------------------------------------------------ drafts


def test_a_draft_is_previewed_by_staff_with_a_banner_and_hidden_from_visitors(client, editor, prefecture):
    Project.objects.filter(slug="iter").update(is_published=False)
    assert client.get("/projets/iter/").status_code == 404
    client.force_login(editor)
    response = client.get("/projets/iter/")
    assert response.status_code == 200
    assert "Brouillon — non publié" in response.content.decode()
    assert "/projets/iter/" not in client.get("/projets/").content.decode(), "lists never show drafts"


def test_a_published_page_has_no_draft_banner_even_for_staff(editor_client, prefecture):
    assert "Brouillon" not in editor_client.get("/poles/capenergies/").content.decode()


# ------------------------------------------------------------------ editing, history, revert


def test_an_edit_through_the_form_reaches_the_public_page_and_the_history(editor_client, editor, prefecture):
    pole = Pole.objects.get(slug="capenergies")
    figure = pole.key_figures.get(value=160)
    data = pole_form_data(pole, summary_fr="Un nouveau résumé.")
    index = list(pole.key_figures.all()).index(figure)
    data[f"key_figures-{index}-value"] = 175
    response = editor_client.post(f"/admin/poles/pole/{pole.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]

    public = editor_client.get("/poles/capenergies/").content.decode()
    assert "Un nouveau résumé." in public and "175</span> partenaires" in public

    latest = pole.history.latest()
    assert latest.history_user == editor
    changed = latest.diff_against(latest.prev_record).changed_fields
    assert "summary_fr" in changed
    assert figure.history.latest().history_user == editor

    history = editor_client.get(f"/admin/poles/pole/{pole.pk}/history/").content.decode()
    assert "editrice@example.org" in history and "Un nouveau résumé." in history


def test_an_earlier_version_is_restored_from_the_history(editor_client, prefecture):
    pole = Pole.objects.get(slug="capenergies")
    original = pole.summary_fr
    editor_client.post(f"/admin/poles/pole/{pole.pk}/change/", pole_form_data(pole, summary_fr="Résumé erroné."))
    versions = pole.history.count()
    first = pole.history.earliest()

    form = editor_client.get(f"/admin/poles/pole/{pole.pk}/history/{first.history_id}/")
    assert form.status_code == 200
    restored = editor_client.post(
        f"/admin/poles/pole/{pole.pk}/history/{first.history_id}/", pole_form_data(Pole.objects.get(pk=pole.pk), summary_fr=original)
    )
    assert restored.status_code == 302
    assert original in unescape(editor_client.get("/poles/capenergies/").content.decode())
    assert pole.history.count() == versions + 1


def test_deleting_keeps_the_history(client, administrator, prefecture):
    client.force_login(administrator)
    project = Project.objects.get(slug="iter")
    response = client.post(f"/admin/poles/project/{project.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Project.objects.filter(slug="iter").exists()
    deleted = Project.history.filter(slug="iter").latest()
    assert deleted.history_type == "-" and deleted.history_user == administrator


@pytest.mark.parametrize(
    "action, field, value",
    [("unpublish", "is_published", False), ("mark_verified", "verified_on", "today")],
)
def test_bulk_actions_change_every_selected_record_and_record_history(editor_client, editor, prefecture, action, field, value):
    poles = list(Pole.objects.all())
    response = editor_client.post(
        "/admin/poles/pole/", {"action": action, "_selected_action": [pole.pk for pole in poles]}
    )
    assert response.status_code == 302
    expected = timezone.localdate() if value == "today" else value
    for pole in Pole.objects.all():
        assert getattr(pole, field) == expected
        assert pole.history.latest().history_user == editor


def test_publishing_in_bulk_puts_drafts_back_on_the_site(editor_client, client, prefecture):
    Pole.objects.update(is_published=False)
    editor_client.post("/admin/poles/pole/", {"action": "publish", "_selected_action": list(Pole.objects.values_list("pk", flat=True))})
    client.logout()
    assert client.get("/poles/pass/").status_code == 200


# ------------------------------------------------------------------ safe rich text

HOSTILE = [
    "<script>alert('x')</script>",
    "[cliquez](javascript:alert(1))",
    '<a href="javascript:alert(1)">lien</a>',
    '<img src="x" onerror="alert(1)">',
    '<iframe src="https://example.org"></iframe>',
    '<a href="#" onclick="alert(1)">lien</a>',
    '<svg><script>alert(1)</script></svg>',
]


def dangerous_markup(content):
    """Elements and attributes of the page that would run the attacker's code."""
    tree = html5lib.parse(content, namespaceHTMLElements=False)
    found = []
    for element in tree.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        # JSON-LD is data, never run; text breaking out of it would make a script element of its own.
        runs = tag.endswith("script") and element.get("type") not in ("application/ld+json", "application/json")
        if tag in {"iframe", "object", "embed"} or (runs and "alert" in (element.text or "")):
            found.append(tag)
        for name, value in element.attrib.items():
            if name.startswith("on") or value.strip().lower().startswith("javascript:"):
                found.append(f"{tag}@{name}")
    return found


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_text_never_reaches_a_visitor(client, prefecture, payload):
    """Stored in every text field an editor fills, it shows as text or not at all."""
    pole = Pole.objects.get(slug="pass")
    pole.body_fr = pole.summary_fr = pole.title_fr = pole.name_fr = pole.labelled_by_fr = payload
    pole.save()
    Project.objects.filter(slug="iter").update(body_fr=payload, summary_fr=payload, title_fr=payload)
    Page.objects.filter(slug="accueil").update(body_fr=payload, summary_fr=payload)
    for url in ["/poles/pass/", "/", "/poles/", "/plan-du-site/", "/projets/iter/", "/projets/"]:
        assert dangerous_markup(client.get(url).content) == [], url


def test_markdown_keeps_what_editors_need(client, prefecture):
    pole = Pole.objects.get(slug="pass")
    pole.body_fr = "## Un titre\n\n- *un* point\n- un [lien](https://www.example.org)\n\nLes PME.\n\n*[PME]: Petites et moyennes entreprises"
    pole.save()
    page = client.get("/poles/pass/").content.decode()
    assert "<h2>Un titre</h2>" in page and "<em>un</em>" in page
    assert '<a href="https://www.example.org" rel="noopener noreferrer">lien</a>' in page
    assert '<abbr title="Petites et moyennes entreprises">PME</abbr>' in page


def test_the_change_form_previews_the_rendered_text(editor_client, prefecture):
    pole = Pole.objects.get(slug="pass")
    page = editor_client.get(f"/admin/poles/pole/{pole.pk}/change/").content.decode()
    assert '<div class="portal-preview"><p>Labellisé le 12 juillet 2005' in page


# ------------------------------------------------------------------ freshness


def test_stale_content_is_flagged_and_listed_on_the_admin_index(editor_client, prefecture):
    Pole.objects.filter(slug="pass").update(verified_on=timezone.localdate() - datetime.timedelta(days=400))
    Pole.objects.filter(slug="orpheme").update(verified_on=timezone.localdate() - datetime.timedelta(days=30))
    Pole.objects.filter(slug="capenergies").update(verified_on=None)
    assert set(Pole.objects.to_check().values_list("slug", flat=True)) == {"pass", "capenergies"}

    index = editor_client.get("/admin/").content.decode()
    assert "À vérifier" in index and "/admin/poles/pole/" in index

    stale_list = editor_client.get("/admin/poles/pole/?a_verifier=oui").content.decode()
    assert "PASS" in stale_list and "Capenergies" in stale_list and "Orpheme" not in stale_list


def test_marking_as_verified_shows_the_date_on_the_public_page(editor_client, client, prefecture):
    pole = Pole.objects.get(slug="orpheme")
    editor_client.post("/admin/poles/pole/", {"action": "mark_verified", "_selected_action": [pole.pk]})
    today = timezone.localdate()
    from django.utils.dateformat import format as date_format

    assert f"Informations vérifiées le {date_format(today, 'j F Y')}" in client.get("/poles/orpheme/").content.decode()
    assert pole.pk not in Pole.objects.to_check().values_list("pk", flat=True)


def test_every_object_with_a_public_page_links_to_it_from_the_admin(editor_client, prefecture):
    page = editor_client.get("/admin/poles/pole/").content.decode()
    assert '<a href="/poles/capenergies/">Voir sur le site</a>' in page


# ------------------------------------------------------------------ login security


def test_five_wrong_passwords_lock_the_account_with_a_french_message(client, editor):
    for _ in range(5):
        client.post("/admin/login/?next=/admin/", {"username": editor.username, "password": "mauvais"})
    response = client.post("/admin/login/?next=/admin/", {"username": editor.username, "password": PASSWORD})
    assert response.status_code == 429
    page = response.content.decode()
    assert "Compte temporairement bloqué" in page and "15 minutes" in page


def test_four_wrong_passwords_do_not_lock(client, editor):
    for _ in range(4):
        client.post("/admin/login/?next=/admin/", {"username": editor.username, "password": "mauvais"})
    response = client.post("/admin/login/?next=/admin/", {"username": editor.username, "password": PASSWORD})
    assert response.status_code == 302


def test_sessions_end_after_a_working_day(settings):
    assert settings.SESSION_COOKIE_AGE == 8 * 3600


def test_a_weak_password_is_refused(editor):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_password("prefecture", editor)


def test_the_admin_prefix_comes_from_the_environment(tmp_path):
    code = "import django; django.setup(); from django.urls import reverse; print(reverse('admin:index'))"
    env = {**os.environ, "DJANGO_ADMIN_URL": "gestion-interne", "DJANGO_SETTINGS_MODULE": "portal.settings_test",
           "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.stdout.strip() == "/gestion-interne/", result.stderr


def test_strangers_get_the_login_page(client):
    response = client.get("/admin/poles/pole/")
    assert response.status_code == 302 and response.url.startswith("/admin/login/")


# ------------------------------------------------------------------ create_editor


def test_create_editor_prints_a_one_time_link_to_choose_a_password(client, db, capsys):
    call_command("create_editor", "nouvelle@example.org")
    user = User.objects.get(username="nouvelle@example.org")
    assert user.is_staff and not user.is_superuser and not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == ["Éditeurs"]

    link = re.search(r"http://127\.0\.0\.1:8000(/\S+)", capsys.readouterr().out).group(1)
    form = client.get(link, follow=True)
    assert "Saisissez deux fois votre nouveau mot de passe" in form.content.decode() or "nouveau mot de passe" in form.content.decode()
    form_url = form.redirect_chain[-1][0]
    done = client.post(form_url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert done.status_code == 302
    login = client.post("/admin/login/?next=/admin/", {"username": "nouvelle@example.org", "password": PASSWORD})
    assert login.status_code == 302 and login.url == "/admin/"
    client.logout()
    again = client.get(link, follow=True).content.decode()
    assert "Le lien de réinitialisation du mot de passe n’était pas valide" in again or "pas valide" in again


@pytest.mark.parametrize("email, message", [("pas-une-adresse", "n'est pas une adresse"), ("editrice@example.org", "existe déjà")])
def test_create_editor_refuses_bad_or_duplicate_addresses(editor, email, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_editor", email)


def test_the_loaded_version_of_every_record_is_in_the_history(prefecture):
    """An editor can always return to the prefecture's text, even after a first edit."""
    from poles.admin_site import CONTENT_MODELS

    for model in CONTENT_MODELS:
        assert set(model.history.values_list("id", flat=True)) == set(model.objects.values_list("pk", flat=True)), model


def test_saving_the_form_as_a_browser_does_records_only_what_changed(editor_client, prefecture):
    """Browsers send CR LF line breaks and "" for an empty English text."""
    pole = Pole.objects.get(slug="capenergies")
    data = pole_form_data(pole, summary_fr="Résumé retouché.", body_fr=pole.body_fr.replace("\n", "\r\n"), body_en="")
    editor_client.post(f"/admin/poles/pole/{pole.pk}/change/", data)
    latest = pole.history.latest()
    # "summary" is modeltranslation's mirror of the French column.
    assert sorted(latest.diff_against(latest.prev_record).changed_fields) == ["summary", "summary_fr"]


def test_the_history_shows_long_values_in_full(editor_client, prefecture):
    pole = Pole.objects.get(slug="capenergies")
    long_summary = "Un résumé nettement plus long que quatre-vingts caractères, pour voir s'il est coupé ou non."
    editor_client.post(f"/admin/poles/pole/{pole.pk}/change/", pole_form_data(pole, summary_fr=long_summary))
    history = unescape(editor_client.get(f"/admin/poles/pole/{pole.pk}/history/").content.decode())
    assert long_summary in history and "chars]" not in history
