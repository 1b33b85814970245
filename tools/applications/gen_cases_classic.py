"""Keras 3.15 reference cases for keras-rs's classic application builders (VGG, ResNet, ResNet V2,
InceptionV3, Xception, DenseNet), produced by real Keras.

Run from the repository root with the project's reference venv (keras 3.15.1, TensorFlow):

    KERAS_BACKEND=tensorflow /path/to/venv/bin/python tools/applications/gen_cases_classic.py

Writes
  crates/keras/tests/fixtures/keras315/application/<case>/case.json
      one call of a `keras.applications` function with `weights=None` and Keras's `model.layers`
      table, in the schema of the shared oracle's `application` cases (kind, function, kwargs,
      model_name, input/output shape, totals, num_weights, and per layer name, class, output
      shape, parameter counts and inbound layer names). The oracle runner
      (crates/keras/tests/oracle/application.rs) checks every row against keras-rs's builder.
      These cover the functions and arguments the shared cases lack: ResNet101/152, the V2
      models, DenseNet169/201, pooling avg/max, other input sizes, `classes` with
      `classifier_activation=None` or another activation, and `name`.
  crates/keras/tests/fixtures/applications/builders/
      summaries.json      the calls whose summaries are stored:
      summary_<case>.txt  the exact `model.summary()` text of a few headless models (captured as
                          the shared oracle's summary cases are: print_fn gets the whole table,
                          COLUMNS=200 so the width is not clipped);
      session.json        the layer names of models built one after another in one session
                          (automatic names count on across models);
      errors.json         Keras's exception type and message for bad arguments of the builders
                          (ImageNet weights with classes != 1000, a too small or unknown input
                          size, a missing weights file, an unknown keyword, a classifier
                          activation that pretrained weights do not allow). None of these calls
                          reaches a download: Keras raises before.
Every model is built after `keras.backend.clear_session()`, so automatic layer names start at
zero as in a fresh session.
"""
import json
import os
import re
import shutil

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["COLUMNS"] = "200"

import numpy as np  # noqa: E402,F401
import keras  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CASES = os.path.join(ROOT, "crates", "keras", "tests", "fixtures", "keras315", "application")
BUILDERS = os.path.join(ROOT, "crates", "keras", "tests", "fixtures", "applications", "builders")
A = keras.applications

# (case name, function, kwargs). weights=None everywhere: random initialization.
TABLE_CASES = [
    ("resnet101_notop", "ResNet101", dict(include_top=False)),
    ("resnet152_pooling_max", "ResNet152", dict(include_top=False, pooling="max")),
    ("resnet50_shape64_pooling_avg", "ResNet50", dict(include_top=False, input_shape=[64, 64, 3], pooling="avg")),
    ("resnet50v2_top", "ResNet50V2", dict(include_top=True, classes=1000)),
    ("resnet101v2_notop", "ResNet101V2", dict(include_top=False)),
    ("resnet152v2_pooling_avg", "ResNet152V2", dict(include_top=False, pooling="avg")),
    ("densenet169_notop", "DenseNet169", dict(include_top=False)),
    ("densenet201_shape96_pooling_max", "DenseNet201", dict(include_top=False, input_shape=[96, 96, 3], pooling="max")),
    ("densenet121_top_classes5_sigmoid", "DenseNet121",
     dict(include_top=True, input_shape=[64, 64, 3], classes=5, classifier_activation="sigmoid")),
    ("vgg16_top_classes10_logits", "VGG16",
     dict(include_top=True, input_shape=[64, 64, 3], classes=10, classifier_activation=None)),
    ("vgg19_pooling_avg", "VGG19", dict(include_top=False, pooling="avg")),
    ("inception_v3_top_classes10_logits", "InceptionV3",
     dict(include_top=True, input_shape=[150, 150, 3], classes=10, classifier_activation=None)),
    ("inception_v3_pooling_max", "InceptionV3", dict(include_top=False, pooling="max")),
    ("inception_resnet_v2_notop", "InceptionResNetV2", dict(include_top=False)),
    ("inception_resnet_v2_top_classes7_logits", "InceptionResNetV2",
     dict(include_top=True, input_shape=[139, 139, 3], classes=7, classifier_activation=None)),
    ("inception_resnet_v2_pooling_avg_96", "InceptionResNetV2",
     dict(include_top=False, input_shape=[96, 96, 3], pooling="avg")),
    ("xception_named_pooling_avg", "Xception",
     dict(include_top=False, input_shape=[96, 96, 3], pooling="avg", name="my_xception")),
    ("convnext_tiny_notop", "ConvNeXtTiny", dict(include_top=False)),
    ("convnext_tiny_top", "ConvNeXtTiny", dict(include_top=True)),
    ("convnext_small_top_classes5_logits", "ConvNeXtSmall",
     dict(include_top=True, input_shape=[64, 64, 3], classes=5, classifier_activation=None)),
    ("convnext_base_pooling_avg_64_no_preprocessing", "ConvNeXtBase",
     dict(include_top=False, input_shape=[64, 64, 3], pooling="avg", include_preprocessing=False)),
    ("convnext_large_pooling_max_64", "ConvNeXtLarge",
     dict(include_top=False, input_shape=[64, 64, 3], pooling="max")),
    ("convnext_xlarge_notop_64_named", "ConvNeXtXLarge",
     dict(include_top=False, input_shape=[64, 64, 3], name="my_convnext_xlarge")),
    ("convnext_tiny_one_channel_32", "ConvNeXtTiny",
     dict(include_top=False, input_shape=[32, 32, 1])),
]

# Headless models whose summary() text keras-rs must reproduce.
SUMMARY_CASES = [
    ("resnet50_notop", "ResNet50", dict(include_top=False)),
    ("inception_v3_notop", "InceptionV3", dict(include_top=False)),
    ("xception_notop", "Xception", dict(include_top=False)),
    ("vgg19_top_named", "VGG19",
     dict(include_top=True, input_shape=[32, 32, 3], classes=10, classifier_activation=None, name="my_vgg")),
]

# Builders called one after another in one session (no clear_session between them): the layer
# names of each model, to check the automatic-name counters (unnamed layers count on, named ones
# use up nothing).
SESSION = [
    ("Xception", dict(include_top=False, input_shape=[71, 71, 3])),
    ("Xception", dict(include_top=False, input_shape=[71, 71, 3], pooling="avg")),
    ("DenseNet121", dict(include_top=False, input_shape=[32, 32, 3], pooling="avg")),
    ("VGG16", dict(include_top=False, input_shape=[32, 32, 3], pooling="avg")),
]

# Bad calls: (case name, function, kwargs). The weights paths do not exist.
MISSING = "/nonexistent/keras-rs/weights.h5"
ERROR_CASES = [
    ("vgg16_imagenet_classes", "VGG16", dict(weights="imagenet", classes=10)),
    ("resnet50_imagenet_classes", "ResNet50", dict(weights="imagenet", classes=10)),
    ("inception_v3_imagenet_classes", "InceptionV3", dict(weights="imagenet", classes=10)),
    ("xception_imagenet_classes", "Xception", dict(weights="imagenet", classes=10)),
    ("densenet121_imagenet_classes", "DenseNet121", dict(weights="imagenet", classes=10)),
    ("vgg19_missing_weights", "VGG19", dict(weights=MISSING)),
    ("resnet50v2_missing_weights", "ResNet50V2", dict(weights=MISSING)),
    ("inception_v3_missing_weights", "InceptionV3", dict(weights=MISSING)),
    ("xception_missing_weights", "Xception", dict(weights=MISSING)),
    ("densenet169_missing_weights", "DenseNet169", dict(weights=MISSING)),
    ("resnet50_too_small", "ResNet50", dict(weights=None, include_top=False, input_shape=[16, 16, 3])),
    ("inception_v3_too_small", "InceptionV3", dict(weights=None, include_top=False, input_shape=[74, 74, 3])),
    ("xception_too_small", "Xception", dict(weights=None, include_top=False, input_shape=[70, 70, 3])),
    ("resnet101_top_unknown_size", "ResNet101", dict(weights=None, include_top=True, input_shape=[None, None, 3])),
    ("vgg16_imagenet_top_shape", "VGG16", dict(weights="imagenet", include_top=True, input_shape=[200, 200, 3])),
    ("densenet121_imagenet_channels", "DenseNet121", dict(weights="imagenet", include_top=False, input_shape=[64, 64, 1])),
    ("resnet50_imagenet_activation", "ResNet50", dict(weights="imagenet", classifier_activation="relu")),
    ("vgg16_alpha", "VGG16", dict(weights=None, alpha=0.5)),
    ("densenet201_minimalistic", "DenseNet201", dict(weights=None, minimalistic=True)),
]


def build(function, kwargs):
    keras.backend.clear_session()
    kw = dict(kwargs)
    kw.setdefault("weights", None)
    if kw.get("input_shape") is not None:
        kw["input_shape"] = tuple(kw["input_shape"])
    return getattr(A, function)(**kw)


def shape_list(s):
    return [None if d is None else int(d) for d in s]


def count(ws):
    return int(sum(int(np.prod(w.shape)) for w in ws))


def layer_row(layer):
    node = layer._inbound_nodes[0]
    inbound = [t._keras_history.operation.name for t in node.input_tensors]
    return {
        "name": layer.name,
        "class_name": layer.__class__.__name__,
        "output_shape": shape_list(layer.output.shape),
        "params": count(layer.weights),
        "trainable_params": count(layer.trainable_weights),
        "non_trainable_params": count(layer.non_trainable_weights),
        "inbound": inbound,
    }


def table_case(name, function, kwargs):
    model = build(function, kwargs)
    layers = [layer_row(l) for l in model.layers]
    trainable = count(model.trainable_weights)
    total = model.count_params()
    kw = dict(kwargs)
    kw["weights"] = None
    return {
        "kind": "application",
        "name": name,
        "variant": "keras315",
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "arrays": {},
        "function": f"keras.applications.{function}",
        "kwargs": kw,
        "model_name": model.name,
        "input_shape": shape_list(model.input_shape),
        "output_shape": shape_list(model.output_shape),
        "num_layers": len(model.layers),
        "total_params": int(total),
        "trainable_params": trainable,
        "non_trainable_params": int(total) - trainable,
        "num_weights": len(model.weights),
        "layers": layers,
        "notes": "Made by tools/applications/gen_cases_classic.py after keras.backend.clear_session(). "
                 "Layer list in model.layers order; output_shape uses None for the batch (and free "
                 "spatial) dims; inbound = the layers of the first inbound node's input tensors, in order.",
    }


def dump_case(case):
    """The case as JSON with one line per layer row (small and diffable)."""
    head = {k: v for k, v in case.items() if k != "layers"}
    text = json.dumps(head, indent=1)[:-2]
    rows = ",\n  ".join(json.dumps(r, separators=(",", ":")) for r in case["layers"])
    return f'{text},\n "layers": [\n  {rows}\n ]\n}}\n'


def summary_text(function, kwargs):
    model = build(function, kwargs)
    out = []

    def print_fn(s, **_):
        out.append(s)

    model.summary(print_fn=print_fn)
    return "\n".join(out)


def error_case(function, kwargs):
    try:
        build(function, kwargs)
    except Exception as e:  # noqa: BLE001 - the type is recorded
        # A Python function prints with its address (`<function relu at 0x7f...>`); drop it so
        # the fixture does not change from run to run.
        message = re.sub(r" at 0x[0-9a-f]+>", ">", str(e))
        return {"function": function, "kwargs": kwargs, "type": type(e).__name__, "message": message}
    raise SystemExit(f"{function}({kwargs}) did not raise")


def main():
    shutil.rmtree(CASES, ignore_errors=True)
    shutil.rmtree(BUILDERS, ignore_errors=True)
    for name, function, kwargs in TABLE_CASES:
        d = os.path.join(CASES, name)
        os.makedirs(d, exist_ok=True)
        case = table_case(name, function, kwargs)
        with open(os.path.join(d, "case.json"), "w") as f:
            f.write(dump_case(case))
        print(name, case["num_layers"], case["total_params"])
    os.makedirs(BUILDERS, exist_ok=True)
    summaries = []
    for name, function, kwargs in SUMMARY_CASES:
        file = f"summary_{name}.txt"
        with open(os.path.join(BUILDERS, file), "w", encoding="utf-8") as f:
            f.write(summary_text(function, kwargs))
        summaries.append({"file": file, "function": function, "kwargs": dict(kwargs, weights=None)})
    with open(os.path.join(BUILDERS, "summaries.json"), "w") as f:
        json.dump(summaries, f, indent=1)
    keras.backend.clear_session()
    session = []
    for function, kwargs in SESSION:
        kw = dict(kwargs, weights=None, input_shape=tuple(kwargs["input_shape"]))
        model = getattr(A, function)(**kw)
        session.append({"function": function, "kwargs": dict(kwargs, weights=None),
                        "model_name": model.name, "layers": [l.name for l in model.layers]})
    with open(os.path.join(BUILDERS, "session.json"), "w") as f:
        json.dump(session, f, indent=1)
    errors = {name: error_case(function, kwargs) for name, function, kwargs in ERROR_CASES}
    errors["_missing_path"] = MISSING
    with open(os.path.join(BUILDERS, "errors.json"), "w") as f:
        json.dump(errors, f, indent=1)
    for k, v in errors.items():
        if isinstance(v, dict):
            print(k, v["type"], v["message"][:100])


def only_tables(names):
    """Writes just the named table cases (`gen_cases_classic.py <case> ...`), leaving every
    other fixture as it is."""
    for name, function, kwargs in TABLE_CASES:
        if name in names:
            d = os.path.join(CASES, name)
            os.makedirs(d, exist_ok=True)
            case = table_case(name, function, kwargs)
            with open(os.path.join(d, "case.json"), "w") as f:
                f.write(dump_case(case))
            print(name, case["num_layers"], case["total_params"])


if __name__ == "__main__":
    import sys

    if sys.argv[1:]:
        only_tables(sys.argv[1:])
    else:
        main()
