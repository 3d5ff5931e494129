#!/usr/bin/env bash
# The search page of `docvec serve` in a real headless Chromium (Debian's package; Playwright's own
# browser builds are never downloaded): three servers of the release binary with the real model and
# real corpus files (an open one, one that wants a key, one --read-only), then
# tests/browser/ui.test.mjs against them. The servers stop on exit, whatever happened.
#   bash tools/browser_test.sh [--screenshot]    # --screenshot also rewrites docs/ui.png
# Uses $DOCVEC_TEST_BIN when set, else builds target/release/docvec. Under CI=true a missing
# prerequisite (corpus, node, Chromium) fails the run; elsewhere it is skipped, saying so.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

skip_or_fail() {
  if [ "${CI:-}" = true ]; then
    echo "browser_test: FAILED: $1" >&2
    exit 1
  fi
  echo "browser_test: SKIPPED: $1" >&2
  exit 0
}

screenshot=
[ "${1:-}" = --screenshot ] && screenshot=$root/docs/ui.png

corpus=$(cd "${DOCVEC_CORPUS:-../shared/corpus}" 2>/dev/null && pwd) || corpus=
api=(api/oai-petstore-expanded-swagger2.0.yaml api/oai-uber-swagger2.0.json)
for f in docs/mdbook-guide "${api[@]}" pdf/pdfjs-tracemonkey.pdf; do
  [ -n "$corpus" ] && [ -e "$corpus/$f" ] || skip_or_fail "no corpus file $f (../shared/corpus)"
done
command -v node >/dev/null && command -v npm >/dev/null || skip_or_fail "node and npm are needed"
command -v curl >/dev/null || skip_or_fail "curl is needed"
chromium=${DOCVEC_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  [ "$(id -u)" = 0 ] || skip_or_fail "no $chromium, and installing Debian's chromium needs root"
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
[ -x "$chromium" ] || skip_or_fail "no Chromium at $chromium"

(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
python3 tools/setup_models.py >/dev/null
bin=${DOCVEC_TEST_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --locked -p docvec-cli
  bin=$root/target/release/docvec
fi
started=$SECONDS

work=$(mktemp -d)
pids=()
stop_servers() {
  # SIGTERM is docvec's graceful stop: requests finish, the index is saved, the lock released.
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap stop_servers EXIT

docvec() { "$bin" --data-dir "$@"; }

# The open server's data: the mdBook guide and two API descriptions, as a user would ingest them.
docvec "$work/open" ingest "$corpus/docs/mdbook-guide" --tag mdbook >/dev/null
docvec "$work/open" ingest "${api[@]/#/$corpus/}" --tag api >/dev/null
# The keyed and read-only servers serve the repository's samples.
docvec "$work/keyed" ingest samples >/dev/null
key=$(docvec "$work/keyed" keys create --role write --name browser-test 2>/dev/null)
docvec "$work/readonly" ingest samples >/dev/null

# Starts `docvec serve` on a free port (the kernel's pick) and waits for /readyz; sets $url.
serve() {
  local dir=$1 log=$1.log
  shift
  : >"$log"
  # The binary itself in the background (not through a function's subshell), so $! is its pid.
  "$bin" --data-dir "$dir" serve --bind 127.0.0.1:0 "$@" 2>"$log" &
  pids+=($!)
  local pid=$! deadline=$((SECONDS + 180))
  url=
  while :; do
    url=$(sed -n 's/^docvec serving on \(http:[^ ]*\).*/\1/p' "$log" | head -1)
    if [ -n "$url" ] && curl -sf "$url/readyz" >/dev/null; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      echo "browser_test: docvec serve on $dir did not get ready:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.2 # polling the log and /readyz, not a wait for time to pass
  done
}

serve "$work/open"
open_url=$url
serve "$work/keyed"
keyed_url=$url
serve "$work/readonly" --read-only
readonly_url=$url

status=0
DOCVEC_URL=$open_url DOCVEC_KEYED_URL=$keyed_url DOCVEC_KEY=$key DOCVEC_READONLY_URL=$readonly_url \
  DOCVEC_UPLOAD_FILE=$corpus/pdf/pdfjs-tracemonkey.pdf DOCVEC_SAMPLE_FILE=$root/samples/sourdough-bread.txt \
  DOCVEC_CHROMIUM=$chromium DOCVEC_SCREENSHOT=$screenshot \
  node --test --test-reporter=spec tests/browser/ui.test.mjs || status=$?
echo "browser_test: $((SECONDS - started)) s without the build (exit $status)"
exit "$status"
