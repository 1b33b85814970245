//! Crash safety of `BackupAndRestore`: a child process (this test binary re-run in child
//! mode) trains with a backup and is killed with SIGKILL at several moments (inside an
//! epoch, after an epoch but before its backup, right after a backup, and at a random time);
//! rerunning the same command resumes, and the run ends with the same weights, bit for bit,
//! and the same per-epoch logs as an uninterrupted run with the same seed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use keras::callbacks::{BackupAndRestore, Callback, CallbackModel, LambdaCallback};
use keras::layers::{Dense, Dropout, Input};
use keras::models::Sequential;
use keras::{FitArgs, Logs, Tensor};

const EPOCHS: usize = 8;
const CHILD_DIR: &str = "KERAS_RS_CRASH_CHILD_DIR";
const KILL_AT: &str = "KERAS_RS_CRASH_KILL_AT";

/// SIGKILLs this process (a real `kill -9`, not an unwinding exit).
fn kill_self() -> ! {
    let _ = Command::new("kill").arg("-9").arg(std::process::id().to_string()).status();
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Kills the process at a scripted point: `batch:E:B` (after batch B of epoch E),
/// `epoch:E` (at the end of epoch E, before the backup runs), `saved:E` (after the backup).
struct Killer {
    at: Option<String>,
    before_backup: bool,
}

impl Callback for Killer {
    fn on_train_batch_end(&mut self, b: usize, _: &mut CallbackModel, _: &mut Logs) -> keras::Result<()> {
        if let (Some(at), true) = (&self.at, self.before_backup) {
            if *at == format!("batch:{}:{b}", current_epoch()) {
                kill_self();
            }
        }
        Ok(())
    }
    fn on_epoch_begin(&mut self, e: usize, _: &mut CallbackModel, _: &mut Logs) -> keras::Result<()> {
        CURRENT_EPOCH.with(|c| c.set(e));
        Ok(())
    }
    fn on_epoch_end(&mut self, e: usize, _: &mut CallbackModel, _: &mut Logs) -> keras::Result<()> {
        let want = if self.before_backup { format!("epoch:{e}") } else { format!("saved:{e}") };
        if self.at.as_deref() == Some(want.as_str()) {
            kill_self();
        }
        Ok(())
    }
}

thread_local! {
    static CURRENT_EPOCH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn current_epoch() -> usize {
    CURRENT_EPOCH.with(|c| c.get())
}

fn data(n: usize, seed: u64) -> (Tensor, Tensor) {
    // Deterministic data from a fixed recurrence (independent of the global generator).
    let mut s = seed;
    let mut next = || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((s >> 40) as f32) / (1u64 << 24) as f32
    };
    let x: Vec<f32> = (0..n * 6).map(|_| next() * 2.0 - 1.0).collect();
    let y: Vec<i32> =
        (0..n).map(|i| ((x[i * 6] + x[i * 6 + 1] > 0.0) as i32) + (x[i * 6 + 2] > 0.5) as i32).collect();
    (Tensor::new(x, [n, 6]).unwrap(), Tensor::from_i32(y, [n]).unwrap())
}

fn bits(logs: &Logs) -> String {
    logs.iter().map(|(k, v)| format!("{k}={:08x}", v.to_bits())).collect::<Vec<_>>().join(" ")
}

/// The child: one training command, resumable through the backup in `dir/backup`.
fn child(dir: &Path) {
    keras::utils::set_random_seed(1234);
    let mut m = Sequential::new();
    m.add(Input::new(&[6])).unwrap();
    m.add(Dense::new(16).activation("relu")).unwrap();
    m.add(Dropout::new(0.3)).unwrap(); // draws from the generator every step
    m.add(Dense::new(3).activation("softmax")).unwrap();
    m.compile("adam", "sparse_categorical_crossentropy", &["accuracy"]).unwrap();
    let (x, y) = data(96, 1);
    let (xv, yv) = data(32, 2);
    let at = std::env::var(KILL_AT).ok();
    let log = dir.join("epochs.log");
    let mut record = LambdaCallback::new().on_epoch_end(move |e, l| {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        f.write_all(format!("{e} {}\n", bits(l)).as_bytes()).unwrap();
        Ok(())
    });
    let mut before = Killer { at: at.clone(), before_backup: true };
    let mut backup = BackupAndRestore::new(dir.join("backup"));
    let mut after = Killer { at, before_backup: false };
    let h = m
        .fit(
            &x,
            &y,
            FitArgs::default()
                .epochs(EPOCHS)
                .batch_size(16)
                .shuffle(true)
                .verbose(0)
                .validation_data(&xv, &yv)
                .callback(&mut record)
                .callback(&mut before)
                .callback(&mut backup)
                .callback(&mut after),
        )
        .unwrap();
    let weights: Vec<String> = m
        .get_weights()
        .iter()
        .map(|w| w.to_f32_vec().iter().map(|v| format!("{:08x}", v.to_bits())).collect::<Vec<_>>().join(","))
        .collect();
    let tmp = dir.join("final.tmp");
    std::fs::write(&tmp, weights.join("\n")).unwrap();
    std::fs::rename(&tmp, dir.join("final.txt")).unwrap();
    std::fs::write(dir.join("history_epochs.txt"), format!("{:?}", h.epoch)).unwrap();
}

/// Entry point of the child process; does nothing in a normal test run.
#[test]
fn crash_child_entry() {
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        child(Path::new(&dir));
    }
}

fn spawn(dir: &Path, kill_at: Option<&str>) -> std::process::Child {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", "crash_child_entry", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env("KERAS_NUM_THREADS", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    match kill_at {
        Some(k) => c.env(KILL_AT, k),
        None => c.env_remove(KILL_AT),
    };
    c.spawn().unwrap()
}

fn killed(status: ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(9)
}

/// Epoch -> every line logged for it (reruns of an epoch log it again).
fn epoch_lines(dir: &Path) -> BTreeMap<usize, Vec<String>> {
    let text = std::fs::read_to_string(dir.join("epochs.log")).unwrap_or_default();
    let mut out: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    // Only complete lines: a kill can cut the last one.
    for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
        let (e, rest) = line.trim_end().split_once(' ').unwrap();
        out.entry(e.parse().unwrap()).or_default().push(rest.to_string());
    }
    out
}

fn workdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keras_rs_crash_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn killed_training_resumes_to_the_same_result() {
    if std::env::var(CHILD_DIR).is_ok() {
        return;
    }
    // Reference: one uninterrupted run.
    let reference = workdir("reference");
    assert!(spawn(&reference, None).wait().unwrap().success());
    let want_weights = std::fs::read_to_string(reference.join("final.txt")).unwrap();
    let want = epoch_lines(&reference);
    assert_eq!(want.keys().copied().collect::<Vec<_>>(), (0..EPOCHS).collect::<Vec<_>>());
    assert!(!reference.join("backup").exists(), "the backup is deleted after training");

    // Interrupted: scripted kills at increasing epochs, then a kill at a random moment.
    let dir = workdir("interrupted");
    for at in ["batch:1:2", "epoch:2", "saved:3", "epoch:4", "batch:5:0"] {
        let status = spawn(&dir, Some(at)).wait().unwrap();
        assert!(killed(status), "the run scripted to die at {at} ended with {status:?}");
        assert!(!dir.join("final.txt").exists());
    }
    let mut child = spawn(&dir, None);
    // Let it get into the remaining epochs (or finish), then kill it wherever it is.
    for _ in 0..200 {
        if epoch_lines(&dir).keys().any(|&e| e >= 6) || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    // Rerun until it completes.
    let mut runs = 0;
    while !dir.join("final.txt").exists() {
        assert!(spawn(&dir, None).wait().unwrap().success());
        runs += 1;
        assert!(runs <= 2, "a clean rerun must complete");
    }

    assert_eq!(std::fs::read_to_string(dir.join("final.txt")).unwrap(), want_weights, "final weights differ");
    let got = epoch_lines(&dir);
    assert_eq!(got.keys().copied().collect::<Vec<_>>(), (0..EPOCHS).collect::<Vec<_>>());
    for (e, lines) in &got {
        // An epoch run twice (killed after its logs, before its backup) gives the same logs.
        for l in lines {
            assert_eq!(l, &want[e][0], "epoch {e} logs differ from the uninterrupted run");
        }
    }
    // Epochs 2 and 4 were logged, then killed before their backup, so they ran twice.
    assert!(got[&2].len() >= 2 && got[&4].len() >= 2, "{got:?}");
    assert!(!dir.join("backup").exists());
    let _ = std::fs::remove_dir_all(&reference);
    let _ = std::fs::remove_dir_all(&dir);
}
