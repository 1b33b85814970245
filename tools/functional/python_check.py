"""Loads the Functional models keras-rs re-saved (`.keras`, legacy `.h5`, and `.weights.h5`
into the `.keras` architecture) with Python Keras and compares their predictions with
Keras's original outputs (`y*.npy`) and keras-rs's (`rs*.npy`).

    KERAS_RS_EXPORT_DIR=/tmp/rs_functional cargo test -p keras --release --test functional_resave
    /work/scratch/venv/bin/python tools/functional/python_check.py /tmp/rs_functional

Prints one line per case and file with the largest absolute differences; exits non-zero when
a file fails to load or differs by more than 1e-4.
"""
import glob
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np

TOL = 1e-4


def numbered(d, prefix):
    out = []
    while os.path.exists(os.path.join(d, f"{prefix}{len(out)}.npy")):
        out.append(np.load(os.path.join(d, f"{prefix}{len(out)}.npy")))
    return out


def as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def main(root):
    failures = 0
    for d in sorted(glob.glob(os.path.join(root, "*"))):
        name = os.path.basename(d)
        xs, ys, rs = numbered(d, "x"), numbered(d, "y"), numbered(d, "rs")
        for f in ["model.keras", "model.h5", "model.weights.h5"]:
            try:
                if f == "model.weights.h5":
                    model = keras.saving.load_model(os.path.join(d, "model.keras"), compile=False)
                    model.load_weights(os.path.join(d, f))
                else:
                    model = keras.saving.load_model(os.path.join(d, f), compile=False)
                got = as_list(model.predict(xs if len(xs) > 1 else xs[0], verbose=0))
            except Exception as e:  # noqa: BLE001 - every failure is reported
                failures += 1
                print(f"FAIL {name}/{f}: {type(e).__name__}: {e}")
                continue
            dk = max(float(np.max(np.abs(g - y))) for g, y in zip(got, ys))
            dr = max(float(np.max(np.abs(g - r))) for g, r in zip(got, rs))
            ok = dk <= TOL and dr <= TOL and len(got) == len(ys)
            failures += not ok
            print(f"{'PASS' if ok else 'FAIL'} {name}/{f}: vs Keras's outputs {dk:.3e}, vs keras-rs {dr:.3e}")
    print("failures:", failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
