"""The read API: its answers match its own OpenAPI schema (fuzzed with
schemathesis), filters and pages work, drafts never appear, answers are
cacheable (ETag, Last-Modified, 304) and readable from other sites (CORS)."""
import datetime

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils.http import http_date
from hypothesis import HealthCheck, settings

from poles.models import Pole, Project, Theme


# The schema as the API serves it, fetched in-process through WSGI (no database
# needed). Loaded at import: schemathesis' fixture-based loading (from_fixture)
# does not work with pytest 9 (it sets the removed Node._nodeid).
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """Schemathesis calls the real WSGI handler, whose request signals close the
    database connection (and with it the test's transaction, on PostgreSQL);
    Django's test client disconnects them the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_matches_the_schema(case, project, linked_drafts, wsgi_keeps_the_test_connection):
    """Status codes, content types and bodies are those the schema describes,
    for generated paths and parameters, and no answer is a server error."""
    case.call_and_validate()


def results(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()["resultats"]


def test_project_list_and_detail_carry_the_open_data_fields(client, project):
    listed = results(client, "/api/projets/")
    assert [item["slug"] for item in listed] == ["iter"]
    detail = client.get("/api/projets/iter/").json()
    assert detail == listed[0]
    assert detail["titre"] == "ITER"
    assert detail["titre_en"] is None
    assert detail["type"] == "infrastructure"
    assert detail["pole"] == {
        "sigle": "Capenergies", "slug": "capenergies", "nom": "Énergies non génératrices de gaz à effet de serre",
        "page": "http://testserver/poles/capenergies/",
    }
    assert detail["thematiques"] == [{"slug": "solaire", "nom": "Solaire", "page": "http://testserver/thematiques/solaire/"}]
    assert detail["territoires"][0]["code"] == "04112"
    assert detail["page"] == "http://testserver/projets/iter/"


@pytest.mark.parametrize("value", ["Capenergies", "capenergies", "CAPENERGIES"])
def test_projects_filtered_by_pole_acronym_or_slug(client, project, value):
    other = Pole.objects.create(name="Autre", acronym="PASS", slug="pass", title="PASS", summary="Autre.")
    Project.objects.create(title="Lavande", slug="lavande", pole=other, summary="Autre.")
    assert [item["slug"] for item in results(client, f"/api/projets/?pole={value}")] == ["iter"]
    assert [item["slug"] for item in results(client, "/api/projets/?pole=pass")] == ["lavande"]


def test_filters_by_theme_and_territory_code(client, project, make_projects):
    Project.objects.create(title="Sans lien", slug="sans-lien", pole=project.pole, summary="Rien.")
    assert {item["slug"] for item in results(client, "/api/projets/?thematique=solaire")} == {"iter"}
    assert {item["slug"] for item in results(client, "/api/projets/?territoire=04112")} == {"iter"}
    assert {item["slug"] for item in results(client, "/api/projets/?territoire=commune:04112")} == {"iter"}
    assert results(client, "/api/projets/?territoire=region:04112") == []
    assert [item["sigle"] for item in results(client, "/api/poles/?thematique=solaire&territoire=04112")] == ["Capenergies"]
    assert [item["slug"] for item in results(client, "/api/thematiques/?pole=capenergies")] == ["solaire"]
    assert [item["code"] for item in results(client, "/api/territoires/?pole=Capenergies")] == ["04112"]
    assert [item["nom"] for item in results(client, "/api/territoires/?code=93")] == ["Provence-Alpes-Côte d'Azur"]


def test_unknown_reference_gives_an_empty_list(client, project):
    for url in ["/api/projets/?pole=inconnu", "/api/projets/?thematique=inconnue", "/api/poles/?territoire=99999"]:
        response = client.get(url)
        assert response.status_code == 200
        assert response.json() == {"nombre": 0, "suivant": None, "precedent": None, "resultats": []}


def test_invalid_choice_is_refused_in_french_with_the_allowed_values(client, project):
    response = client.get("/api/projets/?statut=fini")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Paramètre invalide."
    assert body["parametres"]["statut"] == [
        "« fini » n'est pas une valeur possible ; valeurs possibles : « planned », « ongoing », « completed », « unknown »."
    ]


def test_lists_are_paginated(client, make_projects):
    make_projects(5)
    first = client.get("/api/projets/?par_page=2").json()
    assert first["nombre"] == 5
    assert [item["slug"] for item in first["resultats"]] == ["projet-0", "projet-1"]
    assert first["precedent"] is None
    assert first["suivant"] == "http://testserver/api/projets/?page=2&par_page=2"
    last = client.get("/api/projets/?par_page=2&page=3").json()
    assert [item["slug"] for item in last["resultats"]] == ["projet-4"]
    assert last["suivant"] is None
    missing = client.get("/api/projets/?page=4&par_page=2")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Cette page n'existe pas."}


def test_page_size_is_capped(client, make_projects):
    make_projects(3)
    assert len(results(client, "/api/projets/?par_page=1000")) == 3
    assert client.get("/api/projets/?par_page=1000").json()["nombre"] == 3


def test_drafts_never_appear(client, admin_client, linked_drafts):
    """Not in lists, not as a link of a published record, not in a filter,
    not at their own address — not even for staff."""
    for viewer in (client, admin_client):
        everything = b"".join(
            viewer.get(url).content for url in ["/api/poles/", "/api/projets/", "/api/thematiques/", "/api/territoires/"]
        ).decode()
        for secret in ["BROUILLON", "pole-brouillon", "projet-brouillon", "theme-brouillon", "commune-brouillon",
                       "04999", "Secret"]:
            assert secret not in everything
        capenergies = viewer.get("/api/poles/capenergies/").json()
        assert capenergies["successeur"] is None
        assert [theme["slug"] for theme in capenergies["thematiques"]] == ["solaire"]
        assert viewer.get("/api/thematiques/solaire/").json()["parent"] is None
        assert results(viewer, "/api/poles/?thematique=theme-brouillon") == []
        assert results(viewer, "/api/projets/?pole=BROUILLON") == []
        for url in ["/api/poles/pole-brouillon/", "/api/projets/projet-brouillon/", "/api/projets/projet-pole-brouillon/",
                    "/api/thematiques/theme-brouillon/", "/api/territoires/commune-brouillon/"]:
            response = viewer.get(url)
            assert response.status_code == 404
            assert response["Content-Type"] == "application/json"


def test_unknown_address_is_a_json_404_in_french(client, db):
    response = client.get("/api/inconnue/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response.json()["detail"].startswith("Aucune ressource à cette adresse.")
    assert "http://testserver/donnees/api/" in response.json()["detail"]


def test_writing_is_refused(client, project):
    response = client.post("/api/projets/", {"titre": "Nouveau"})
    assert response.status_code == 405
    assert response.json() == {"detail": "Méthode «\xa0POST\xa0» non autorisée."}
    assert client.delete("/api/projets/iter/").status_code == 405
    assert Project.objects.filter(slug="iter").exists()


def test_etag_gives_304_until_the_content_changes(client, project):
    first = client.get("/api/projets/")
    etag = first["ETag"]
    assert etag.startswith('"')
    again = client.get("/api/projets/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["Access-Control-Allow-Origin"] == "*"
    assert client.get("/api/projets/?page=1", HTTP_IF_NONE_MATCH=etag).status_code == 200
    project.title = "ITER, réacteur"
    project.save()
    changed = client.get("/api/projets/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert changed.json()["resultats"][0]["titre"] == "ITER, réacteur"


def test_a_deletion_changes_the_etag(client, project):
    Project.objects.create(title="Éphémère", slug="ephemere", pole=project.pole, summary="Bientôt supprimé.")
    etag = client.get("/api/projets/")["ETag"]
    Project.objects.get(slug="ephemere").delete()
    assert client.get("/api/projets/", HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_last_modified_gives_304_when_nothing_changed_since(client, project):
    response = client.get("/api/poles/capenergies/")
    last_modified = response["Last-Modified"]
    assert client.get("/api/poles/capenergies/", HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    earlier = http_date((project.pole.updated_at - datetime.timedelta(days=1)).timestamp())
    assert client.get("/api/poles/capenergies/", HTTP_IF_MODIFIED_SINCE=earlier).status_code == 200


def test_cors_is_open_for_reading(client, project):
    response = client.get("/api/poles/", HTTP_ORIGIN="https://exemple.org")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response["Access-Control-Expose-Headers"]
    preflight = client.options(
        "/api/poles/", HTTP_ORIGIN="https://exemple.org", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="if-none-match",
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert preflight["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert "If-None-Match" in preflight["Access-Control-Allow-Headers"]
    assert client.get("/api/schema/")["Access-Control-Allow-Origin"] == "*"
    # The public pages are not opened to other sites.
    assert "Access-Control-Allow-Origin" not in client.get("/poles/")


def test_the_api_speaks_french_whatever_the_browser_asks(client, project):
    response = client.get("/api/projets/?type=autre", HTTP_ACCEPT_LANGUAGE="en")
    assert "n'est pas une valeur possible" in response.json()["parametres"]["type"][0]
    assert client.get("/api/projets/iter/", HTTP_ACCEPT_LANGUAGE="en").json()["page"] == "http://testserver/projets/iter/"


def test_schema_is_openapi_3_in_json_and_yaml(client, db):
    schema = client.get("/api/schema/").json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/poles/", "/api/poles/{slug}/", "/api/projets/", "/api/projets/{slug}/",
        "/api/thematiques/", "/api/thematiques/{slug}/", "/api/territoires/", "/api/territoires/{slug}/",
    }
    assert {"pole", "thematique", "territoire"} <= {p["name"] for p in schema["paths"]["/api/projets/"]["get"]["parameters"]}
    assert client.get("/api/schema/?format=yaml").content.startswith(b"openapi: 3.")


@pytest.mark.parametrize("url", ["/api/projets/", "/api/poles/", "/api/thematiques/", "/api/territoires/",
                                 "/api/projets/iter/", "/api/poles/capenergies/"])
def test_query_count_does_not_grow_with_content(client, project, make_projects, django_assert_num_queries, url):
    """As many queries with 1 project as with 11: no query per record."""
    with django_assert_num_queries(QUERIES[url]):
        assert client.get(url).status_code == 200
    make_projects(10)
    for number in range(3):
        Theme.objects.create(name=f"Thème {number}", slug=f"theme-{number}")
    with django_assert_num_queries(QUERIES[url]):
        assert client.get(url).status_code == 200


# The content's state (ETag), then the page count, the page and one query per prefetched relation.
QUERIES = {
    "/api/projets/": 5,
    "/api/poles/": 6,
    "/api/thematiques/": 3,
    "/api/territoires/": 3,
    "/api/projets/iter/": 4,
    "/api/poles/capenergies/": 5,
}


@pytest.mark.parametrize("query", ["page=", "page=0", "page=last", "page=deux"])
def test_a_page_that_is_not_a_number_from_1_is_not_found(client, project, query):
    response = client.get(f"/api/projets/?{query}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Cette page n'existe pas."}


@pytest.mark.parametrize("query", ["par_page=", "par_page=0", "par_page=-3", "par_page=dix"])
def test_a_page_size_that_is_not_a_number_from_1_is_refused(client, project, query):
    response = client.get(f"/api/projets/?{query}")
    assert response.status_code == 400
    assert list(response.json()["parametres"]) == ["par_page"]


def test_a_key_with_a_nul_character_names_nothing(client, project):
    for url in ["/api/projets/?thematique=sol%00aire", "/api/poles/?territoire=04%00", "/api/territoires/?code=%00"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.json()["resultats"] == []


def test_an_empty_choice_is_refused_too(client, project):
    response = client.get("/api/projets/?type=&statut=ongoing")
    assert response.status_code == 400
    assert list(response.json()["parametres"]) == ["type"]
    assert response.json()["parametres"]["type"][0].startswith("«  » n'est pas une valeur possible")
    assert client.get("/api/projets/?pole=").status_code == 200


def test_head_answers_the_headers_of_get(client, project):
    get = client.get("/api/poles/")
    head = client.head("/api/poles/")
    assert head.status_code == 200
    assert head.content == b""
    assert head["ETag"] == get["ETag"]
    assert head["Access-Control-Allow-Origin"] == "*"
