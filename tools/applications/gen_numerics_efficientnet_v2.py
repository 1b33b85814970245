"""Keras 3.15 forward numerics of small EfficientNetV2s for keras-rs's EfficientNetV2 builder.

The published variants have 7M to 118M parameters, so this builds Keras's own
`keras.src.applications.efficientnet_v2.EfficientNetV2` with small `blocks_args`: a
Fused-MBConv stage without expansion (two repeats: the residual and its Dropout), a
Fused-MBConv stage with expansion and stride 2, and an MBConv stage with squeeze-and-excitation
(two repeats), on a 32x32x3 input with a 5-class softmax top. Two models: one named
`efficientnetv2-b0` (EfficientNet's ImageNet normalization in the model) and one named
`efficientnetv2-s` with `width_coefficient=0.75` (the `[-1, 1]` rescaling, rounded filters).
Every weight gets random values (BatchNormalization's moving variances positive), and the file
stores the weights in `model.weights` order with their paths, a batch of pixels in [0, 255] and
Keras's predictions. keras-rs's unit test `applications::efficientnet_v2::tests` builds the
same configurations, sets the weights and compares.

Run from the repository root with the project's reference venv:

    KERAS_BACKEND=tensorflow /path/to/venv/bin/python tools/applications/gen_numerics_efficientnet_v2.py

Writes crates/keras/tests/fixtures/applications/efficientnet_v2_small.json.
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras.src.applications.efficientnet_v2 import EfficientNetV2  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "crates", "keras", "tests", "fixtures", "applications", "efficientnet_v2_small.json")


def stage(k, repeat, fin, fout, expand, se, strides, conv_type):
    return dict(kernel_size=k, num_repeat=repeat, input_filters=fin, output_filters=fout,
                expand_ratio=expand, se_ratio=se, strides=strides, conv_type=conv_type)


BLOCKS = [
    stage(3, 2, 16, 16, 1, 0.0, 1, 1),
    stage(3, 1, 16, 24, 4, 0.0, 2, 1),
    stage(3, 2, 24, 32, 4, 0.25, 2, 0),
]
INPUT = (32, 32, 3)
CLASSES = 5


def floats(a):
    """float32 values as their shortest decimal (the fixture stays small; each reads back exactly)."""
    return [float(str(f)) for f in np.asarray(a, dtype="float32").ravel()]


def case(rng, name, width):
    keras.backend.clear_session()
    model = EfficientNetV2(
        width_coefficient=width,
        depth_coefficient=1.0,
        default_size=32,
        blocks_args=[dict(b) for b in BLOCKS],
        name=name,
        include_top=True,
        weights=None,
        input_shape=INPUT,
        classes=CLASSES,
    )
    weights = []
    for w in model.weights:
        fan_in = int(np.prod(w.shape[:-1])) if len(w.shape) > 1 else 1
        if len(w.shape) == 1:
            if w.path.endswith(("gamma", "moving_variance")):
                v = rng.uniform(0.5, 1.5, w.shape)
            else:
                v = rng.uniform(-0.2, 0.2, w.shape)
        else:
            v = rng.normal(0.0, 1.0 / np.sqrt(fan_in), w.shape)
        v = v.astype("float32")
        w.assign(v)
        weights.append({"path": w.path, "shape": list(w.shape), "values": floats(v)})
    x = rng.uniform(0.0, 255.0, (2,) + INPUT).astype("float32")
    y = np.asarray(model.predict(x, verbose=0))
    inner = keras.Model(model.inputs, model.get_layer("top_activation").output)
    feats = np.asarray(inner.predict(x, verbose=0))
    print(name, width, model.count_params(), y.ravel()[:5])
    return {
        "name": name,
        "width_coefficient": width,
        "layer_names": [l.name for l in model.layers],
        "weights": weights,
        "x": {"shape": list(x.shape), "values": floats(x)},
        "top_activation": {"shape": list(feats.shape), "values": floats(feats)},
        "y": {"shape": list(y.shape), "values": floats(y)},
    }


def main():
    rng = np.random.default_rng(20261206)
    out = {
        "keras_version": keras.__version__,
        "blocks": BLOCKS,
        "input_shape": list(INPUT),
        "classes": CLASSES,
        "cases": [case(rng, "efficientnetv2-b0", 1.0), case(rng, "efficientnetv2-s", 0.75)],
    }
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(OUT)


if __name__ == "__main__":
    main()
