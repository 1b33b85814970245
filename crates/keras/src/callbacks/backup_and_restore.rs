//! `BackupAndRestore` (Keras `keras.callbacks.BackupAndRestore`).

use crate::setters::setters;
use std::path::{Path, PathBuf};

use keras_engine::with_global_rng;
use serde_json::{json, Value};

use super::tensorboard::crc32c;
use super::{Callback, CallbackModel, SaveFreq};
use crate::trainers::Logs;
use crate::{keras_bail, Error, Result};

/// Makes training resumable after an interruption (a crash, `kill -9`, a preempted machine).
///
/// At the end of every epoch (or every N batches) it writes `backup_dir/latest.weights.h5`
/// (the model and optimizer variables) and `backup_dir/training_metadata.json` (the epoch to
/// resume from, as Keras, plus the state of the random generator so that a resumed run
/// shuffles and drops out exactly as an uninterrupted one). When `fit` starts and a backup
/// exists, it restores both and training continues from the next epoch. When training
/// finishes, the backup is deleted (`delete_checkpoint`).
///
/// A kill at any moment leaves a consistent backup: the metadata is written atomically
/// (temporary file + rename) and records the CRC32C of the weights file it belongs to; the
/// previous weights stay beside it (`previous.weights.h5`) until the new metadata is in
/// place. Metadata without matching weights, or weights without metadata, are never mixed.
/// Call `fit` again with the same arguments and seed to resume.
///
/// ```no_run
/// use keras::callbacks::BackupAndRestore;
/// let mut backup = BackupAndRestore::new("/tmp/backup");
/// # let _ = &mut backup;
/// ```
pub struct BackupAndRestore {
    /// Where the backup lives.
    pub backup_dir: PathBuf,
    /// Every epoch (default) or every N batches. Keras resumes a batch-level backup from the
    /// start of the epoch it was taken in, with the mid-epoch weights.
    pub save_freq: SaveFreq,
    /// Keep the previous backup as `*.bkp` and fall back to it when the latest cannot be read.
    pub double_checkpoint: bool,
    /// Remove the backup when training ends normally.
    pub delete_checkpoint: bool,
    batches_since_last_save: usize,
    last_batch_seen: usize,
    current_epoch: usize,
    /// The epoch training resumed from (`None` when it started afresh).
    pub resumed_from_epoch: Option<usize>,
}

impl BackupAndRestore {
    /// Backs up into `backup_dir` at the end of every epoch.
    pub fn new(backup_dir: impl Into<PathBuf>) -> Self {
        BackupAndRestore {
            backup_dir: backup_dir.into(),
            save_freq: SaveFreq::Epoch,
            double_checkpoint: false,
            delete_checkpoint: true,
            batches_since_last_save: 0,
            last_batch_seen: 0,
            current_epoch: 0,
            resumed_from_epoch: None,
        }
    }
    setters! {
        /// How often to back up.
        save_freq: SaveFreq,
        /// Keep the previous backup too.
        double_checkpoint: bool,
        /// Delete the backup at the end of training (default true).
        delete_checkpoint: bool,
    }

    fn weights_path(&self) -> PathBuf {
        self.backup_dir.join("latest.weights.h5")
    }
    fn metadata_path(&self) -> PathBuf {
        self.backup_dir.join("training_metadata.json")
    }
    /// The previous weights, kept until the new metadata is written.
    fn prev(p: &Path) -> PathBuf {
        p.with_file_name("previous.weights.h5")
    }
    fn bkp(p: &Path) -> PathBuf {
        let mut s = p.as_os_str().to_owned();
        s.push(".bkp");
        PathBuf::from(s)
    }

    fn load(&mut self, model: &mut CallbackModel) -> Result<()> {
        if !model.model().built() {
            keras_bail!(
                Value,
                "To use the BackupAndRestore callback, you model must be built before you call `fit()`. Model {} is unbuilt. You can build it beforehand by calling it on a batch of data.",
                model.name()
            );
        }
        let (wp, mp) = (self.weights_path(), self.metadata_path());
        // Without metadata the weights cannot be placed in time (a first save interrupted
        // between the two files): start afresh.
        if !mp.exists() {
            return Ok(());
        }
        let text = std::fs::read_to_string(&mp)
            .map_err(|e| Error::Io(format!("cannot read {}: {e}", mp.display())))?;
        let meta: Value = serde_json::from_str(&text)
            .map_err(|e| Error::Io(format!("{} is not valid JSON: {e}", mp.display())))?;
        let Some(epoch) = meta.get("epoch").and_then(Value::as_u64) else {
            keras_bail!(Io, "{} has no integer `epoch`", mp.display());
        };
        // The weights that belong to this metadata: the latest file, or the previous one
        // when a save was interrupted after the new weights but before the new metadata.
        let weights = match meta.get("weights_crc32c").and_then(Value::as_u64) {
            None => wp.exists().then(|| wp.clone()),
            Some(crc) => {
                let matches = |p: &Path| std::fs::read(p).is_ok_and(|b| crc32c(&b) as u64 == crc);
                let prev = Self::prev(&wp);
                if matches(&wp) {
                    Some(wp.clone())
                } else if matches(&prev) {
                    Some(prev)
                } else {
                    keras_bail!(
                        Io,
                        "BackupAndRestore: no weights file in {} matches {}",
                        self.backup_dir.display(),
                        mp.display()
                    );
                }
            }
        };
        if let Some(w) = weights {
            // Keras builds the optimizer first so its variables can be loaded.
            if let Ok((net, c)) = model.model_mut()?.parts_mut() {
                if !c.optimizer.built() {
                    let vars: Vec<_> =
                        net.variables_mut().into_iter().filter(|(_, t)| *t).map(|(v, _)| &*v).collect();
                    let _ = c.optimizer.build(&vars);
                }
            }
            model.load_weights(&w)?;
        }
        model.initial_epoch = Some(epoch as usize);
        self.resumed_from_epoch = Some(epoch as usize);
        self.current_epoch = epoch as usize;
        if let Some(s) = meta.get("rng_state").and_then(Value::as_array) {
            let words: Vec<u64> = s.iter().filter_map(|w| w.as_str()?.parse().ok()).collect();
            if let Ok(state) = <[u64; 4]>::try_from(words) {
                model.restored_rng = Some(state);
            }
        }
        Ok(())
    }

    fn save(&self, model: &mut CallbackModel) -> Result<()> {
        let io = |e: std::io::Error, what: &Path| {
            Error::Io(format!("BackupAndRestore cannot write {}: {e}", what.display()))
        };
        std::fs::create_dir_all(&self.backup_dir).map_err(|e| io(e, &self.backup_dir))?;
        let (wp, mp) = (self.weights_path(), self.metadata_path());
        if self.double_checkpoint {
            for p in [&wp, &mp] {
                if p.exists() {
                    std::fs::copy(p, Self::bkp(p)).map_err(|e| io(e, p))?;
                }
            }
        }
        // Keep the weights the current metadata refers to until the new metadata is in
        // place: a kill at any point leaves a metadata file and a weights file that match
        // (checked by CRC when restoring).
        if wp.exists() {
            std::fs::rename(&wp, Self::prev(&wp)).map_err(|e| io(e, &wp))?;
        }
        model.save_weights(&wp)?;
        let bytes = std::fs::read(&wp).map_err(|e| io(e, &wp))?;
        let rng = with_global_rng(|r| r.state());
        let meta = json!({
            "epoch": self.current_epoch,
            "batch": self.last_batch_seen,
            "weights_crc32c": crc32c(&bytes),
            // u64 as strings: JSON readers elsewhere may hold numbers as doubles.
            "rng_state": rng.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
        });
        write_atomic(&mp, meta.to_string().as_bytes()).map_err(|e| io(e, &mp))
    }

    fn should_save_on_batch(&mut self, batch: usize) -> bool {
        let SaveFreq::Batches(n) = self.save_freq else { return false };
        let add = if batch <= self.last_batch_seen { batch + 1 } else { batch - self.last_batch_seen };
        self.batches_since_last_save += add;
        self.last_batch_seen = batch;
        if self.batches_since_last_save >= n {
            self.batches_since_last_save = 0;
            return true;
        }
        false
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

impl Callback for BackupAndRestore {
    fn on_train_begin(&mut self, model: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        if self.backup_dir.as_os_str().is_empty() {
            keras_bail!(InvalidArgument, "Empty `backup_dir` argument passed");
        }
        if self.save_freq == SaveFreq::Batches(0) {
            keras_bail!(
                InvalidArgument,
                "Invalid value for argument `save_freq`. Received: save_freq=0. Expected either 'epoch' or a positive integer value."
            );
        }
        self.resumed_from_epoch = None;
        super::model_checkpoint::check_writable_dir(&self.backup_dir, "BackupAndRestore")?;
        match self.load(model) {
            Ok(()) => Ok(()),
            Err(e) => {
                // Fall back to the previous backup, as Keras does with `double_checkpoint`.
                let (wp, mp) = (self.weights_path(), self.metadata_path());
                if !Self::bkp(&wp).exists() {
                    return Err(e);
                }
                let copy = |a: &Path, b: &Path| {
                    std::fs::copy(a, b).map(|_| ()).map_err(|e| Error::Io(format!("{}: {e}", a.display())))
                };
                copy(&Self::bkp(&wp), &wp)?;
                if Self::bkp(&mp).exists() {
                    copy(&Self::bkp(&mp), &mp)?;
                } else if mp.exists() {
                    let _ = std::fs::remove_file(&mp);
                }
                self.load(model)
            }
        }
    }

    fn on_epoch_end(&mut self, epoch: usize, model: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        self.current_epoch = epoch + 1;
        self.last_batch_seen = 0;
        if self.save_freq == SaveFreq::Epoch {
            self.save(model)?;
        }
        Ok(())
    }

    fn on_train_batch_end(
        &mut self,
        batch: usize,
        model: &mut CallbackModel,
        _logs: &mut Logs,
    ) -> Result<()> {
        if self.should_save_on_batch(batch) {
            self.save(model)?;
        }
        Ok(())
    }

    fn on_train_end(&mut self, _model: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        if self.delete_checkpoint && self.backup_dir.exists() {
            std::fs::remove_dir_all(&self.backup_dir).map_err(|e| {
                Error::Io(format!("BackupAndRestore cannot delete {}: {e}", self.backup_dir.display()))
            })?;
        }
        Ok(())
    }
}
