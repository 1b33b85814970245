//! `ModelCheckpoint` (Keras `keras.callbacks.ModelCheckpoint`).

use crate::setters::setters;
use std::path::{Path, PathBuf};

use super::monitor::{monitor_options, Monitor};
use super::pyformat::{self, Piece, PyValue};
use super::{warn, Callback, CallbackModel, CallbackParams, SaveFreq};
use crate::trainers::Logs;
use crate::{keras_bail, Error, Result};

/// Saves the model (or its weights) during training.
///
/// `filepath` may hold Python format fields filled from `epoch` (1-based), `batch`
/// (1-based, when saving every N batches) and the logs: `weights.{epoch:02d}-{val_loss:.2f}.keras`.
/// It must end in `.keras` (or `.h5`), or in `.weights.h5` with `save_weights_only`.
/// With `save_best_only`, only saves when the monitored quantity improves.
///
/// Arguments are checked when training starts: the extension, the template (syntax, and
/// fields that the logs will hold), the mode, `save_freq`, and that the directory is
/// writable.
///
/// ```no_run
/// use keras::callbacks::ModelCheckpoint;
/// let mut best = ModelCheckpoint::new("best_model.keras").monitor("val_loss").save_best_only(true);
/// # let _ = &mut best;
/// ```
pub struct ModelCheckpoint {
    monitor: Monitor,
    pending: Option<Error>,
    /// The path template.
    pub filepath: String,
    /// 1 prints a message on each save.
    pub verbose: u8,
    /// Only save when the monitored value improves.
    pub save_best_only: bool,
    /// Save weights (`model.save_weights`) instead of the whole model.
    pub save_weights_only: bool,
    /// Every epoch, or every N batches.
    pub save_freq: SaveFreq,
    params: Option<CallbackParams>,
    batches_since_last_save: usize,
    last_batch_seen: Option<usize>,
    current_epoch: usize,
    /// Paths written so far, in order.
    pub saved: Vec<PathBuf>,
}

impl ModelCheckpoint {
    /// Keras's defaults: monitor `val_loss`, mode auto, save every epoch, whole model.
    pub fn new(filepath: impl AsRef<Path>) -> Self {
        ModelCheckpoint {
            monitor: Monitor::new("ModelCheckpoint", "val_loss", 0.0),
            pending: None,
            filepath: filepath.as_ref().to_string_lossy().into_owned(),
            verbose: 0,
            save_best_only: false,
            save_weights_only: false,
            save_freq: SaveFreq::Epoch,
            params: None,
            batches_since_last_save: 0,
            last_batch_seen: None,
            current_epoch: 0,
            saved: Vec::new(),
        }
    }
    setters! {
        /// Verbosity.
        verbose: u8,
        /// Only keep the best model.
        save_best_only: bool,
        /// Save weights only (the path must end in `.weights.h5`).
        save_weights_only: bool,
        /// `SaveFreq::Epoch` or `SaveFreq::Batches(n)` (n > 0).
        save_freq: SaveFreq,
    }

    fn check(&self, model: &CallbackModel) -> Result<()> {
        if let Some(e) = &self.pending {
            return Err(e.clone());
        }
        let fp = &self.filepath;
        if self.save_weights_only {
            if !fp.ends_with(".weights.h5") {
                keras_bail!(
                    InvalidArgument,
                    "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided must end in `.weights.h5` (Keras weights format). Received: filepath={fp}"
                );
            }
        } else if !(fp.ends_with(".keras") || fp.ends_with(".h5")) {
            keras_bail!(
                InvalidArgument,
                "The filepath provided must end in `.keras` (Keras model format). Received: filepath={fp}"
            );
        }
        if self.save_freq == SaveFreq::Batches(0) {
            keras_bail!(
                InvalidArgument,
                "Unrecognized save_freq: 0. Expected save_freq are 'epoch' or positive integer values"
            );
        }
        // Fields must be ones the logs will hold (Keras would fail at the first save).
        let validation = self.params.as_ref().is_some_and(|p| p.validation);
        let mut known = vec!["epoch".to_string()];
        if matches!(self.save_freq, SaveFreq::Batches(_)) {
            known.push("batch".into());
        }
        let names = model.model().compiled().map(|c| c.log_names()).unwrap_or_default();
        known.push("learning_rate".into());
        for n in &names {
            known.push(n.clone());
            if validation {
                known.push(format!("val_{n}"));
            }
        }
        for piece in pyformat::parse(fp)? {
            if let Piece::Field { name, spec } = piece {
                if !known.contains(&name) {
                    keras_bail!(
                        InvalidArgument,
                        "ModelCheckpoint filepath \"{fp}\" uses the field `{name}`, which the logs will not hold; available fields: {}",
                        known.join(", ")
                    );
                }
                let probe =
                    if name == "epoch" || name == "batch" { PyValue::Int(1) } else { PyValue::Float(0.5) };
                pyformat::format_value(probe, &spec).map_err(|e| {
                    Error::InvalidArgument(format!(
                        "ModelCheckpoint filepath \"{fp}\": field `{name}` has an invalid format spec: {e}"
                    ))
                })?;
            }
        }
        // The directory must be writable (when it does not depend on a field).
        let static_part = fp.split('{').next().unwrap_or("");
        let target = Path::new(fp);
        if !fp.contains('{') && target.is_dir() {
            keras_bail!(
                Io,
                "Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an existing directory: {fp}"
            );
        }
        let dir = if fp.contains('{') {
            Path::new(static_part).parent().map(Path::to_path_buf)
        } else {
            target.parent().map(Path::to_path_buf)
        }
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
        check_writable_dir(&dir, "ModelCheckpoint")
    }

    fn should_save_on_batch(&mut self, batch: usize) -> bool {
        let SaveFreq::Batches(n) = self.save_freq else { return false };
        let add = match self.last_batch_seen {
            Some(last) if batch > last => batch - last,
            _ => batch + 1,
        };
        self.batches_since_last_save += add;
        self.last_batch_seen = Some(batch);
        if self.batches_since_last_save >= n {
            self.batches_since_last_save = 0;
            return true;
        }
        false
    }

    fn file_path(&self, epoch: usize, batch: Option<usize>, logs: &Logs) -> Result<String> {
        let lookup = |k: &str| -> Option<PyValue> {
            match k {
                "epoch" => Some(PyValue::Int(epoch as i64 + 1)),
                "batch" if !logs.contains_key("batch") => batch.map(|b| PyValue::Int(b as i64 + 1)),
                _ => logs.get(k).map(|v| PyValue::Float(*v as f64)),
            }
        };
        pyformat::format(&self.filepath, &lookup)
    }

    fn should_save(&mut self, epoch: usize, logs: &Logs, filepath: &str) -> bool {
        if !self.save_best_only {
            if self.verbose > 0 {
                println!("\nEpoch {}: saving model to {filepath}", epoch + 1);
            }
            return true;
        }
        let Some(current) = logs.get(&self.monitor.monitor).map(|v| *v as f64) else {
            warn(format!("Can save best model only with {} available.", self.monitor.monitor));
            return true;
        };
        let best_str = self.monitor.best.map_or("None".to_string(), |b| format!("{b:.5}"));
        if self.monitor.is_improvement(current, self.monitor.best) {
            if self.verbose > 0 {
                println!(
                    "\nEpoch {}: {} improved from {best_str} to {current:.5}, saving model to {filepath}",
                    epoch + 1,
                    self.monitor.monitor
                );
            }
            self.monitor.best = Some(current);
            true
        } else {
            if self.verbose > 0 {
                println!("\nEpoch {}: {} did not improve from {best_str}", epoch + 1, self.monitor.monitor);
            }
            false
        }
    }

    fn save_model(
        &mut self,
        model: &mut CallbackModel,
        epoch: usize,
        batch: Option<usize>,
        logs: &Logs,
    ) -> Result<()> {
        let filepath = self.file_path(epoch, batch, logs)?;
        if !self.should_save(epoch, logs, &filepath) {
            return Ok(());
        }
        let path = PathBuf::from(&filepath);
        if path.is_dir() {
            keras_bail!(
                Io,
                "Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an existing directory: {filepath}"
            );
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Io(format!("ModelCheckpoint cannot create {}: {e}", dir.display())))?;
        }
        if self.save_weights_only {
            model.save_weights(&path)?;
        } else {
            model.save(&path)?;
        }
        if self.verbose > 0 {
            println!("\nEpoch {}: finished saving model to {filepath}", epoch + 1);
        }
        self.saved.push(path);
        Ok(())
    }
}

/// Creates `dir` if needed and checks a file can be created in it.
pub(crate) fn check_writable_dir(dir: &Path, owner: &str) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Io(format!("{owner} cannot create directory {}: {e}", dir.display())))?;
    let probe = dir.join(format!(".keras_write_probe_{}", std::process::id()));
    std::fs::write(&probe, b"")
        .map_err(|e| Error::Io(format!("{owner} cannot write in {}: {e}", dir.display())))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

monitor_options!(ModelCheckpoint {
    /// The logged quantity compared by `save_best_only`.
    monitor,
    /// `"auto"`, `"min"` or `"max"`.
    mode,
    /// The value the first saved model must beat (Keras `initial_value_threshold`).
    initial_value_threshold,
    /// The best monitored value so far.
    best,
});

impl Callback for ModelCheckpoint {
    fn set_params(&mut self, params: &CallbackParams) {
        self.params = Some(params.clone());
    }

    fn on_train_begin(&mut self, model: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        self.check(model)
    }

    fn on_epoch_begin(&mut self, epoch: usize, _m: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        self.current_epoch = epoch;
        Ok(())
    }

    fn on_train_batch_end(&mut self, batch: usize, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        if self.should_save_on_batch(batch) {
            let epoch = self.current_epoch;
            self.save_model(model, epoch, Some(batch), logs)?;
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        self.monitor.set_monitor_op(model)?;
        if self.save_freq == SaveFreq::Epoch {
            self.save_model(model, epoch, None, logs)?;
        }
        Ok(())
    }
}
