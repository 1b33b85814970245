#!/usr/bin/env bash
# GPU check for keras-rs (issue 13). Two halves:
#
#   scripts/gpu-check.sh [STAGE_DIR]   on a machine with cargo (no GPU needed): builds the GPU
#                                      test and bench binaries with `--features cuda`, strips
#                                      them and stages them with this script in STAGE_DIR
#                                      (default: .gpu in the repository root).
#   bash STAGE_DIR/gpu-check.sh remote on the GPU machine (no Rust toolchain): runs the CUDA op
#                                      tests, the Keras GPU tests, the Keras reference cases on
#                                      the GPU and the benchmarks, each under a timeout, in
#                                      about 5 minutes. Logs go to $OUT (or ./gpu-out).
set -uo pipefail

if [[ "${1:-}" == "remote" ]]; then
    here="$(cd "$(dirname "$0")" && pwd)"
    out="${OUT:-$PWD/gpu-out}"
    mkdir -p "$out"
    log="$out/log.txt"
    bench="$out/bench.jsonl"
    : >"$bench"
    say() { echo "== $*" | tee -a "$log"; }
    step() { # step NAME SECONDS CMD...
        local name="$1" secs="$2"
        shift 2
        say "$name"
        local t0=$SECONDS
        timeout -k 5 "$secs" "$@" 2>&1 | tee -a "$log"
        local rc=${PIPESTATUS[0]}
        say "$name: exit $rc after $((SECONDS - t0)) s"
        echo "$name $rc $((SECONDS - t0))" >>"$out/summary.txt"
    }
    : >"$out/summary.txt"
    say "environment"
    { nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
      ldconfig -p | grep -E 'libcuda\.|cublas|cudnn|nvrtc|cudart' | head -20
      find / -xdev \( -name 'libcudnn.so*' -o -name 'libnvrtc.so*' -o -name 'libcublas.so*' -o -name 'libnvrtc-builtins.so*' \) 2>/dev/null | head -20
      nproc; uname -r; ldd --version | head -1; } 2>&1 | tee -a "$log"
    # Library folders: CUDA's own first, then any Python wheel that ships cuDNN / NVRTC.
    libdirs="/usr/local/cuda/lib64:/usr/local/cuda/targets/x86_64-linux/lib"
    for f in $(find / -xdev \( -name 'libcudnn.so.9' -o -name 'libnvrtc.so.13' -o -name 'libcublas.so.13' \) 2>/dev/null); do
        libdirs="$libdirs:$(dirname "$f")"
    done
    export LD_LIBRARY_PATH="$libdirs:${LD_LIBRARY_PATH:-}"
    say "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
    cd "$here"
    for f in *.xz; do [[ -e "$f" ]] && xz -dkf "$f"; done
    chmod +x cuda_ops gpu oracle bench 2>/dev/null
    step cuda_ops 90 ./cuda_ops
    step keras_gpu 120 ./gpu
    # The same tests with every training step and predict_on_batch call graph-captured, the
    # evidence needed before KERAS_CUDA_GRAPHS defaults to on.
    step keras_gpu_graphs 120 env KERAS_CUDA_GRAPHS=1 ./gpu
    oracle_dir="${KERAS_ORACLE_DIR:-$here/../crates/keras/tests/fixtures/oracle}"
    step oracle_gpu_f32 100 env KERAS_DEVICE=gpu KERAS_TF32=0 KERAS_ORACLE_DIR="$oracle_dir" ./oracle --test-threads=4
    step oracle_gpu_tf32 80 env KERAS_DEVICE=gpu KERAS_ORACLE_DIR="$oracle_dir" ./oracle --test-threads=4
    export BENCH_WINDOW_S="${BENCH_WINDOW_S:-1.0}" BENCH_WINDOWS="${BENCH_WINDOWS:-4}"
    for spec in "mlp 128" "mlp 1024" "cnn 32" "cnn 128" "cnn 512" "lstm 32" "cnn_infer 1"; do
        set -- $spec
        say "bench $1 b$2"
        KERAS_CUDA_GRAPHS=1 timeout -k 5 45 ./bench --workload "$1" --batch "$2" --device gpu 2>>"$log" | tee -a "$bench" "$log"
        echo "bench_$1_b$2 ${PIPESTATUS[0]}" >>"$out/summary.txt"
    done
    # The same small-batch workloads without CUDA graphs, to show what the graphs change.
    for spec in "mlp 128" "cnn 32" "cnn_infer 1"; do
        set -- $spec
        say "bench $1 b$2 eager (KERAS_CUDA_GRAPHS=0)"
        KERAS_CUDA_GRAPHS=0 timeout -k 5 45 ./bench --workload "$1" --batch "$2" --device gpu 2>>"$log" |
            sed 's/"framework": "keras-rs"/"framework": "keras-rs-eager"/' | tee -a "$bench" "$log"
        echo "bench_$1_b$2_eager ${PIPESTATUS[0]}" >>"$out/summary.txt"
    done
    say "summary"
    cat "$out/summary.txt" | tee -a "$log"
    exit 0
fi

# Local half: build and stage.
root="$(cd "$(dirname "$0")/.." && pwd)"
stage="${1:-$root/.gpu}"
mkdir -p "$stage"
cd "$root"
exe() { # exe CARGO-ARGS... -> path of the test/example executable
    cargo build --release "$@" --message-format=json 2>/dev/null |
        grep '"executable":"' | sed 's/.*"executable":"\([^"]*\)".*/\1/' | tail -1
}
set -e
cargo build --release -p keras-engine --features cuda --test cuda_ops
cargo build --release -p keras --features cuda --test gpu --test oracle --example bench
cp "$(exe -p keras-engine --features cuda --test cuda_ops)" "$stage/cuda_ops"
cp "$(exe -p keras --features cuda --test gpu)" "$stage/gpu"
cp "$(exe -p keras --features cuda --test oracle)" "$stage/oracle"
cp "$(exe -p keras --features cuda --example bench)" "$stage/bench"
cp "$0" "$stage/gpu-check.sh"
for f in cuda_ops gpu oracle bench; do strip "$stage/$f"; done
ls -la "$stage"
du -sh "$stage"
echo "staged; on the GPU machine run: bash $(basename "$stage")/gpu-check.sh remote"
