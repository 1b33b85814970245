"""Keras 3.15 forward numerics of a small ConvNeXt for keras-rs's ConvNeXt builder.

The published variants have 28M to 350M parameters, so this builds Keras's own
`keras.src.applications.convnext.ConvNeXt` with a small configuration (depths [1, 1, 2, 1],
projection_dims [8, 8, 16, 16], 32x32x3 input, a 5-class softmax top, the in-model
preprocessing on), gives every weight random values (LayerScale's 1e-6 start would hide the
blocks), and stores the weights in `model.weights` order with their paths, a batch of pixels
in [0, 255] and Keras's predictions. keras-rs's unit test `applications::convnext::tests`
builds the same configuration, sets the weights and compares.

Run from the repository root with the project's reference venv:

    KERAS_BACKEND=tensorflow /path/to/venv/bin/python tools/applications/gen_numerics_convnext.py

Writes crates/keras/tests/fixtures/applications/convnext_small_config.json.
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras.src.applications.convnext import ConvNeXt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "crates", "keras", "tests", "fixtures", "applications", "convnext_small_config.json")

CONFIG = dict(depths=[1, 1, 2, 1], projection_dims=[8, 8, 16, 16], input_shape=(32, 32, 3), classes=5)


def main():
    keras.backend.clear_session()
    rng = np.random.default_rng(20261206)
    model = ConvNeXt(
        depths=CONFIG["depths"],
        projection_dims=CONFIG["projection_dims"],
        name="convnext",
        include_top=True,
        weights=None,
        input_shape=CONFIG["input_shape"],
        classes=CONFIG["classes"],
    )
    weights = []
    for w in model.weights:
        fan_in = int(np.prod(w.shape[:-1])) if len(w.shape) > 1 else 1
        if len(w.shape) == 1:
            v = rng.uniform(0.5, 1.5, w.shape) if ("gamma" in w.path or "variable" in w.path) else rng.uniform(-0.2, 0.2, w.shape)
        else:
            v = rng.normal(0.0, 1.0 / np.sqrt(fan_in), w.shape)
        v = v.astype("float32")
        w.assign(v)
        weights.append({"path": w.path, "shape": list(w.shape), "values": [float(f) for f in v.ravel()]})
    x = rng.uniform(0.0, 255.0, (2,) + CONFIG["input_shape"]).astype("float32")
    y = np.asarray(model.predict(x, verbose=0))
    # An inner output too: the features before the head (the last block's residual sum).
    inner = keras.Model(model.inputs, model.get_layer("convnext_head_gap").output)
    feats = np.asarray(inner.predict(x, verbose=0))
    case = {
        "keras_version": keras.__version__,
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in CONFIG.items()},
        "layer_names": [l.name for l in model.layers],
        "weights": weights,
        "x": {"shape": list(x.shape), "values": [float(f) for f in x.ravel()]},
        "head_gap": {"shape": list(feats.shape), "values": [float(f) for f in feats.ravel()]},
        "y": {"shape": list(y.shape), "values": [float(f) for f in y.ravel()]},
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(case, f, separators=(",", ":"))
    print(OUT, model.count_params(), y.ravel()[:5])


if __name__ == "__main__":
    main()
