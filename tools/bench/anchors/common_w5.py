"""Shared harness of the W5 anchors (ImageNet-model inference).

Conventions follow the shared anchor harness (../shared/bench/common.py: BENCH_THREADS, BENCH_T0,
BENCH_OUT, BENCH_REP, one JSON line per run, sorted keys); the helpers below are copied from it
with small changes for inference-only workloads.

W5: ResNet50 and MobileNetV2 (Keras's architectures; torchvision's for PyTorch), 224x224x3,
random weights (seed 0), 1000 classes, float32, synthetic standard-normal input (seed 0).
  * ready_s: process start (BENCH_T0) to the end of warm-up (imports, model build, tracing).
  * infer_b1_latency_ms: median wall time of one batch-1 forward call (at least MIN_CALLS_B1
    calls, up to WINDOW_S seconds).
  * infer_b32_sps: 32 / median wall time of one batch-32 forward call (at least MIN_CALLS_B32
    calls, up to WINDOW_S seconds).
  * flops_fwd_per_sample: 2 x multiply-adds of the conv/dense layers (analytic, see below).
"""
import json
import os
import resource
import statistics
import time

SEED = 0
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
WINDOW_S = float(os.environ.get("BENCH_WINDOW_S", "3.0"))
MIN_CALLS_B1 = int(os.environ.get("BENCH_MIN_CALLS_B1", "20"))
MIN_CALLS_B32 = int(os.environ.get("BENCH_MIN_CALLS_B32", "5"))
SIZE = 224
BATCH = 32
MODELS = ("resnet50", "mobilenet_v2")

# Forward multiply-adds x 2 per 224x224 image: the Conv2D, DepthwiseConv2D and Dense layers of
# Keras's models (out_h * out_w * kh * kw * cin * cout for a conv, cin * cout for Dense), counted
# on keras.applications.ResNet50 / MobileNetV2 (3.858 G and 0.301 G multiply-adds).
FLOPS_FWD = {"resnet50": 2 * 3_857_973_248, "mobilenet_v2": 2 * 300_774_272}


def t0():
    v = os.environ.get("BENCH_T0")
    if v:
        return float(v)
    try:
        import psutil
        return psutil.Process().create_time()
    except Exception:
        return time.time()


def parse_args(extra=None):
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True, choices=MODELS)
    if extra:
        extra(p)
    return p.parse_args()


def make_input(n, layout="nhwc"):
    import numpy as np
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((n, SIZE, SIZE, 3), dtype=np.float32)
    if layout == "nchw":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    return x


def bench(fn, min_calls, max_s=None):
    """Wall times of repeated calls: at least min_calls, then until max_s (at most 2000)."""
    max_s = WINDOW_S if max_s is None else max_s
    ts, t_end = [], time.perf_counter() + max_s
    while len(ts) < min_calls or (time.perf_counter() < t_end and len(ts) < 2000):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return ts


def median_ms(ts):
    return statistics.median(ts) * 1000.0


def emit(rec):
    rec.setdefault("timestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    rec.setdefault("threads", THREADS)
    if os.environ.get("BENCH_REP"):
        rec.setdefault("rep", int(os.environ["BENCH_REP"]))
    rec["flops_fwd_per_sample"] = FLOPS_FWD[rec["model"]]
    if rec.get("infer_b32_sps"):
        rec["infer_b32_gflops"] = round(FLOPS_FWD[rec["model"]] * rec["infer_b32_sps"] / 1e9, 2)
    rec.setdefault("peak_rss_mb", round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1))
    line = json.dumps(rec, sort_keys=True)
    print(line, flush=True)
    out = os.environ.get("BENCH_OUT")
    if out:
        with open(out, "a") as f:
            f.write(line + "\n")
