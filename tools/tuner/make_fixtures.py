"""Reference values from keras-tuner 1.4.8 for crates/keras-tuner/tests/fixtures/oracles.json:
the trials RandomSearchOracle and GridSearchOracle hand out for a fixed space and seed
(values, ids), driven without models (score = a fixed function of the values). Run by hand:
    /work/scratch/venv/bin/python tools/tuner/make_fixtures.py
"""
import json, os, tempfile
os.environ.setdefault("KERAS_BACKEND", "jax")
import keras_tuner as kt


def space():
    hp = kt.HyperParameters()
    hp.Int("units", 8, 64, step=8)
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    hp.Int("layers", 1, 3)
    hp.Choice("act", ["relu", "tanh", "gelu"])
    hp.Boolean("bn")
    with hp.conditional_scope("act", ["relu"]):
        hp.Float("slope", 0.0, 0.3, step=0.1)
    hp.Int("batch", 16, 256, step=2, sampling="log")
    hp.Float("drop", 0.0, 0.5, sampling="linear")
    hp.Int("width", 2, 1000, sampling="reverse_log")
    return hp


def score(values):
    return float(values.get("units", 0)) / 64 + float(values.get("lr", 0))


def drive(oracle, n):
    out = []
    for i in range(n):
        t = oracle.create_trial("tuner0")
        if t.status != "RUNNING":
            out.append({"status": t.status})
            break
        oracle.update_trial(t.trial_id, {"score": score(t.hyperparameters.values)})
        t.status = "COMPLETED"
        oracle.end_trial(t)
        out.append({"trial_id": t.trial_id, "values": t.hyperparameters.values})
    return out


def grid_space():
    hp = kt.HyperParameters()
    hp.Choice("model", ["a", "b"])
    with hp.conditional_scope("model", ["b"]):
        hp.Int("depth", 1, 2)
    hp.Boolean("flag")
    hp.Int("units", 8, 24, step=8, default=16)
    return hp


res = {}
for seed in (1, 42, 7777):
    d = tempfile.mkdtemp()
    o = kt.oracles.RandomSearchOracle(objective=kt.Objective("score", "min"), max_trials=12, seed=seed, hyperparameters=space())
    o._set_project_dir(d, "p")
    res[f"random_{seed}"] = drive(o, 13)
d = tempfile.mkdtemp()
o = kt.oracles.GridSearchOracle(objective=kt.Objective("score", "min"), hyperparameters=grid_space(), seed=1)
o._set_project_dir(d, "p")
res["grid"] = drive(o, 100)
res["space"] = space().get_config()
res["grid_space"] = grid_space().get_config()
path = os.path.join(os.path.dirname(__file__), "../../crates/keras-tuner/tests/fixtures/oracles.json")
with open(path, "w") as f:
    json.dump(res, f, indent=1)
print("wrote", path, {k: len(v) for k, v in res.items() if isinstance(v, list)})
