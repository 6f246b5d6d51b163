"""One address of each public page type, for the tests that visit them all.
Each is served by the small `site` fixture and by the prefecture's content."""

PUBLIC_PAGES = [
    "/",
    "/politique-nationale/",
    "/poles/",
    "/poles/capenergies/",
    "/thematiques/",
    "/thematiques/solaire/",
    "/territoires/",
    "/territoires/manosque/",
    "/projets/",
    "/projets/iter/",
    "/plan-du-site/",
    "/accessibilite/",
    "/mentions-legales/",
    "/donnees-personnelles/",
    "/gestion-des-cookies/",
    "/recherche/",
    "/donnees/",
    "/donnees/api/",
]
NOT_FOUND = "/nexiste-pas/"
# The search page with results (its query is no part of its canonical address or
# language versions, which the checks of PUBLIC_PAGES compare with the URL).
SEARCH_RESULTS = "/recherche/?q=energie"
# A few page types in English, for the HTML validity and accessibility checks.
ENGLISH_PAGES = ["/en/", "/en/poles/capenergies/", "/en/territoires/manosque/"]
