#!/usr/bin/env bash
# W5 side by side: PyTorch eager, Keras 3 on TensorFlow and keras-rs binaries, interleaved
# (A B C A B C), each process under `chrt -f 1` as ../shared/bench/run_all.sh runs its anchors.
#
# usage: PY=/path/to/venv/bin/python tools/bench/anchors/run_w5.sh REPS OUT.jsonl NAME=BENCH_BIN...
#   e.g. run_w5.sh 3 w5.jsonl keras-rs=target/release/examples/bench
# Then: python3 tools/bench/anchors/summarize_w5.py OUT.jsonl
set -u
reps=$1; out=$(realpath -m "$2"); shift 2
PY=${PY:-python3}
cd "$(dirname "$0")/../../.."
for rep in $(seq 1 "$reps"); do
  for m in resnet50 mobilenet_v2; do
    BENCH_REP=$rep BENCH_OUT=$out chrt -f 1 "$PY" tools/bench/anchors/bench_w5_torch.py --model $m >/dev/null 2>&1
    BENCH_REP=$rep BENCH_OUT=$out TF_CPP_MIN_LOG_LEVEL=3 chrt -f 1 "$PY" tools/bench/anchors/bench_w5_keras.py --backend tensorflow --model $m >/dev/null 2>&1
    for nb in "$@"; do
      name=${nb%%=*}; bin=${nb#*=}
      line=$(chrt -f 1 "$bin" --workload ${m}_infer 2>/dev/null | tail -1)
      echo "{\"ab\": \"$name\", \"rep\": $rep, \"result\": $line}" >> "$out"
    done
  done
done
