"""Medians per framework and model of a run_w5.sh output: batch-1 latency (ms, lower is
better) and batch-32 throughput (samples/s); for Keras and keras-rs the better of predict()
and predict_on_batch() counts, as BENCHMARKS.md does for W4."""
import json
import statistics
import sys
from collections import defaultdict

rows = defaultdict(lambda: defaultdict(list))
for line in open(sys.argv[1]):
    d = json.loads(line)
    r = d.get("result", d)
    name = d.get("ab") or r.get("framework")
    if r.get("variant") not in (None, "predict", "eager") and "ab" not in d:
        name = f"{name} ({r['variant']})"
    b1 = [v for v in (r.get("infer_b1_latency_ms"), r.get("infer_b1_predict_on_batch_ms")) if v]
    b32 = [v for v in (r.get("infer_b32_sps"), r.get("infer_b32_predict_on_batch_sps")) if v]
    rows[(r["model"], name)]["b1"].append(min(b1))
    rows[(r["model"], name)]["b32"].append(max(b32))
    rows[(r["model"], name)]["rss"].append(r.get("peak_rss_mb", 0))
print("| model | framework | runs | b1 latency ms (median) | b32 samples/s (median) | peak RSS MB |")
print("|---|---|---|---|---|---|")
for (model, name), v in sorted(rows.items()):
    print(f"| {model} | {name} | {len(v['b1'])} | {statistics.median(v['b1']):.2f} "
          f"| {statistics.median(v['b32']):.1f} | {statistics.median(v['rss']):.0f} |")
