"""W5 anchor, Keras 3: keras.applications ResNet50 / MobileNetV2 inference, random weights.

    python bench_w5_keras.py --backend tensorflow --model resnet50

Follows ../shared/bench/bench_keras.py (cnn_infer): model.predict is the headline figure
(infer_b1_latency_ms, infer_b32_sps); predict_on_batch and a direct call are recorded beside it.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common_w5 as C  # noqa: E402

T0 = C.t0()
args = C.parse_args(lambda p: p.add_argument("--backend", default="tensorflow",
                                              choices=["tensorflow", "jax", "torch"]))
os.environ["KERAS_BACKEND"] = args.backend
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if args.backend == "jax":
    os.environ.setdefault("XLA_FLAGS", f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={C.THREADS}")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

versions = {"numpy": np.__version__}
if args.backend == "tensorflow":
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(C.THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(C.THREADS)
    versions["tensorflow"] = tf.__version__
elif args.backend == "torch":
    import torch
    torch.set_num_threads(C.THREADS)
    versions["torch"] = torch.__version__
else:
    import jax
    versions["jax"] = jax.__version__

import keras  # noqa: E402

versions["keras"] = keras.__version__
keras.utils.set_random_seed(C.SEED)
build = {"resnet50": keras.applications.ResNet50, "mobilenet_v2": keras.applications.MobileNetV2}[args.model]
model = build(weights=None, input_shape=(C.SIZE, C.SIZE, 3), classes=1000)
x = C.make_input(C.BATCH)
x1, x32 = x[:1], x[:C.BATCH]
for _ in range(3):
    model.predict(x1, verbose=0)
    model.predict_on_batch(x1)
for _ in range(2):
    model.predict(x32, batch_size=C.BATCH, verbose=0)
    model.predict_on_batch(x32)
ready = time.time() - T0

lat_predict = C.bench(lambda: model.predict(x1, verbose=0), C.MIN_CALLS_B1)
lat_pob = C.bench(lambda: model.predict_on_batch(x1), C.MIN_CALLS_B1)
lat_call = C.bench(lambda: keras.ops.convert_to_numpy(model(x1, training=False)), C.MIN_CALLS_B1)
b32_predict = C.bench(lambda: model.predict(x32, batch_size=C.BATCH, verbose=0), C.MIN_CALLS_B32)
b32_pob = C.bench(lambda: model.predict_on_batch(x32), C.MIN_CALLS_B32)
fw = {"tensorflow": "keras-tf", "jax": "keras-jax", "torch": "keras-torch"}[args.backend]
C.emit(dict(framework=fw, variant="predict", workload=f"{args.model}_infer", model=args.model, batch=C.BATCH,
            image_size=C.SIZE, versions=versions, keras_backend=args.backend, ready_s=round(ready, 3),
            params=int(model.count_params()),
            infer_b1_latency_ms=round(C.median_ms(lat_predict), 3),
            infer_b1_predict_on_batch_ms=round(C.median_ms(lat_pob), 3),
            infer_b1_call_ms=round(C.median_ms(lat_call), 3),
            infer_b1_calls=len(lat_predict),
            infer_b32_sps=round(C.BATCH / C.median_ms(b32_predict) * 1000.0, 2),
            infer_b32_predict_on_batch_sps=round(C.BATCH / C.median_ms(b32_pob) * 1000.0, 2),
            infer_b32_calls=len(b32_predict)))
