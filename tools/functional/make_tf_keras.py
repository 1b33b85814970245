"""Makes a real tf.keras 2.x Functional `.h5` file (tf_keras.applications.MobileNet, alpha
0.25, 32x32 input, 10 classes, weights=None then random weights and non-trivial
BatchNormalization statistics) with an input batch and tf.keras's predictions.

    /work/scratch/venv/bin/python tools/functional/make_tf_keras.py crates/keras/tests/fixtures/tf_keras_functional

Writes mobilenet_025.h5, x.npy, y.npy and meta.json into the folder.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import tensorflow as tf
import tf_keras

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
tf.random.set_seed(3)
rng = np.random.default_rng(3)
model = tf_keras.applications.MobileNet(
    input_shape=(32, 32, 3), alpha=0.25, weights=None, classes=10, dropout=0.0
)
weights = []
for w in model.weights:
    shape = tuple(w.shape)
    if "moving_variance" in w.name:
        weights.append(rng.uniform(0.5, 1.5, shape).astype("float32"))
    elif "moving_mean" in w.name:
        weights.append(rng.normal(0, 0.1, shape).astype("float32"))
    elif "gamma" in w.name:
        weights.append(rng.uniform(0.8, 1.2, shape).astype("float32"))
    else:
        fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        weights.append(rng.normal(0, 1.0 / np.sqrt(max(fan_in, 1)), shape).astype("float32"))
model.set_weights(weights)
x = rng.uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
y = model.predict(x, verbose=0)
path = os.path.join(out, "mobilenet_025.h5")
model.save(path)
np.save(os.path.join(out, "x.npy"), x)
np.save(os.path.join(out, "y.npy"), y.astype("float32"))
with open(os.path.join(out, "meta.json"), "w") as f:
    json.dump(
        {
            "producer": f"tf_keras {tf_keras.__version__}, tensorflow {tf.__version__}",
            "model": "tf_keras.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.25, weights=None, classes=10, dropout=0.0), random weights",
            "file": "mobilenet_025.h5",
            "x": "x.npy",
            "y": "y.npy",
            "params": int(model.count_params()),
        },
        f,
        indent=1,
    )
print("wrote", path, os.path.getsize(path), "bytes", model.count_params(), "params")
