#!/usr/bin/env bash
# The Python package's batch search (issue 22): docvec's `search_vectors` against faiss's Python call
# on the same vectors, in one run. N clustered 384-d unit vectors (benches/ann/make_clustered.py: the
# shape of all-MiniLM-L6-v2 text embeddings, 1,000 centres plus noise; 500 queries drawn alike) are
# written into a data directory's store (the meta_filter example's seeding) under the default model's
# id; a read-write open from Python builds and saves the HNSW index from the store; then
# benches/python/batch_search.py exports the vectors, builds faiss over them and times both.
#   bash benches/python.sh [N]     (default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
wheel=$(bash tools/python.sh wheel)
py=target/python-venv/bin/python
"$py" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheel"
"$py" -c "import faiss" 2>/dev/null || "$py" -m pip install -q --disable-pip-version-check faiss-cpu==1.15.1
cargo build --release --locked --quiet -p docvec-engine --example meta_filter
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$py" benches/ann/make_clustered.py "$dir/vectors" "$n" >/dev/null
target/release/examples/meta_filter --seed "$dir/data" all-MiniLM-L6-v2 "$dir/vectors/base.fvecs"
"$py" -c "import docvec, sys; db = docvec.open(sys.argv[1]); print(f'{len(db)} vectors indexed', file=sys.stderr); db.close()" "$dir/data"
# The same number of threads for both: rayon's pool and faiss's OpenMP.
threads=$(nproc)
export RAYON_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
"$py" benches/python/batch_search.py "$dir/data" "$dir/vectors/query.fvecs"
