//! kill -9 and resume: a child process (this test binary re-run in child mode) searches and
//! is killed with SIGKILL in the middle of a trial, at the end of a trial's training, or at
//! arbitrary times; running the same program again (overwrite off) resumes. Finished trials
//! are not run again, the interrupted one is, and the finished project equals an
//! uninterrupted run's: the same trials with the same values and the same scores, bit for
//! bit (each trial's training is seeded from the tuner seed and the trial id).

mod common;

use common::data;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use keras::callbacks::{Callback, CallbackModel};
use keras::layers::{Dense, Input};
use keras::models::Sequential;
use keras::optimizers::Adam;
use keras::trainers::Arrays;
use keras::{FitArgs, Logs};
use keras_tuner::{FitResult, HyperModel, HyperParameters, Hyperband, RandomSearch, SearchArgs, Tuner};

const CHILD_DIR: &str = "KERAS_TUNER_CRASH_CHILD_DIR";
const KIND: &str = "KERAS_TUNER_CRASH_KIND";
const KILL_AT: &str = "KERAS_TUNER_CRASH_KILL_AT";

static FITS: AtomicUsize = AtomicUsize::new(0);

fn kill_self() -> ! {
    let _ = Command::new("kill").arg("-9").arg(std::process::id().to_string()).status();
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The MLP; logs each fit it starts to `fits.log` in the project directory.
struct Mlp {
    log: PathBuf,
}

impl HyperModel for Mlp {
    type Model = Sequential;
    fn build(&self, hp: &mut HyperParameters) -> keras_tuner::Result<Sequential> {
        let units = hp.int("units", 4, 64).step(4).value()?;
        let lr = hp.float("learning_rate", 1e-3, 1e-1).sampling("log").value()?;
        let mut model = Sequential::new();
        model.add(Input::new(&[4]))?;
        model.add(Dense::new(units as usize).activation("relu"))?;
        model.add(Dense::new(3).activation("softmax"))?;
        model.compile(
            Adam::new().learning_rate(lr as f32),
            "sparse_categorical_crossentropy",
            &["accuracy"],
        )?;
        Ok(model)
    }
    fn fit(
        &self,
        hp: &mut HyperParameters,
        model: &mut Sequential,
        x: &Arrays,
        y: &Arrays,
        args: FitArgs<'_>,
    ) -> keras_tuner::Result<FitResult> {
        FITS.fetch_add(1, Ordering::SeqCst);
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        writeln!(f, "{}", hp.values().to_json().dumps()).unwrap();
        f.sync_all().unwrap();
        Ok(FitResult::History(model.fit(x, y, args)?))
    }
}

/// Kills the process at `fit:<n>:first` / `fit:<n>:last`: the end of the first or the last
/// epoch of the n-th fit (1-based) this process starts.
struct Killer {
    at: Option<(usize, bool)>,
    epochs: usize,
}

impl Callback for Killer {
    fn set_params(&mut self, params: &keras::callbacks::CallbackParams) {
        self.epochs = params.epochs;
    }
    fn on_epoch_end(&mut self, epoch: usize, _: &mut CallbackModel, _: &mut Logs) -> keras::Result<()> {
        if let Some((n, last)) = self.at {
            if n == FITS.load(Ordering::SeqCst) && (!last || epoch + 1 == self.epochs) {
                kill_self();
            }
        }
        Ok(())
    }
}

fn tuner(dir: &Path, kind: &str) -> Tuner<Mlp> {
    let hm = Mlp { log: dir.join("fits.log") };
    match kind {
        "random" => RandomSearch::new(hm)
            .objective("val_accuracy")
            .max_trials(6)
            .seed(21)
            .directory(dir)
            .project_name("p")
            .build(),
        _ => Hyperband::new(hm)
            .objective("val_loss")
            .max_epochs(4)
            .factor(2)
            .seed(21)
            .directory(dir)
            .project_name("p")
            .build(),
    }
    .unwrap()
}

fn child(dir: &Path) {
    let kind = std::env::var(KIND).unwrap();
    let kill = std::env::var(KILL_AT).ok().and_then(|s| {
        let mut p = s.split(':').skip(1);
        Some((p.next()?.parse::<usize>().ok()?, p.next()? == "last"))
    });
    let (x, y) = data(96, 1);
    let (xv, yv) = data(48, 2);
    let t = tuner(dir, &kind);
    let args = SearchArgs::default()
        .epochs(3)
        .batch_size(16)
        .verbose(0)
        .validation_data(&xv, &yv)
        .callback(move || Killer { at: kill, epochs: 0 });
    t.search(&x, &y, args).unwrap();
}

/// Runs the child until it finishes; `kill` for the first run, or `Err(ms)`: SIGKILL it
/// from outside after that many milliseconds.
fn run(dir: &Path, kind: &str, first: Result<&str, u64>) -> usize {
    let exe = std::env::current_exe().unwrap();
    for attempt in 0..20 {
        let mut cmd = Command::new(&exe);
        cmd.args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir)
            .env(KIND, kind)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        match (attempt, first) {
            (0, Ok(at)) => {
                cmd.env(KILL_AT, at);
            }
            (0, Err(ms)) => {
                let mut c = cmd.spawn().unwrap();
                std::thread::sleep(Duration::from_millis(ms));
                let _ = c.kill(); // SIGKILL
                let _ = c.wait();
                let done = fits(dir).len();
                println!("{kind}: SIGKILL after {ms} ms, {done} fits had started");
                continue;
            }
            _ => {}
        }
        let status = cmd.status().unwrap();
        if status.success() {
            return attempt + 1;
        }
        assert_eq!(attempt, 0, "a child without a kill point failed: {status:?}");
    }
    panic!("the search never finished");
}

fn outcome(dir: &Path, kind: &str) -> Vec<(String, String, String, Option<u64>)> {
    tuner(dir, kind)
        .trials()
        .iter()
        .map(|t| {
            (
                t.trial_id.clone(),
                t.hyperparameters.values().to_json().dumps(),
                t.status.as_str().to_string(),
                t.score.map(f64::to_bits),
            )
        })
        .collect()
}

fn fits(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("fits.log")).unwrap_or_default().lines().map(str::to_string).collect()
}

#[test]
fn child_entry() {
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        child(Path::new(&dir));
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kt_crash_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn check(kind: &str) {
    let reference = scratch(&format!("{kind}_ref"));
    let started = std::time::Instant::now();
    assert_eq!(run(&reference, kind, Ok("none")), 1);
    let duration_ms = started.elapsed().as_millis() as u64;
    let want = outcome(&reference, kind);
    let want_fits = fits(&reference);
    assert!(want.len() >= 6 && want.iter().all(|t| t.2 == "COMPLETED"), "{want:?}");

    // Scripted kills: after the first epoch of the 3rd trial, at the end of the last epoch
    // of the 2nd (trained, not yet recorded), in the last trial.
    let n = want_fits.len();
    for (i, at) in
        ["fit:3:first".to_string(), "fit:2:last".into(), format!("fit:{n}:first")].iter().enumerate()
    {
        let dir = scratch(&format!("{kind}_{i}"));
        assert_eq!(run(&dir, kind, Ok(at)), 2, "{at}");
        assert_eq!(outcome(&dir, kind), want, "{kind} killed at {at}");
        // Only the interrupted trial ran twice.
        let got = fits(&dir);
        let killed_fit: usize = at.split(':').nth(1).unwrap().parse().unwrap();
        let mut expected = want_fits[..killed_fit].to_vec();
        expected.extend_from_slice(&want_fits[killed_fit - 1..]);
        assert_eq!(got, expected, "{kind} killed at {at}");
    }
    // Kills from outside at moments spread over an uninterrupted run (startup, file writes,
    // training); no timing is asserted, the kill only has to land somewhere.
    for (i, ms) in [1u64, 3, 5, 7, 9].iter().map(|k| duration_ms * k / 10).enumerate() {
        let ms = &ms;
        let dir = scratch(&format!("{kind}_t{i}"));
        run(&dir, kind, Err(*ms));
        assert_eq!(outcome(&dir, kind), want, "{kind} killed after {ms} ms");
        let got = fits(&dir);
        assert!(got.len() <= want_fits.len() + 1, "{kind} after {ms} ms: {} fits", got.len());
        let _ = std::fs::remove_dir_all(&dir);
    }
    let _ = std::fs::remove_dir_all(&reference);
}

#[test]
fn random_search_resumes_after_sigkill() {
    if std::env::var(CHILD_DIR).is_ok() {
        return;
    }
    check("random");
}

#[test]
fn hyperband_resumes_after_sigkill() {
    if std::env::var(CHILD_DIR).is_ok() {
        return;
    }
    check("hyperband");
}
