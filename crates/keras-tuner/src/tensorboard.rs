//! TensorBoard's HParams plugin data for each trial, as keras-tuner writes it with
//! `hparams_api.KerasCallback`: when a search runs with a `TensorBoard` callback, each
//! execution of each trial logs to `<log_dir>/<trial_id>/execution<n>` and gets a
//! `_hparams_/session_start_info` summary (the trial's hyperparameter values, grouped by
//! trial id) at the start of training and a `_hparams_/session_end_info` at the end, so the
//! HPARAMS tab lists every trial with its values and metrics.
//!
//! The events go through keras-rs's TensorBoard event writer; the protocol buffers
//! (`HParamsPluginData`, `SessionStartInfo`, `SessionEndInfo`, `google.protobuf.Value`) are
//! encoded here by hand.

use std::path::PathBuf;

use keras::callbacks::tensorboard::protobuf::{bytes_field, double_field, key, varint};
use keras::callbacks::tensorboard::{EventFileWriter, SummaryTensor, SummaryValue};
use keras::callbacks::{Callback, CallbackModel};
use keras::Logs;

use crate::engine::hyperparameters::{HpValue, HyperParameters};
use crate::utils::now_secs;

/// `google.protobuf.Value` for one hyperparameter value.
fn value_pb(v: &HpValue) -> Vec<u8> {
    let mut out = Vec::new();
    match v {
        HpValue::Bool(b) => {
            key(&mut out, 4, 0);
            varint(&mut out, *b as u64);
        }
        HpValue::Int(i) => double_field(&mut out, 2, *i as f64),
        HpValue::Float(f) => double_field(&mut out, 2, *f),
        HpValue::Str(s) => bytes_field(&mut out, 3, s.as_bytes()),
    }
    out
}

/// `HParamsPluginData { session_start_info: { hparams, group_name, start_time_secs } }`,
/// hyperparameters sorted by name as `hparams_pb` writes them.
pub fn session_start_plugin_data(
    hparams: &[(String, HpValue)],
    group_name: &str,
    start_time_secs: f64,
) -> Vec<u8> {
    let mut sorted: Vec<&(String, HpValue)> = hparams.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut info = Vec::new();
    for (name, v) in sorted {
        let mut entry = Vec::new();
        bytes_field(&mut entry, 1, name.as_bytes());
        bytes_field(&mut entry, 2, &value_pb(v));
        bytes_field(&mut info, 1, &entry);
    }
    bytes_field(&mut info, 4, group_name.as_bytes());
    double_field(&mut info, 5, start_time_secs);
    let mut data = Vec::new();
    bytes_field(&mut data, 3, &info);
    data
}

/// `HParamsPluginData { session_end_info: { status, end_time_secs } }` (status 1: success).
pub fn session_end_plugin_data(status: u64, end_time_secs: f64) -> Vec<u8> {
    let mut info = Vec::new();
    key(&mut info, 1, 0);
    varint(&mut info, status);
    double_field(&mut info, 2, end_time_secs);
    let mut data = Vec::new();
    bytes_field(&mut data, 4, &info);
    data
}

fn hparams_summary(tag: &str, content: Vec<u8>) -> SummaryValue {
    SummaryValue {
        tag: tag.into(),
        tensor: SummaryTensor::Empty,
        plugin_name: "hparams".into(),
        plugin_content: content,
    }
}

/// keras-tuner `convert_hyperparams_to_hparams`: the active values of the space's
/// hyperparameters (not the tuner's own `tuner/...` values).
pub fn trial_hparams(hp: &HyperParameters) -> Vec<(String, HpValue)> {
    hp.space()
        .iter()
        .filter_map(|h| Some((h.name().to_string(), hp.values().get(h.name())?.clone())))
        .collect()
}

/// Writes the session start at the beginning of training and the session end at its end
/// (TensorBoard's `hparams_api.KerasCallback`).
pub struct HParamsCallback {
    log_dir: PathBuf,
    hparams: Vec<(String, HpValue)>,
    trial_id: String,
    writer: Option<EventFileWriter>,
}

impl HParamsCallback {
    /// Logs `hparams` for `trial_id` into `log_dir`.
    pub fn new(log_dir: PathBuf, hparams: Vec<(String, HpValue)>, trial_id: &str) -> Self {
        HParamsCallback { log_dir, hparams, trial_id: trial_id.to_string(), writer: None }
    }
}

impl Callback for HParamsCallback {
    fn on_train_begin(&mut self, _model: &mut CallbackModel, _logs: &mut Logs) -> keras::Result<()> {
        let mut w = EventFileWriter::new(&self.log_dir)?;
        let data = session_start_plugin_data(&self.hparams, &self.trial_id, now_secs());
        w.write_summary(0, &[hparams_summary("_hparams_/session_start_info", data)])?;
        w.flush()?;
        self.writer = Some(w);
        Ok(())
    }

    fn on_train_end(&mut self, _model: &mut CallbackModel, _logs: &mut Logs) -> keras::Result<()> {
        if let Some(mut w) = self.writer.take() {
            let data = session_end_plugin_data(1, now_secs());
            w.write_summary(0, &[hparams_summary("_hparams_/session_end_info", data)])?;
            w.flush()?;
        }
        Ok(())
    }
}
