"""Python keras-tuner 1.4 reloads projects keras-rs wrote, and carries on.

Run by hand (CI has no Python):
    /work/scratch/venv/bin/python tools/tuner/python_reload.py
It runs `cargo run --release -p keras-tuner --example interop_project -- DIR` (or uses
--project-dir DIR written earlier), then, for the random search, Hyperband and Bayesian
projects: builds the same tuner in Python with overwrite=False (which reloads oracle.json,
trial_*/trial.json and tuner0.json), prints results_summary(), checks the trials, best
trial and scores equal what Rust wrote, restores the best model from its
checkpoint.weights.h5 and compares its predictions with the Rust model's, then resumes the
random search in Python for two more trials (max_trials 4 -> 6).
Needs scikit-learn for BayesianOptimization and tensorboard for the HParams check; the shared
venv has neither, so they were installed beside it (pip install --no-deps --target
/work/scratch/tuner-pylib tensorboard scikit-learn joblib threadpoolctl cloudpickle narwhals)
and the script run with PYTHONPATH=/work/scratch/tuner-pylib. Without them those two checks
are skipped.
"""
import argparse, json, os, subprocess, sys, tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")  # keras-tuner needs tensorboard with the TF backend
import numpy as np
import keras
import keras_tuner as kt

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def build(hp):
    model = keras.Sequential([
        keras.Input((13,)),
        keras.layers.Dense(hp.Int("units", 8, 64, step=8), activation="relu"),
        keras.layers.Dense(3, activation="softmax"),
    ])
    lr = hp.Float("learning_rate", 1e-3, 1e-1, sampling="log")
    model.compile(keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def rust_trials(project):
    out = {}
    for d in sorted(os.listdir(project)):
        if d.startswith("trial_"):
            with open(os.path.join(project, d, "trial.json")) as f:
                t = json.load(f)
            out[t["trial_id"]] = t
    return out


def check(name, tuner, project):
    print(f"\n===== {name}: Python keras-tuner {kt.__version__} reloads {project}")
    tuner.results_summary(2)
    want = rust_trials(project)
    got = tuner.oracle.trials
    assert sorted(got) == sorted(want), (sorted(got), sorted(want))
    for tid, t in got.items():
        assert t.status == want[tid]["status"], tid
        assert t.score == want[tid]["score"], (tid, t.score, want[tid]["score"])
        assert t.hyperparameters.values == want[tid]["hyperparameters"]["values"], tid
    best = tuner.oracle.get_best_trials(1)[0]
    print(f"{name}: {len(got)} trials reloaded, statuses and scores equal; best trial {best.trial_id} score {best.score}")
    return best


def check_tensorboard(tb):
    """TensorBoard's HParams plugin reads the runs keras-rs wrote (the plugin's own backend)."""
    try:
        from tensorboard import context
        from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
        from tensorboard.plugins import base_plugin
        from tensorboard.plugins.hparams import backend_context, metadata
    except ImportError as e:
        print(f"TensorBoard check skipped: {e}")
        return
    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(tb)
    mux.Reload()
    provider = data_provider.MultiplexerDataProvider(mux, tb)
    bctx = backend_context.Context(base_plugin.TBContext(logdir=tb, multiplexer=mux, data_provider=provider))
    ctx = context.RequestContext()
    content = bctx.hparams_metadata(ctx, "")
    sessions = {}
    for run, tags in sorted(content.items()):
        for tag, data in tags.items():
            if tag == metadata.SESSION_START_INFO_TAG:
                info = metadata.parse_session_start_info_plugin_data(data)
                sessions[run] = (info.group_name, {k: v.number_value or v.string_value for k, v in info.hparams.items()})
            elif tag == metadata.SESSION_END_INFO_TAG:
                end = metadata.parse_session_end_info_plugin_data(data)
                assert end.status == 1, end
    exp = bctx.experiment_from_metadata(ctx, "", True, content, bctx.hparams_from_data_provider(ctx, "", 0))
    print(f"\n===== TensorBoard {__import__('tensorboard').__version__} HParams plugin reads {tb}")
    for run, (group, hps) in sessions.items():
        print(f"session {run}: trial {group}, hparams {hps}")
    print("experiment hparams:", [h.name for h in exp.hparam_infos])
    print("experiment metrics:", sorted(f"{m.name.group}/{m.name.tag}" for m in exp.metric_infos))
    assert len(sessions) == 4 and {h.name for h in exp.hparam_infos} == {"units", "learning_rate"}
    assert any(m.name.tag == "epoch_accuracy" for m in exp.metric_infos)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--project-dir")
    a = ap.parse_args()
    d = a.project_dir or tempfile.mkdtemp(prefix="kt_interop_")
    if not a.project_dir:
        subprocess.run(["cargo", "run", "--release", "-q", "-p", "keras-tuner", "--example", "interop_project", "--", d],
                       cwd=ROOT, check=True)
    x, y = np.load(f"{d}/x_train.npy"), np.load(f"{d}/y_train.npy")
    xv, yv = np.load(f"{d}/x_val.npy"), np.load(f"{d}/y_val.npy")

    rs = kt.RandomSearch(build, objective="val_accuracy", max_trials=4, seed=5, directory=d,
                         project_name="wine_random", overwrite=False)
    check("RandomSearch", rs, f"{d}/wine_random")
    # The trial Rust called best (ties may sort differently: Python orders reloaded trials
    # by directory listing).
    tid = open(f"{d}/best_trial.txt").read().strip()
    model = rs.load_model(rs.oracle.get_trial(tid))
    pred = model.predict(xv, verbose=0)
    rust = np.load(f"{d}/best_predictions.npy")
    diff = float(np.max(np.abs(pred - rust)))
    print(f"RandomSearch: trial {tid}'s model restored from checkpoint.weights.h5, max |Python - Rust| prediction difference {diff:.2e}")
    assert diff < 1e-5, diff

    check_tensorboard(f"{d}/tb")

    hb = kt.Hyperband(build, objective="val_loss", max_epochs=3, factor=3, seed=5, directory=d,
                      project_name="wine_hyperband", overwrite=False)
    check("Hyperband", hb, f"{d}/wine_hyperband")
    hb.get_best_models(1)

    try:
        bo = kt.BayesianOptimization(build, objective="val_loss", max_trials=8, num_initial_points=3, seed=5,
                                     directory=d, project_name="wine_bayesian", overwrite=False)
        check("BayesianOptimization", bo, f"{d}/wine_bayesian")
    except ImportError as e:
        print(f"BayesianOptimization skipped: {e}")

    # Python resumes the Rust search: two more trials, ids and seeds continuing.
    rs2 = kt.RandomSearch(build, objective="val_accuracy", max_trials=6, seed=5, directory=d,
                          project_name="wine_random", overwrite=False)
    rs2.search(x, y, epochs=3, batch_size=16, validation_data=(xv, yv), verbose=0)
    ids = sorted(rs2.oracle.trials)
    assert ids == ["0", "1", "2", "3", "4", "5"], ids
    print(f"\nRandomSearch resumed in Python: trials {ids}, all {set(t.status for t in rs2.oracle.trials.values())}")
    rs2.results_summary(1)
    print("\nOK: Python keras-tuner reads and continues keras-rs projects")


if __name__ == "__main__":
    main()
