"""Reference fixtures for keras-rs's `keras::applications` helpers, produced by real Keras.

Run from the repository root with the project's reference venv (keras 3.15.1, TensorFlow, h5py):

    KERAS_BACKEND=tensorflow /path/to/venv/bin/python tools/applications/gen_fixtures.py \
        [--oracle ../shared/oracle/applications]

Writes crates/keras/tests/fixtures/applications/:
  weights_table.json   every `weights="imagenet"` file Keras fetches: for each application function
                       and variant (alpha, input size, minimalistic) and include_top True/False, the
                       exact arguments of Keras's `file_utils.get_file` call (fname, origin,
                       cache_subdir, file_hash), recorded by intercepting that call, so nothing is
                       copied by hand; plus decode_predictions's class-index download.
  preprocess/*.npy     inputs and outputs of every family's `preprocess_input` and of
  preprocess.json      `imagenet_utils.preprocess_input` (modes x data formats x ranks), and the
                       exact error messages.
  decode.json          `decode_predictions` on fixed predictions with a synthetic class index
                       (entry i = ["n%08d" % i, "label_%d" % i]), for top 5, 1, 0 and 1005.
  archives/, extract.json
                       small tar / tar.gz / tar.bz2 / zip archives (benign ones and ones with members
                       that escape the folder, absolute paths, links out) and extract.json: what
                       Keras's get_file(origin="file://...", extract=True) leaves in a fresh cache
                       for each (every path, its kind, content, link target, mode) and returns,
                       and the warnings it gives.
  input_shapes.json    obtain_input_shape, correct_pad and validate_activation (imagenet_utils) on a
                       grid of arguments: results, error messages, warnings.
  oracle/              a copy of the shared tf.keras-2 weight files (MobileNet, MobileNetV2 with
                       random weights, expected.json, images) and legacy_listing.json: h5py's view
                       of each file (root attributes, layer_names, each layer's weight_names, and
                       per dataset its shape, dtype and float64 sum / first value).
"""
import argparse
import json
import os
import shutil
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras.src.utils import file_utils  # noqa: E402
from keras.src.applications import imagenet_utils  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "crates", "keras", "tests", "fixtures", "applications")
A = keras.applications


class _Intercepted(Exception):
    pass


CALLS = []


def _fake_get_file(fname=None, origin=None, **kwargs):
    CALLS.append(dict(fname=fname, origin=origin, cache_subdir=kwargs.get("cache_subdir", "datasets"),
                      file_hash=kwargs.get("file_hash")))
    raise _Intercepted()


def record(function, kwargs):
    """Builds the model with weights='imagenet' and records the get_file call Keras makes."""
    file_utils.get_file = _fake_get_file
    n = len(CALLS)
    try:
        getattr(A, function)(weights="imagenet", **kwargs)
    except _Intercepted:
        pass
    finally:
        file_utils.get_file = REAL_GET_FILE
        keras.backend.clear_session()
    assert len(CALLS) == n + 1, (function, kwargs)
    call = CALLS[-1]
    return dict(function=function, kwargs={k: v for k, v in kwargs.items() if k != "input_shape"},
                input_size=(kwargs.get("input_shape") or [None])[0], **call)


REAL_GET_FILE = file_utils.get_file


def weights_table():
    entries = []
    plain = ["VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152", "ResNet50V2", "ResNet101V2",
             "ResNet152V2", "InceptionV3", "Xception", "DenseNet121", "DenseNet169", "DenseNet201",
             "NASNetMobile", "NASNetLarge"] + [f"EfficientNetB{i}" for i in range(8)]
    for fn in plain:
        for top in (True, False):
            entries.append(record(fn, dict(include_top=top)))
            print(fn, top, file=sys.stderr)
    for alpha in (0.25, 0.5, 0.75, 1.0):
        for rows in (128, 160, 192, 224):
            for top in (True, False):
                entries.append(record("MobileNet", dict(include_top=top, alpha=alpha, input_shape=(rows, rows, 3))))
    print("MobileNet", file=sys.stderr)
    for alpha in (0.35, 0.5, 0.75, 1.0, 1.3, 1.4):
        for rows in (96, 128, 160, 192, 224):
            for top in (True, False):
                entries.append(record("MobileNetV2", dict(include_top=top, alpha=alpha, input_shape=(rows, rows, 3))))
    print("MobileNetV2", file=sys.stderr)
    for fn in ("MobileNetV3Small", "MobileNetV3Large"):
        for alpha, minimalistic in ((0.75, False), (1.0, False), (1.0, True)):
            for top in (True, False):
                entries.append(record(fn, dict(include_top=top, alpha=alpha, minimalistic=minimalistic)))
    print("MobileNetV3", file=sys.stderr)

    # decode_predictions's class index.
    file_utils.get_file = _fake_get_file
    imagenet_utils.CLASS_INDEX = None
    try:
        imagenet_utils.decode_predictions(np.zeros((1, 1000), "float32"))
    except _Intercepted:
        pass
    finally:
        file_utils.get_file = REAL_GET_FILE
    class_index = CALLS[-1]
    return dict(keras_version=keras.__version__, entries=entries, class_index=class_index)


FAMILIES = ["vgg16", "vgg19", "resnet", "resnet50", "resnet_v2", "inception_v3", "xception", "mobilenet",
            "mobilenet_v2", "mobilenet_v3", "densenet", "nasnet", "efficientnet"]


def preprocess():
    d = os.path.join(OUT, "preprocess")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(0)
    inputs = {
        "nhwc": rng.uniform(0, 255, (2, 3, 4, 3)).astype("float32"),
        "hwc": rng.uniform(0, 255, (3, 4, 3)).astype("float32"),
        "nchw": rng.uniform(0, 255, (2, 3, 4, 5)).astype("float32"),
        "chw": rng.uniform(0, 255, (3, 4, 5)).astype("float32"),
        "int_nhwc": rng.integers(0, 256, (2, 2, 3, 3)).astype("int32"),
    }
    for k, v in inputs.items():
        np.save(os.path.join(d, f"input_{k}.npy"), v)
    cases = []

    def add(name, fn, inp, **kw):
        y = fn(np.copy(inputs[inp]), **kw)
        y = np.asarray(y)
        np.save(os.path.join(d, f"{name}.npy"), y)
        cases.append(dict(name=name, input=f"input_{inp}.npy", output=f"{name}.npy", dtype=str(y.dtype), **kw))

    for fam in FAMILIES:
        mod = getattr(A, fam)
        add(f"{fam}_nhwc", mod.preprocess_input, "nhwc")
    add("resnet_int_nhwc", A.resnet.preprocess_input, "int_nhwc")
    for mode in ("caffe", "tf", "torch"):
        for inp, fmt in (("nhwc", "channels_last"), ("hwc", "channels_last"), ("nchw", "channels_first"),
                         ("chw", "channels_first"), ("int_nhwc", "channels_last")):
            add(f"imagenet_utils_{mode}_{inp}", imagenet_utils.preprocess_input, inp, mode=mode, data_format=fmt)
    errors = {}
    for label, kw in (("bad_mode", dict(mode="foo")), ("bad_data_format", dict(data_format="channels_middle"))):
        try:
            imagenet_utils.preprocess_input(np.copy(inputs["nhwc"]), **kw)
        except ValueError as e:
            errors[label] = dict(kwargs=kw, message=str(e))
    with open(os.path.join(OUT, "preprocess.json"), "w") as f:
        json.dump(dict(keras_version=keras.__version__, cases=cases, errors=errors), f, indent=1)


def decode():
    rng = np.random.default_rng(1)
    index = {str(i): [f"n{i:08d}", f"label_{i}"] for i in range(1000)}
    preds = rng.random((3, 1000)).astype("float32")
    imagenet_utils.CLASS_INDEX = index
    # The class index is not stored: entry i is ["n%08d" % i, "label_%d" % i].
    out = dict(keras_version=keras.__version__, class_index_rule='{"i": ["n%08d" % i, "label_%d" % i]}',
               preds=preds.tolist(), results={})
    for top in (5, 1, 0, 1005):
        r = imagenet_utils.decode_predictions(preds, top=top)
        for row in r:
            for c, lab, _ in row:
                assert index[str(int(c[1:]))] == [c, lab]
        # each prediction as [class index, score]
        out["results"][str(top)] = [[[int(c[1:]), float(s)] for c, _, s in row] for row in r]
    errors = {}
    for shape in ((2, 10), (1000,), (1, 1000, 1)):
        try:
            imagenet_utils.decode_predictions(np.zeros(shape, "float32"))
        except ValueError as e:
            errors[str(list(shape))] = str(e)
    out["errors"] = errors
    imagenet_utils.CLASS_INDEX = None
    with open(os.path.join(OUT, "decode.json"), "w") as f:
        json.dump(out, f)


def legacy_listing(oracle):
    import h5py
    dst = os.path.join(OUT, "oracle")
    os.makedirs(os.path.join(dst, "images"), exist_ok=True)
    expected = json.load(open(os.path.join(oracle, "expected.json")))
    shutil.copy(os.path.join(oracle, "expected.json"), dst)
    for img in expected["images"]:
        shutil.copy(os.path.join(oracle, img), os.path.join(dst, img))
    listing = {}

    def strs(v):
        return [s.decode() if isinstance(s, bytes) else str(s) for s in np.atleast_1d(v)] if len(np.atleast_1d(v)) else []

    for model in expected["models"].values():
        fname = model["weights"]
        shutil.copy(os.path.join(oracle, fname), dst)
        with h5py.File(os.path.join(oracle, fname), "r") as f:
            root = {k: (f.attrs[k].decode() if isinstance(f.attrs[k], bytes) else str(f.attrs[k]))
                    for k in f.attrs if k != "layer_names"}
            layers = []
            for name in strs(f.attrs["layer_names"]):
                g = f[name]
                weights = []
                for w in strs(g.attrs["weight_names"]):
                    ds = g[w]
                    a = ds[()]
                    weights.append(dict(name=w, shape=list(ds.shape), dtype=str(ds.dtype),
                                        sum=float(np.sum(a, dtype=np.float64)),
                                        first=float(a.reshape(-1)[0])))
                layers.append(dict(name=name, weights=weights))
        listing[fname] = dict(root_attrs=root, layers=layers)
    with open(os.path.join(dst, "legacy_listing.json"), "w") as f:
        json.dump(listing, f, indent=1)


def _make_archives(d):
    import io
    import tarfile
    import zipfile

    def add_file(t, name, data, mode=0o644):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = mode
        info.mtime = 1700000000
        t.addfile(info, io.BytesIO(data))

    def add_dir(t, name):
        info = tarfile.TarInfo(name)
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        info.mtime = 1700000000
        t.addfile(info)

    def add_link(t, name, target, kind):
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = target
        info.mtime = 1700000000
        t.addfile(info)

    def benign(t):
        add_dir(t, "data")
        add_file(t, "data/a.txt", b"alpha\n")
        add_file(t, "data/sub/b.txt", b"beta\n", 0o664)
        add_file(t, "data/run.sh", b"#!/bin/sh\necho hi\n", 0o775)
        add_link(t, "data/link_in", "a.txt", tarfile.SYMTYPE)
        add_link(t, "data/hard", "data/a.txt", tarfile.LNKTYPE)
        add_file(t, "data/" + "long_" * 25 + ".txt", b"gnu long name\n")

    import bz2
    import gzip
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        benign(t)
    raw = buf.getvalue()
    # Written byte for byte the same on every run (no timestamps in the compressed headers).
    with open(os.path.join(d, "data.tar"), "wb") as f:
        f.write(raw)
    with open(os.path.join(d, "data.tar.gz"), "wb") as f:
        f.write(gzip.compress(raw, mtime=0))
    with open(os.path.join(d, "data.tar.bz2"), "wb") as f:
        f.write(bz2.compress(raw))
    with tarfile.open(os.path.join(d, "pax.tar"), "w", format=tarfile.PAX_FORMAT) as t:
        add_file(t, "pax/" + "x" * 120 + "/deep.txt", b"pax path\n")
    with tarfile.open(os.path.join(d, "evil.tar"), "w", format=tarfile.GNU_FORMAT) as t:
        add_file(t, "../escape.txt", b"escaped\n")
        add_file(t, "/abs.txt", b"absolute\n")
        add_file(t, "ok.txt", b"ok\n")
        add_link(t, "out", "../../etc", tarfile.SYMTYPE)
        add_link(t, "abs_link", "/etc/passwd", tarfile.SYMTYPE)
        add_link(t, "hl", "ok.txt", tarfile.LNKTYPE)
        add_link(t, "hl_out", "../x", tarfile.LNKTYPE)
    def zinfo(name, method=zipfile.ZIP_STORED):
        i = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        i.compress_type = method
        i.external_attr = (0o40755 if name.endswith("/") else 0o100644) << 16
        return i

    D = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(os.path.join(d, "data.zip"), "w") as z:
        z.writestr(zinfo("data/"), b"")
        z.writestr(zinfo("data/a.txt", D), b"alpha\n")
        z.writestr(zinfo("data/sub/b.txt", D), b"beta\n" * 50)
        z.writestr(zinfo("data/stored.txt"), b"stored\n")
    with zipfile.ZipFile(os.path.join(d, "evil.zip"), "w") as z:
        for name, data in (("../escape.txt", b"escaped\n"), ("/abs.txt", b"absolute\n"), ("ok.txt", b"ok\n"),
                           ("a/../b.txt", b"normalized\n"), ("a/./c.txt", b"dot\n")):
            z.writestr(zinfo(name), data)
    with open(os.path.join(d, "not_archive.bin"), "wb") as f:
        f.write(bytes(range(256)) * 4)


def _tree(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for n in sorted(dirnames + filenames):
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out.append(dict(path=rel, kind="symlink", target=os.readlink(p)))
            elif os.path.isdir(p):
                out.append(dict(path=rel, kind="dir"))
            else:
                st = os.stat(p)
                with open(p, "rb") as f:
                    data = f.read()
                out.append(dict(path=rel, kind="file", size=len(data),
                                text=data.decode("latin-1") if len(data) < 200 else None,
                                mode=oct(st.st_mode & 0o777)))
    return sorted(out, key=lambda e: e["path"])


def archives():
    import tempfile
    import warnings
    d = os.path.join(OUT, "archives")
    os.makedirs(d, exist_ok=True)
    _make_archives(d)
    cases = []
    plan = [("data.tar", {}), ("data.tar.gz", {}), ("data.tar.bz2", {}), ("pax.tar", {}), ("data.zip", {}),
            ("evil.tar", {}), ("evil.zip", {}), ("not_archive.bin", {}),
            ("data.tar.gz", {"fname": "my.data.tgz"}), ("data.zip", {"fname": "plain"}),
            ("data.tar.gz", {"archive_format": "zip"}), ("data.zip", {"archive_format": "tar"})]
    for name, kw in plan:
        cache = tempfile.mkdtemp()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = REAL_GET_FILE(origin="file://" + os.path.join(d, name), extract=True, cache_dir=cache, **kw)
        cases.append(dict(archive=name, kwargs=kw, returned=os.path.relpath(got, cache), tree=_tree(cache),
                          warnings=[str(w.message) for w in caught if "extract" in str(w.message)]))
        shutil.rmtree(cache)
    with open(os.path.join(OUT, "extract.json"), "w") as f:
        json.dump(dict(keras_version=keras.__version__, cases=cases), f, indent=1)


def input_shapes():
    """obtain_input_shape / correct_pad / validate_activation on a grid of arguments."""
    import warnings
    shapes = [None, (224, 224, 3), (200, 200, 3), (31, 64, 3), (64, 31, 3), (None, None, 3), (96, 96, 1),
              (96, 96, 4), (3, 224, 224), (4, 96, 96), (3, 20, 96), (224, 224), (1, 2, 3, 4), (None, 64, 3),
              (3, None, None)]
    cases = []
    for shape in shapes:
        for fmt in ("channels_last", "channels_first"):
            for flatten in (True, False):
                for weights in (None, "imagenet", "my_weights.h5"):
                    kw = dict(input_shape=shape, default_size=224, min_size=32, data_format=fmt,
                              require_flatten=flatten, weights=weights)
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        try:
                            out = dict(result=list(imagenet_utils.obtain_input_shape(**kw)))
                        except ValueError as e:
                            out = dict(error=str(e))
                    out["warnings"] = [str(w.message) for w in caught]
                    kw["input_shape"] = None if shape is None else list(shape)
                    cases.append(dict(kwargs=kw, **out))
    pads = []
    for size in ((224, 224), (225, 225), (224, 225), (None, None), (None, 7)):
        for k in (3, 5, (3, 5)):
            x = keras.KerasTensor((None,) + tuple(size) + (3,))
            pads.append(dict(input_size=list(size), kernel_size=k if isinstance(k, int) else list(k),
                             result=[list(p) for p in imagenet_utils.correct_pad(x, k)]))
    acts = []
    for act in (None, "softmax", "linear", "relu", "sigmoid"):
        for weights in (None, "imagenet"):
            try:
                imagenet_utils.validate_activation(act, weights)
                acts.append(dict(activation=act, weights=weights, ok=True))
            except ValueError as e:
                acts.append(dict(activation=act, weights=weights, ok=False,
                                 message=str(e).split("classifier_activation=")[0]))
    with open(os.path.join(OUT, "input_shapes.json"), "w") as f:
        json.dump(dict(keras_version=keras.__version__, obtain_input_shape=cases, correct_pad=pads,
                       validate_activation=acts), f, indent=1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--oracle", default=os.path.join(ROOT, "..", "shared", "oracle", "applications"))
    p.add_argument("--skip-table", action="store_true")
    a = p.parse_args()
    os.makedirs(OUT, exist_ok=True)
    preprocess()
    decode()
    archives()
    input_shapes()
    legacy_listing(a.oracle)
    if not a.skip_table:
        with open(os.path.join(OUT, "weights_table.json"), "w") as f:
            json.dump(weights_table(), f, indent=1)


if __name__ == "__main__":
    main()
