"""Reference cases for keras-rs's mobile `keras.applications` builders, produced by real Keras.

Run from the repository root with the project's reference venv (keras 3.15.1, TensorFlow):

    KERAS_BACKEND=tensorflow /path/to/venv/bin/python tools/applications/gen_cases_mobile.py

(`ONLY=errors`, `ONLY=layers` or `ONLY=summary` regenerates one part; `MATCH=efficientnet_v2`
regenerates only the layer and summary cases whose name contains it.)

Writes, for variants the shared oracle has no case for (MobileNetV3Small/Large with and without
`minimalistic`, NASNetLarge, EfficientNetB1..B7, EfficientNetV2B0..B3/S/M/L, alpha / depth_multiplier / pooling variants of
MobileNet and MobileNetV2, classifier options):

  crates/keras/tests/fixtures/keras315/application/<case>/case.json
      the oracle's `application` schema: the call's `kwargs` (always `weights=None`), Keras's
      `model.layers` table (name, class, output shape, parameters, inbound layer names), the
      totals and the input/output shapes. The oracle runner (tests/oracle/application.rs) builds
      the same model with keras-rs and compares every row.

  crates/keras/tests/fixtures/applications/mobile_errors.json
      Keras's argument errors (exact messages) for calls keras-rs must refuse the same way, and
      for `weights="imagenet"` calls the warnings Keras gives and the weight file it asks
      `get_file` for (intercepted: nothing is downloaded).

  crates/keras/tests/fixtures/applications/summary/<case>.txt and summary.json
      `model.summary()` exactly as Keras prints it (default line length), for the models whose
      summary keras-rs must reproduce (tests/applications_mobile.rs), with the call's kwargs.

Every case is built after `keras.backend.clear_session()`, as the runner builds it in a fresh
session, so the automatic layer names (`re_lu_3`, `add_2`) are comparable.
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Keras renders summaries at min(its line length, terminal columns - 4): a wide "terminal" so the
# default width is not clipped.
os.environ["COLUMNS"] = "200"

import keras  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CASES = os.path.join(ROOT, "crates", "keras", "tests", "fixtures", "keras315", "application")
SUMMARY = os.path.join(ROOT, "crates", "keras", "tests", "fixtures", "applications", "summary")

# (case name, keras.applications function, kwargs)
LAYER_CASES = [
    ("mobilenet_alpha050_dm2_max", "MobileNet",
     dict(alpha=0.5, depth_multiplier=2, input_shape=(128, 128, 3), include_top=False, pooling="max")),
    ("mobilenet_alpha075_160_top", "MobileNet",
     dict(alpha=0.75, input_shape=(160, 160, 3), classes=10, dropout=0.3, classifier_activation=None)),
    ("mobilenet_v2_alpha035_96_avg", "MobileNetV2",
     dict(alpha=0.35, input_shape=(96, 96, 3), include_top=False, pooling="avg")),
    ("mobilenet_v2_alpha140_top", "MobileNetV2", dict(alpha=1.4, classes=10)),
    ("mobilenet_v2_alpha130_nonsquare", "MobileNetV2",
     dict(alpha=1.3, input_shape=(160, 128, 3), include_top=False)),
    ("mobilenet_v3_small_top", "MobileNetV3Small", dict()),
    ("mobilenet_v3_small_notop", "MobileNetV3Small", dict(include_top=False)),
    ("mobilenet_v3_small_minimalistic_avg", "MobileNetV3Small",
     dict(minimalistic=True, include_top=False, pooling="avg", input_shape=(96, 96, 3))),
    ("mobilenet_v3_small_alpha075_nopre", "MobileNetV3Small",
     dict(alpha=0.75, include_preprocessing=False, classes=10, dropout_rate=0.0)),
    ("mobilenet_v3_large_top", "MobileNetV3Large", dict(input_shape=(224, 224, 3))),
    ("mobilenet_v3_large_notop", "MobileNetV3Large", dict(include_top=False)),
    ("mobilenet_v3_large_minimalistic_top", "MobileNetV3Large", dict(minimalistic=True)),
    ("mobilenet_v3_large_alpha125_max", "MobileNetV3Large",
     dict(alpha=1.25, include_top=False, pooling="max")),
    ("efficientnet_b0_max_64", "EfficientNetB0",
     dict(include_top=False, pooling="max", input_shape=(64, 64, 3))),
    ("efficientnet_b0_logits", "EfficientNetB0", dict(classes=10, classifier_activation=None)),
    ("nasnet_large_notop", "NASNetLarge", dict(include_top=False)),
    ("nasnet_mobile_avg_96", "NASNetMobile", dict(include_top=False, input_shape=(96, 96, 3), pooling="avg")),
] + [
    (f"efficientnet_b{i}_notop", f"EfficientNetB{i}", dict(include_top=False)) for i in range(1, 8)
] + [
    ("efficientnet_b3_top", "EfficientNetB3", dict()),
] + [
    ("efficientnet_v2_b0_top", "EfficientNetV2B0", dict()),
    ("efficientnet_v2_b1_notop", "EfficientNetV2B1", dict(include_top=False)),
    ("efficientnet_v2_b2_avg_96", "EfficientNetV2B2", dict(include_top=False, pooling="avg", input_shape=(96, 96, 3))),
    ("efficientnet_v2_b3_logits", "EfficientNetV2B3", dict(classes=10, classifier_activation=None)),
    ("efficientnet_v2_s_notop", "EfficientNetV2S", dict(include_top=False)),
    ("efficientnet_v2_m_max_64", "EfficientNetV2M", dict(include_top=False, pooling="max", input_shape=(64, 64, 3))),
    ("efficientnet_v2_l_notop", "EfficientNetV2L", dict(include_top=False)),
    ("efficientnet_v2_b0_nopre", "EfficientNetV2B0", dict(include_preprocessing=False, include_top=False)),
    ("efficientnet_v2_b0_one_channel", "EfficientNetV2B0", dict(include_top=False, input_shape=(64, 64, 1))),
    # The name picks the blocks and the preprocessing: S's coefficients with B0's blocks.
    ("efficientnet_v2_s_named_b0", "EfficientNetV2S",
     dict(include_top=False, input_shape=(64, 64, 3), name="efficientnetv2-b0")),
]

# (file name, function, kwargs): summaries keras-rs must print identically.
SUMMARY_CASES = [
    ("mobilenet_v2_notop", "MobileNetV2", dict(include_top=False)),
    ("efficientnet_b0_notop", "EfficientNetB0", dict(include_top=False)),
    ("mobilenet_v3_small_minimalistic_notop", "MobileNetV3Small",
     dict(include_top=False, minimalistic=True, input_shape=(64, 64, 3))),
    ("mobilenet_v3_small_notop", "MobileNetV3Small", dict(include_top=False, input_shape=(64, 64, 3))),
    ("efficientnet_v2_b0_notop_64", "EfficientNetV2B0", dict(include_top=False, input_shape=(64, 64, 3))),
    ("efficientnet_v2_s_top", "EfficientNetV2S", dict(classes=7)),
]


NO_FILE = "/no/such/weights.h5"

# (function, kwargs) that Keras refuses. `input_tensor_shape` stands for
# `input_tensor=keras.Input(shape)`.
ERROR_CASES = [
    ("MobileNet", dict(alpha=0.3)),
    ("MobileNet", dict(depth_multiplier=2)),
    ("MobileNet", dict(classes=10)),
    ("MobileNet", dict(weights=NO_FILE)),
    ("MobileNet", dict(weights=None, include_top=False, input_shape=(16, 16, 3))),
    ("MobileNet", dict(weights=None, include_top=True, input_shape=(None, None, 3))),
    ("MobileNet", dict(input_shape=(96, 96, 3))),
    ("MobileNet", dict(classifier_activation="relu")),
    ("MobileNetV2", dict(alpha=0.3)),
    ("MobileNetV2", dict(classes=10)),
    ("MobileNetV2", dict(weights=NO_FILE)),
    ("MobileNetV2", dict(weights=None, include_top=False, input_shape=(224, 224, 3),
                         input_tensor_shape=(224, 200, 3))),
    ("MobileNetV2", dict(weights=None, include_top=False, input_shape=(31, 31, 3))),
    ("MobileNetV3Small", dict(alpha=0.5)),
    ("MobileNetV3Large", dict(minimalistic=True, alpha=0.75)),
    ("MobileNetV3Small", dict(classes=10)),
    ("MobileNetV3Large", dict(weights=NO_FILE)),
    ("MobileNetV3Small", dict(weights=None, input_shape=(16, 16, 3))),
    ("MobileNetV3Large", dict(weights=None, include_top=False, input_shape=(224, 224, 3),
                              input_tensor_shape=(224, 200, 3))),
    ("EfficientNetB0", dict(classes=10)),
    ("EfficientNetB0", dict(weights=NO_FILE)),
    ("EfficientNetB3", dict(weights=None, include_top=False, input_shape=(16, 16, 3))),
    ("EfficientNetB1", dict(input_shape=(224, 224, 3))),
    ("NASNetMobile", dict(classes=10)),
    ("NASNetLarge", dict(weights=NO_FILE)),
    ("NASNetLarge", dict(include_top=False, input_shape=(None, None, 3))),
    ("NASNetMobile", dict(input_shape=(331, 331, 3))),
    ("NASNetMobile", dict(alpha=0.5)),
    ("EfficientNetB0", dict(alpha=0.5)),
    ("MobileNetV2", dict(depth_multiplier=2)),
    ("EfficientNetV2B0", dict(classes=10)),
    ("EfficientNetV2S", dict(weights=NO_FILE)),
    ("EfficientNetV2B3", dict(weights=None, include_top=False, input_shape=(16, 16, 3))),
    ("EfficientNetV2B1", dict(input_shape=(224, 224, 3))),
    ("EfficientNetV2M", dict(alpha=0.5)),
    ("EfficientNetV2L", dict(classifier_activation="relu")),
]

# `weights="imagenet"` calls: the warnings and the file Keras asks for.
IMAGENET_CASES = [
    ("MobileNet", dict(input_shape=(160, 128, 3), include_top=False)),
    ("MobileNet", dict(alpha=0.25, input_shape=(128, 128, 3), include_top=False)),
    ("MobileNet", dict(alpha=0.5, include_top=False)),
    ("MobileNet", dict(alpha=0.75, input_shape=(192, 192, 3))),
    ("MobileNetV2", dict(alpha=0.35, input_shape=(100, 100, 3), include_top=False)),
    ("MobileNetV2", dict(alpha=1.3, input_shape=(96, 96, 3), include_top=False)),
    ("MobileNetV2", dict()),
    ("MobileNetV3Small", dict(input_shape=(96, 96, 3))),
    ("MobileNetV3Small", dict(alpha=0.75, input_shape=(224, 224, 3), include_top=False)),
    ("MobileNetV3Large", dict(minimalistic=True, include_top=False)),
    ("EfficientNetB2", dict(include_top=False)),
    ("EfficientNetB7", dict()),
    ("NASNetMobile", dict()),
    ("NASNetLarge", dict(include_top=False)),
    ("EfficientNetV2B0", dict()),
    ("EfficientNetV2B3", dict(include_top=False)),
    ("EfficientNetV2S", dict(include_top=False)),
    ("EfficientNetV2L", dict()),
]


class _Intercepted(Exception):
    pass


def shape(s):
    return [None if d is None else int(d) for d in s]


def build(function, kwargs):
    keras.backend.clear_session()
    return getattr(keras.applications, function)(weights=None, **kwargs)


def count(weights):
    return int(sum(int(w.numpy().size) for w in weights))


def inbound(layer):
    if not layer._inbound_nodes:
        return []
    node = layer._inbound_nodes[0]
    return [t._keras_history.operation.name for t in node.input_tensors]


def layer_row(layer):
    out = layer.output
    if isinstance(out, (list, tuple)):
        out_shape = [shape(t.shape) for t in out]
    else:
        out_shape = shape(out.shape)
    params = count(layer.weights)
    trainable = count(layer.trainable_weights)
    return dict(
        name=layer.name,
        class_name=layer.__class__.__name__,
        output_shape=out_shape,
        params=params,
        trainable_params=trainable,
        non_trainable_params=params - trainable,
        inbound=inbound(layer),
    )


def jsonable(kwargs):
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in kwargs.items()}


def layer_case(name, function, kwargs):
    model = build(function, kwargs)
    total = count(model.weights)
    trainable = count(model.trainable_weights)
    case = dict(
        kind="application",
        name=name,
        variant="keras315",
        keras_version=keras.__version__,
        backend=keras.backend.backend(),
        arrays={},
        function=f"keras.applications.{function}",
        kwargs=dict(weights=None, **jsonable(kwargs)),
        model_name=model.name,
        input_shape=shape(model.input.shape),
        output_shape=shape(model.output.shape),
        num_layers=len(model.layers),
        total_params=total,
        trainable_params=trainable,
        non_trainable_params=total - trainable,
        num_weights=len(model.weights),
        layers=[layer_row(layer) for layer in model.layers],
    )
    d = os.path.join(CASES, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "case.json"), "w") as f:
        # One layer a line: small files that still diff well.
        head = {k: v for k, v in case.items() if k != "layers"}
        text = json.dumps(head, indent=1)[:-2]
        rows = ",\n  ".join(json.dumps(r, separators=(",", ":")) for r in case["layers"])
        f.write(text + ',\n "layers": [\n  ' + rows + "\n ]\n}\n")
    print(f"{name}: {len(model.layers)} layers, {total} params")


def summary_case(name, function, kwargs, index):
    model = build(function, kwargs)
    lines = []
    model.summary(print_fn=lambda s, line_break=None: lines.append(s))
    text = "\n".join(lines)
    os.makedirs(SUMMARY, exist_ok=True)
    with open(os.path.join(SUMMARY, f"{name}.txt"), "w") as f:
        f.write(text.rstrip("\n") + "\n")
    index[name] = dict(function=function, kwargs=dict(weights=None, **jsonable(kwargs)))
    print(f"summary {name}: {len(text.splitlines())} lines")


def call_kwargs(kwargs):
    kw = dict(kwargs)
    if "input_tensor_shape" in kw:
        kw["input_tensor"] = keras.Input(shape=kw.pop("input_tensor_shape"))
    return kw


def error_cases():
    out = []
    for function, kwargs in ERROR_CASES:
        keras.backend.clear_session()
        try:
            getattr(keras.applications, function)(**call_kwargs(kwargs))
        except (ValueError, TypeError) as e:
            out.append(dict(function=function, kwargs=jsonable(kwargs), error=str(e)))
            continue
        except Exception as e:  # a download: not an argument error
            raise SystemExit(f"{function}{kwargs} did not fail on its arguments: {e!r}")
        raise SystemExit(f"{function}{kwargs} did not fail")
    return out


def imagenet_cases():
    import warnings
    from keras.src.utils import file_utils

    asked = []

    def fake_get_file(fname=None, origin=None, **kwargs):
        asked.append(dict(fname=fname, origin=origin, file_hash=kwargs.get("file_hash")))
        raise _Intercepted()

    real = file_utils.get_file
    file_utils.get_file = fake_get_file
    out = []
    try:
        for function, kwargs in IMAGENET_CASES:
            keras.backend.clear_session()
            asked.clear()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    model = getattr(keras.applications, function)(**call_kwargs(kwargs))
                    raise SystemExit(f"{function}{kwargs}: no weights were fetched")
                except _Intercepted:
                    pass
            texts = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
            out.append(dict(function=function, kwargs=jsonable(kwargs), warnings=texts, get_file=asked[0]))
    finally:
        file_utils.get_file = real
    return out


def main():
    only = os.environ.get("ONLY")  # "errors", "summary" or "layers": regenerate one part
    match = os.environ.get("MATCH", "")  # only the layer / summary cases whose name contains it
    if only in (None, "errors"):
        write_errors()
    if only in (None, "layers"):
        for name, function, kwargs in LAYER_CASES:
            if match in name:
                layer_case(name, function, kwargs)
    if only in (None, "summary"):
        index = {}
        for name, function, kwargs in SUMMARY_CASES:
            if match in name:
                summary_case(name, function, kwargs, index)
            else:  # keep the stored case in the index
                index[name] = dict(function=function, kwargs=dict(weights=None, **jsonable(kwargs)))
        with open(os.path.join(SUMMARY, "summary.json"), "w") as f:
            json.dump(dict(keras_version=keras.__version__, cases=index), f, indent=1)
            f.write("\n")


def write_errors():
    errors = dict(keras_version=keras.__version__, errors=error_cases(), imagenet=imagenet_cases())
    with open(os.path.join(ROOT, "crates", "keras", "tests", "fixtures", "applications", "mobile_errors.json"),
              "w") as f:
        json.dump(errors, f, indent=1)
        f.write("\n")
    print(f"{len(errors['errors'])} errors, {len(errors['imagenet'])} imagenet calls")


if __name__ == "__main__":
    main()
