#!/usr/bin/env bash
# Lighthouse 12 scores of the home page and a pole page, mobile and desktop presets, against
# the production stack (benchmarks/stack.sh: gunicorn, DJANGO_DEBUG=0, collected static files).
#
#   benchmarks/lighthouse.sh            # SKIP_COLLECTSTATIC=1 to reuse staticfiles/
#
# Lighthouse is installed by npm into benchmarks/node_modules (not committed) on first use,
# and drives Debian's Chromium (CHROME_PATH, default /usr/bin/chromium). Reports (HTML and
# JSON) are kept in LIGHTHOUSE_REPORTS (default /tmp/lighthouse-reports).
set -euo pipefail
cd "$(dirname "$0")/.."
LIGHTHOUSE_VERSION=12.8.2
LIGHTHOUSE=benchmarks/node_modules/.bin/lighthouse
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
REPORTS=${LIGHTHOUSE_REPORTS:-/tmp/lighthouse-reports}
if [ ! -x "$LIGHTHOUSE" ] || ! "$LIGHTHOUSE" --version | grep -qx "$LIGHTHOUSE_VERSION"; then
    npm install --prefix benchmarks --no-save --no-audit --no-fund "lighthouse@$LIGHTHOUSE_VERSION"
fi

source benchmarks/stack.sh
trap 'stop_server; rm -rf "$WORK"' EXIT
mkdir -p "$REPORTS"
start_server
# Warm-up: a fresh gunicorn worker compiles the templates (and fills the page cache) on its
# first request of a page, which would slow only the first Lighthouse run; each worker gets
# a few requests of each measured page first.
for page in / /poles/capenergies/; do
    for _ in 1 2 3 4; do curl -fs -o /dev/null "$BASE$page"; done
done

printf '\n%-22s %-8s %5s %5s %5s %5s   %s\n' "page" "preset" "perf" "a11y" "bp" "seo" "FCP / LCP / TBT / CLS / SI"
for page in / /poles/capenergies/; do
    for preset in mobile desktop; do
        name="$(echo "$page" | tr -c 'a-z0-9\n' '-' | sed 's/^-*//; s/-*$//')"
        report="$REPORTS/${name:-accueil}-$preset"
        options=()
        [ "$preset" = desktop ] && options+=(--preset=desktop)
        "$LIGHTHOUSE" "$BASE$page" "${options[@]}" --quiet \
            --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage" \
            --only-categories=performance,accessibility,best-practices,seo \
            --output=json --output=html --output-path="$report" >/dev/null
        "$PY" - "$report.report.json" "$page" "$preset" <<'PYTHON'
import json, sys
report = json.load(open(sys.argv[1]))
score = {key: round(category["score"] * 100) for key, category in report["categories"].items()}
audits = report["audits"]
metrics = " / ".join(audits[key]["displayValue"].replace("\xa0", " ") for key in (
    "first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift",
    "speed-index"))
print(f"{sys.argv[2]:<22} {sys.argv[3]:<8} {score['performance']:5} {score['accessibility']:5} "
      f"{score['best-practices']:5} {score['seo']:5}   {metrics}")
for key, category in report["categories"].items():
    if score[key] < 100:
        lost = [audits[ref["id"]] for ref in category["auditRefs"]
                if ref["weight"] and audits[ref["id"]]["score"] is not None and audits[ref["id"]]["score"] < 1]
        print(f"    {key} : " + " ; ".join(f"{audit['id']} ({audit['score']:.2f})" for audit in lost))
PYTHON
    done
done
echo
echo "Rapports : $REPORTS (charge moyenne : $(cut -d' ' -f1-3 /proc/loadavg))"
