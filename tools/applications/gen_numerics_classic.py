"""Keras 3.15 predictions of the classic application builders with random weights, for
keras-rs's opt-in numerics test (crates/keras/tests/applications_builders.rs,
`builders_predict_as_keras_with_its_weight_files`, `#[ignore]`d: the weight files are too big to
commit, ~0.6 GB in all).

    KERAS_BACKEND=tensorflow /path/to/venv/bin/python tools/applications/gen_numerics_classic.py [DIR]
    KERAS_RS_APPS_NUMERICS_DIR=DIR cargo test -p keras --release --test applications_builders -- --ignored

DIR defaults to /tmp/keras_rs_classic_numerics. For each case it builds the model with
`weights=None` after `keras.backend.clear_session()`, gives every weight seeded random values
(BatchNormalization's moving statistics too, so inference-mode normalization matters: gamma in
[0.5, 1.5], beta and moving mean N(0, 0.1), moving variance in [0.5, 1.5]; convolution and
dense kernels scaled He-normal so activations stay O(1) through the depth), and writes
  <case>.h5      the weights in tf.keras 2's `save_weights` layout, by layer name (the format
                 Keras publishes its ImageNet weights in), via Keras's legacy h5 writer;
  <case>_x.npy   a batch of 2 inputs in [0, 255) passed through the family's preprocess_input;
  <case>_y.npy   Keras's `model.predict(x)`;
  cases.json     the function and keyword arguments of each case.
keras-rs builds the same call with `weights=<case>.h5` and must predict the same within 1e-4
(relative to the output's scale).
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras.src.legacy.saving import legacy_h5_format  # noqa: E402

A = keras.applications

# (case, function, preprocess module, kwargs); weights=None is added.
CASES = [
    ("vgg16_logits", "VGG16", "vgg16",
     dict(include_top=True, input_shape=[32, 32, 3], classes=10, classifier_activation=None)),
    ("vgg19_avg", "VGG19", "vgg19", dict(include_top=False, input_shape=[48, 48, 3], pooling="avg")),
    ("resnet50_logits", "ResNet50", "resnet",
     dict(include_top=True, input_shape=[64, 64, 3], classes=10, classifier_activation=None)),
    ("resnet50v2_max", "ResNet50V2", "resnet_v2", dict(include_top=False, input_shape=[64, 64, 3], pooling="max")),
    ("inception_v3_top10", "InceptionV3", "inception_v3",
     dict(include_top=True, input_shape=[96, 96, 3], classes=10)),
    ("xception_avg", "Xception", "xception", dict(include_top=False, input_shape=[80, 80, 3], pooling="avg")),
    ("densenet121_logits", "DenseNet121", "densenet",
     dict(include_top=True, input_shape=[40, 40, 3], classes=7, classifier_activation=None)),
]


def randomize(model, rng):
    for layer in model.layers:
        for w in layer.weights:
            shape = tuple(w.shape)
            name = w.path.split("/")[-1]
            if name == "gamma" or name == "moving_variance":
                v = rng.uniform(0.5, 1.5, shape)
            elif name in ("beta", "moving_mean", "bias"):
                v = rng.normal(0.0, 0.1, shape)
            else:
                # Kernels: He normal over the fan-in (all but the last axis; a depthwise
                # kernel's fan-in is its window).
                if name == "depthwise_kernel":
                    fan_in = int(np.prod(shape[:2]))
                else:
                    fan_in = int(np.prod(shape[:-1]))
                v = rng.normal(0.0, np.sqrt(2.0 / max(fan_in, 1)), shape)
            w.assign(v.astype("float32"))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/keras_rs_classic_numerics"
    os.makedirs(out, exist_ok=True)
    index = {}
    for seed, (case, function, module, kwargs) in enumerate(CASES):
        keras.backend.clear_session()
        kw = dict(kwargs, weights=None, input_shape=tuple(kwargs["input_shape"]))
        model = getattr(A, function)(**kw)
        rng = np.random.default_rng(seed)
        randomize(model, rng)
        with h5py.File(os.path.join(out, f"{case}.h5"), "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, model)
        pixels = rng.uniform(0, 255, (2, *kwargs["input_shape"])).astype("float32")
        x = getattr(A, module).preprocess_input(pixels.copy())
        y = model.predict(x, verbose=0)
        np.save(os.path.join(out, f"{case}_x.npy"), np.asarray(x, dtype="float32"))
        np.save(os.path.join(out, f"{case}_y.npy"), np.asarray(y, dtype="float32"))
        index[case] = {"function": function, "kwargs": dict(kwargs, weights=None)}
        print(case, y.shape, float(np.abs(y).max()))
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main()
