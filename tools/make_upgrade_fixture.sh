#!/usr/bin/env bash
# Make an upgrade fixture: a small data directory written by the docvec binary given, packed as
# FORMAT-N-LABEL.tar.gz, with FORMAT-N-LABEL.json recording who made it and what a few searches
# (keyword and vector) returned there, ids and scores. Every later docvec must open it, migrate it in
# place and answer the same (crates/docvec-cli/tests/cli/upgrade.rs).
#
#   tools/make_upgrade_fixture.sh BINARY [LABEL] [OUT_DIR]
#
# BINARY: the docvec to make it with (for an older release: build that commit in a worktree of its
# own, `cargo build -p docvec-cli`, and pass its target/debug/docvec). LABEL: the commit it was built
# from (default: this checkout's HEAD). OUT_DIR: default crates/docvec-cli/tests/fixtures/upgrade.
# Run from anywhere; the binary runs in the repository root, so models/ is found as usual. The
# documents are written here, not taken from the shared corpus. Needs jq and sqlite3.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$(realpath "${1:?usage: make_upgrade_fixture.sh BINARY [LABEL] [OUT_DIR]}")"
label="${2:-$(git -C "$root" rev-parse --short HEAD)}"
out="$(realpath -m "${3:-$root/crates/docvec-cli/tests/fixtures/upgrade}")"
for tool in jq sqlite3; do
    command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
docs="$work/docs"
data="$work/data"
mkdir -p "$docs" "$out"

cat >"$docs/sourdough.md" <<'EOF'
# Sourdough bread

## The starter

A sourdough starter is flour and water left to ferment with wild yeast and lactic acid bacteria.
Feed it every day with equal weights of flour and water until it doubles within six hours.

## Baking

Mix the levain into the dough, fold it four times during the bulk rise, shape a boule and bake it
in a covered pot at 250 degrees for twenty minutes, then uncovered until the crust is dark.
EOF

cat >"$docs/planets.txt" <<'EOF'
The planets of the solar system orbit the Sun on nearly circular paths. Mercury is the closest and
fastest; Neptune the farthest and slowest. Kepler's third law says the square of a planet's orbital
period is proportional to the cube of its distance from the Sun.

Jupiter is the largest planet, a gas giant with a storm larger than the Earth. Saturn's rings are
made of ice and rock.
EOF

cat >"$docs/lighthouses.csv" <<'EOF'
name,country,height_m,first_lit
Jeddah Light,Saudi Arabia,133,1990
Île Vierge,France,82.5,1902
Lighthouse of Genoa,Italy,76,1543
Eddystone,England,49,1882
EOF

cat >"$docs/vectors.md" <<'EOF'
# Approximate nearest neighbours

An HNSW graph links each vector to its nearest neighbours on several layers. A search starts at the
top layer and greedily walks towards the query, descending one layer at a time; ef_search sets how
many candidates it keeps. Cosine similarity compares the directions of two embeddings.
EOF

docvec() { (cd "$root" && env -u DOCVEC_CONFIG "$bin" --data-dir "$data" "$@"); }

docvec ingest "$docs" --json >"$work/ingest.json"
jq -e '[.files[] | .[1].status] | all(. == "added")' "$work/ingest.json" >/dev/null || {
    echo "not every document was added:" >&2
    cat "$work/ingest.json" >&2
    exit 1
}
# `docvec check` is younger than some releases worth a fixture.
if "$bin" help check >/dev/null 2>&1; then docvec check >/dev/null; fi

# Each search: its arguments and what it returned, reduced to chunk ids and scores.
searches="[]"
while IFS='|' read -r mode query; do
    hits="$(docvec search "$query" --mode "$mode" -k 5 --json |
        jq '[.[] | {chunk_id, score, document_path: (.document_path | split("/") | last)}]')"
    [ "$(jq length <<<"$hits")" -gt 0 ] || { echo "no hits for $mode '$query'" >&2; exit 1; }
    searches="$(jq --arg mode "$mode" --arg query "$query" --argjson hits "$hits" \
        '. + [{mode: $mode, query: $query, k: 5, hits: $hits}]' <<<"$searches")"
done <<'EOF'
keyword|sourdough starter
keyword|planet orbit
keyword|lighthouse
vector|how do I bake bread at home
vector|which planet is the biggest
vector|graph search for similar embeddings
EOF

format="$(sqlite3 "$data/docvec.db" 'SELECT MAX(version) FROM _sqlx_migrations')"
name="format-$format-$label"
# A clean close leaves no -wal/-shm; refuse to pack a directory that still needs them.
for f in docvec.db-wal docvec.db-shm; do
    [ ! -e "$data/$f" ] || { echo "$f left beside the store: was docvec killed?" >&2; exit 1; }
done
tar -C "$data" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -czf "$out/$name.tar.gz" .
# bm25: the keyword scoring the searches ran with, the defaults of `[search] bm25_k1`/`bm25_b`/
# `bm25_heading_weight` (tests/cli/upgrade.rs runs the fixture's searches with it; a fixture without
# it, or without heading_weight, predates those settings).
jq -n --arg made_by "$label" --arg version "$("$bin" --version 2>/dev/null || echo unknown)" \
    --argjson format "$format" --arg archive "$name.tar.gz" --argjson searches "$searches" \
    '{made_by: $made_by, docvec_version: $version, format: $format, archive: $archive,
      bm25: {k1: 0.9, b: 0.4, heading_weight: 0.25}, searches: $searches}' >"$out/$name.json"
echo "$out/$name.tar.gz ($(du -k "$out/$name.tar.gz" | cut -f1) KiB), $out/$name.json"
