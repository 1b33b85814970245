"""Prints the metric names keras-tuner 1.4 infers a direction for (with Keras 3), as the Rust
table in crates/keras-tuner/src/engine/metrics_tracking.rs. Run by hand:
    /work/scratch/venv/bin/python tools/tuner/metric_directions.py
"""
import os, re
os.environ.setdefault("KERAS_BACKEND", "jax")
import keras
from keras_tuner.src.engine.metrics_tracking import infer_metric_direction

def snake(n):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", n).lower()

names = set()
for mod in (keras.metrics, keras.losses):
    for n in dir(mod):
        if n.startswith("_"):
            continue
        names.add(n)
        names.add(snake(n))
names |= {"acc", "ce", "crossentropy", "mse", "mae", "mape", "msle", "auc", "loss", "kld", "logcosh", "huber"}
out = {"max": [], "min": []}
for n in sorted(names):
    try:
        d = infer_metric_direction(n)
    except Exception:
        d = None
    if d:
        out[d].append(n)
for d in ("max", "min"):
    print(d, len(out[d]))
    print(", ".join(f'"{n}"' for n in out[d]))
