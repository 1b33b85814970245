#!/usr/bin/env bash
# Side-by-side benchmark: keras-rs against the anchor scripts of ../shared/bench (PyTorch eager,
# Keras 3 on TensorFlow), interleaved A B C A B C, each process under SCHED_FIFO as the anchors
# were measured. Prints one JSON line per run.
#
#   ANCHOR_PY=/path/to/venv/bin/python crates/keras/benches/side_by_side.sh [REPS]
#
# The venv needs torch, tensorflow-cpu and keras (see ../shared/bench/README.md).
set -u
cd "$(dirname "$0")/../../.."
REPS=${1:-2}
BENCH_DIR=${BENCH_DIR:-../shared/bench}
PY=${ANCHOR_PY:?set ANCHOR_PY to a python with torch, tensorflow-cpu and keras}
cargo build --release -p keras --example bench >/dev/null 2>&1 || exit 1
BIN=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/examples/bench
export BENCH_THREADS=2
FIFO="chrt -f 1"
[ "$(id -u)" = 0 ] || FIFO=""
for rep in $(seq 1 "$REPS"); do
  for spec in "mlp 128" "cnn 32" "cnn 128" "cnn_infer 1"; do
    set -- $spec
    $FIFO "$BIN" --workload "$1" --batch "$2"
    (cd "$BENCH_DIR" && $FIFO "$PY" bench_torch.py --workload "$1" --batch "$2" 2>/dev/null | tail -1)
    (cd "$BENCH_DIR" && $FIFO "$PY" bench_keras.py --backend tensorflow --workload "$1" --batch "$2" 2>/dev/null | tail -1)
  done
done
