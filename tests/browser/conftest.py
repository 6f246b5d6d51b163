"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Fixtures:
- `browser`: one headless Chromium for the whole session;
- `live_site`: the live server's URL, with the prefecture's content loaded (transactional DB);
- `open_page(color_scheme=..., viewport=...)`: a page in its own context, recording console
  errors and failed requests (`page.problems`), closed after the test;
- `assert_accessible(page, label)`: axe-core (offline, from axe-playwright-python), zero violations.
"""
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections

# Playwright's sync API keeps an asyncio loop running in the main thread, so Django would
# refuse every ORM call made by the tests (SynchronousOnlyOperation).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").strip().lower() == "true"
MISSING_CHROMIUM = (
    "Chromium absent (/usr/bin/chromium) : tests navigateur ignorés — installez le paquet Debian chromium"
)
# Without the background-networking flags Chromium keeps calling Google's services, which
# floods a closed network; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
]
# DSFR's "background-default-grey" in each display mode.
BACKGROUND = {"light": "rgb(255, 255, 255)", "dark": "rgb(22, 22, 22)"}
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 667}


def chromium_available():
    return Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)


def pytest_runtest_setup(item):
    """Skip browser tests before any fixture starts (one reason line in the summary)...
    ...except under CI=true, where the `browser` fixture turns a missing Chromium into an error."""
    if item.get_closest_marker("browser") and not IN_CI and not chromium_available():
        pytest.skip(MISSING_CHROMIUM)


@pytest.fixture(scope="session")
def playwright_driver(django_db_setup):
    """Playwright's driver. Entering sync_playwright() switches the main thread to another
    contextvars context, where Django (asgiref.local) opens fresh database connections: they
    are closed before leaving it, or PostgreSQL could not drop the test database. Hence the
    dependency on django_db_setup: the test database outlives this fixture."""
    if not chromium_available():
        if IN_CI:
            pytest.fail(f"CI=true mais {CHROMIUM} est absent : installez le paquet Debian chromium.",
                        pytrace=False)
        pytest.skip(MISSING_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver
        connections.close_all()


def wait_for_live_server_requests(timeout=10):
    """The live server answers each keep-alive connection in a thread that holds its own
    database connection until the browser hangs up (Django closes it in close_request):
    PostgreSQL refuses to drop the test database while one is left."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name.endswith("(process_request_thread)"):
            thread.join(max(0.0, deadline - time.monotonic()))


@pytest.fixture(scope="session")
def browser(playwright_driver):
    """One headless Chromium for the whole session; each test opens its own context.
    Closed, and the live server's request threads gone, before the test database is dropped."""
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    wait_for_live_server_requests()


@pytest.fixture
def prefecture_live(transactional_db):
    """The prefecture's content, committed so the live server's thread sees it
    (tests/conftest.py's `prefecture` uses `db`, whose transaction the server cannot see)."""
    call_command("loaddata", "prefecture", verbosity=0)


@pytest.fixture
def live_site(prefecture_live, live_server):
    """Base URL of the live server, serving the prefecture's content."""
    return live_server.url


@dataclass
class PageProblems:
    """What went wrong while a page was open: console errors and failed requests."""

    console_errors: list = field(default_factory=list)
    failed_requests: list = field(default_factory=list)

    def watch(self, page):
        def on_console(message):
            if message.type == "error":
                where = message.location or {}
                if not where.get("url") and "Content Security Policy" in message.text:
                    return  # refused to a script the test ran itself (axe-core's checks), not the site's
                location = f"{where.get('url', '?')}:{where.get('lineNumber', '?')}"
                self.console_errors.append(f"{message.text} ({location})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.console_errors.append(f"exception JS : {error}"))
        # A request the browser itself gave up on (net::ERR_ABORTED: a favicon still loading when
        # the page moves on, the request Chromium turns into a download) failed nothing a visitor
        # sees. Blocked, refused or missing resources have other errors, or a status >= 400.
        page.on("requestfailed", lambda request: request.failure != "net::ERR_ABORTED"
                and self.failed_requests.append(f"{request.method} {request.url} : {request.failure}"))
        page.on("response", lambda response: response.status >= 400 and self.failed_requests.append(
            f"{response.request.method} {response.url} : HTTP {response.status}"))

    def clear(self):
        self.console_errors.clear()
        self.failed_requests.clear()


@pytest.fixture
def open_page(browser):
    """Factory: open_page(color_scheme="light"|"dark", viewport=DESKTOP) -> a new page in its own
    context (French locale, so LocaleMiddleware serves French), whose problems are recorded in
    `page.problems`. Every context is closed after the test."""
    contexts = []

    def _open(color_scheme="light", viewport=None, **context_options):
        context = browser.new_context(
            color_scheme=color_scheme,
            viewport=viewport or DESKTOP,
            locale="fr-FR",
            timezone_id="Europe/Paris",
            **context_options,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.problems = PageProblems()
        page.problems.watch(page)
        return page

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page):
    """A desktop page in light display."""
    return open_page()


def wait_until(page, expression, arg=None, timeout=10):
    """page.wait_for_function, polled from here: Playwright's own polling runs the condition
    through eval() in the page, which the site's Content-Security-Policy (no 'unsafe-eval')
    refuses whenever the condition is not already true; page.evaluate is outside the policy."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise TimeoutError(f"toujours faux après {timeout} s : {expression}")
        page.wait_for_timeout(50)


def wait_for_dsfr(page):
    """Wait until the DSFR's JavaScript has started and applied the display mode."""
    wait_until(
        page,
        "document.documentElement.getAttribute('data-fr-js') === 'true'"
        " && document.documentElement.hasAttribute('data-fr-theme')"
    )
    # Fonts (Marianne) loaded: axe's contrast checks and computed styles are then final.
    page.evaluate("document.fonts.ready.then(() => true)")


def wait_for_animations(page):
    """Wait until no CSS transition or animation is running (modals fade in, themes fade)."""
    wait_until(
        page,
        "document.getAnimations().every("
        "a => a.playState !== 'running' || a.effect?.getTiming().iterations === Infinity)"
    )


def computed_style(page, selector, prop):
    return page.eval_on_selector(selector, "(el, prop) => getComputedStyle(el).getPropertyValue(prop)", prop)


def assert_display(page, scheme):
    """The display mode actually applied: DSFR's theme attribute and the body's background."""
    theme = page.get_attribute("html", "data-fr-theme")
    assert theme == scheme, f"data-fr-theme={theme!r}, attendu {scheme!r}"
    wait_until(page, "expected => getComputedStyle(document.body).backgroundColor === expected", BACKGROUND[scheme])


def format_axe_violations(violations):
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}) : {violation['help']} — {violation['helpUrl']}"
        )
        for node in violation["nodes"]:
            target = " ".join(" >>> ".join(t) if isinstance(t, list) else t for t in node["target"])
            lines.append(f"    cible : {target}")
            lines.append(f"      html : {' '.join(node['html'].split())[:300]}")
            if node.get("failureSummary"):
                lines.append("      " + " ".join(node["failureSummary"].split()))
    return "\n".join(lines)


@pytest.fixture(scope="session")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture
def assert_accessible(axe):
    """assert_accessible(page, label): axe-core's default rules (WCAG 2.x A/AA and best
    practices) report no violation on the page as it is displayed."""

    def _check(page, label=""):
        wait_for_animations(page)  # a fading modal has mid-transition colours
        results = axe.run(page)
        violations = results.response["violations"]
        assert not violations, (
            f"axe-core {results.response.get('testEngine', {}).get('version', '')} : "
            f"{len(violations)} règle(s) enfreinte(s) sur {label or page.url}\n"
            f"{format_axe_violations(violations)}"
        )

    return _check
