//! `TensorBoard` (Keras `keras.callbacks.TensorBoard`) and the event-file format it writes,
//! without TensorFlow: TFRecord framing (length, masked CRC32C of the length, data, masked
//! CRC32C of the data) around hand-encoded `Event` protocol buffers, with scalars written as
//! TF 2 does (`tf.summary.scalar`: a float32 tensor summary of plugin `scalars`) and weight
//! histograms as `tf.summary.histogram` (a `[30, 3]` float64 tensor of plugin `histograms`).

use crate::setters::setters;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use web_time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::{Callback, CallbackModel};
use crate::trainers::Logs;
use crate::{keras_bail, Error, Result, Tensor};

// ---------------------------------------------------------------------------------------
// Format

/// CRC32C (Castagnoli), as TFRecord uses.
pub fn crc32c(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0x82F6_3B78 ^ (c >> 1) } else { c >> 1 };
            }
            *e = c;
        }
        t
    });
    let mut crc = !0u32;
    for &b in data {
        crc = table[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// TFRecord's masked CRC: `((crc >> 15) | (crc << 17)) + 0xa282ead8`.
pub fn masked_crc32c(data: &[u8]) -> u32 {
    let c = crc32c(data);
    c.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// One TFRecord: `u64 length, u32 masked_crc(length), data, u32 masked_crc(data)`, little endian.
pub fn tfrecord(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
    out
}

/// The protocol-buffer wire format, written by hand: enough for TensorBoard's `Event`,
/// `Summary` and plugin messages (also used by `keras-tuner`'s hyperparameter plugin data).
pub mod protobuf {
    /// Appends `v` as a base-128 varint.
    pub fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    /// Appends the key of field number `field` with wire type `wire` (0 varint, 1 64-bit,
    /// 2 length-delimited).
    pub fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
        varint(out, ((field as u64) << 3) | wire as u64);
    }

    /// Appends a length-delimited field (bytes, a string or an embedded message).
    pub fn bytes_field(out: &mut Vec<u8>, field: u32, data: &[u8]) {
        key(out, field, 2);
        varint(out, data.len() as u64);
        out.extend_from_slice(data);
    }

    /// Appends a `double` field.
    pub fn double_field(out: &mut Vec<u8>, field: u32, v: f64) {
        key(out, field, 1);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

use protobuf::{bytes_field, double_field, key, varint};

/// A summary tensor: a float32 scalar, a float64 matrix, or a string scalar.
#[derive(Clone, Debug, PartialEq)]
pub enum SummaryTensor {
    /// `DT_FLOAT`, shape `[]` (scalars).
    Scalar(f32),
    /// `DT_DOUBLE`, shape `[rows, cols]` (histograms).
    Matrix {
        /// Row-major values.
        values: Vec<f64>,
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
    },
    /// `DT_STRING`, shape `[]` (the model config).
    Text(String),
    /// `DT_FLOAT`, shape `[0]`: the placeholder tensor of metadata-only summaries
    /// (TensorBoard's `NULL_TENSOR`, used by the HParams plugin).
    Empty,
}

/// One `Summary.Value`: a tag, a tensor and the plugin that reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryValue {
    /// The tag (`epoch_loss`).
    pub tag: String,
    /// The value.
    pub tensor: SummaryTensor,
    /// `SummaryMetadata.plugin_data.plugin_name` (`scalars`, `histograms`).
    pub plugin_name: String,
    /// `SummaryMetadata.plugin_data.content`.
    pub plugin_content: Vec<u8>,
}

impl SummaryValue {
    /// A scalar as `tf.summary.scalar` writes it.
    pub fn scalar(tag: &str, v: f32) -> Self {
        SummaryValue {
            tag: tag.into(),
            tensor: SummaryTensor::Scalar(v),
            plugin_name: "scalars".into(),
            plugin_content: Vec::new(),
        }
    }

    /// A histogram of `data` as `tf.summary.histogram` writes it (30 buckets).
    pub fn histogram(tag: &str, data: &[f32]) -> Self {
        let buckets = histogram_buckets(data, 30);
        SummaryValue {
            tag: tag.into(),
            tensor: SummaryTensor::Matrix { rows: buckets.len() / 3, cols: 3, values: buckets },
            plugin_name: "histograms".into(),
            plugin_content: Vec::new(),
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut tensor = Vec::new();
        match &self.tensor {
            SummaryTensor::Scalar(v) => {
                key(&mut tensor, 1, 0);
                varint(&mut tensor, 1); // DT_FLOAT
                bytes_field(&mut tensor, 2, &[]);
                bytes_field(&mut tensor, 4, &v.to_le_bytes());
            }
            SummaryTensor::Matrix { values, rows, cols } => {
                key(&mut tensor, 1, 0);
                varint(&mut tensor, 2); // DT_DOUBLE
                let mut shape = Vec::new();
                for d in [*rows, *cols] {
                    let mut dim = Vec::new();
                    key(&mut dim, 1, 0);
                    varint(&mut dim, d as u64);
                    bytes_field(&mut shape, 2, &dim);
                }
                bytes_field(&mut tensor, 2, &shape);
                let content: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                bytes_field(&mut tensor, 4, &content);
            }
            SummaryTensor::Text(s) => {
                key(&mut tensor, 1, 0);
                varint(&mut tensor, 7); // DT_STRING
                bytes_field(&mut tensor, 2, &[]);
                bytes_field(&mut tensor, 8, s.as_bytes());
            }
            SummaryTensor::Empty => {
                key(&mut tensor, 1, 0);
                varint(&mut tensor, 1); // DT_FLOAT
                let mut shape = Vec::new();
                bytes_field(&mut shape, 2, &[]); // one dim of size 0
                bytes_field(&mut tensor, 2, &shape);
            }
        }
        let mut plugin = Vec::new();
        bytes_field(&mut plugin, 1, self.plugin_name.as_bytes());
        if !self.plugin_content.is_empty() {
            bytes_field(&mut plugin, 2, &self.plugin_content);
        }
        let mut metadata = Vec::new();
        bytes_field(&mut metadata, 1, &plugin);
        let mut value = Vec::new();
        bytes_field(&mut value, 1, self.tag.as_bytes());
        bytes_field(&mut value, 8, &tensor);
        bytes_field(&mut value, 9, &metadata);
        value
    }
}

/// An `Event` protocol buffer: the file header (`file_version`) or a summary.
pub fn encode_event(
    wall_time: f64,
    step: i64,
    file_version: Option<&str>,
    values: &[SummaryValue],
) -> Vec<u8> {
    let mut out = Vec::new();
    double_field(&mut out, 1, wall_time);
    if step != 0 {
        key(&mut out, 2, 0);
        varint(&mut out, step as u64);
    }
    if let Some(v) = file_version {
        bytes_field(&mut out, 3, v.as_bytes());
        let mut source = Vec::new();
        bytes_field(&mut source, 1, b"tensorflow.core.util.events_writer");
        bytes_field(&mut out, 10, &source);
    }
    if !values.is_empty() {
        let mut summary = Vec::new();
        for v in values {
            bytes_field(&mut summary, 1, &v.encode());
        }
        bytes_field(&mut out, 5, &summary);
    }
    out
}

/// `tensorboard.plugins.histogram.summary_v2._buckets`: `bucket_count` rows of
/// `[left_edge, right_edge, count]`, computed in float64.
pub fn histogram_buckets(data: &[f32], bucket_count: usize) -> Vec<f64> {
    if data.is_empty() || bucket_count == 0 {
        return vec![0.0; bucket_count * 3];
    }
    let d: Vec<f64> = data.iter().map(|&v| v as f64).collect();
    let min = d.iter().copied().fold(f64::INFINITY, f64::min);
    let max = d.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let range = max - min;
    let mut out = Vec::with_capacity(bucket_count * 3);
    if range == 0.0 {
        for i in 0..bucket_count {
            let count = if i + 1 == bucket_count { d.len() as f64 } else { 0.0 };
            out.extend_from_slice(&[max, max, count]);
        }
        return out;
    }
    let width = range / bucket_count as f64;
    let mut counts = vec![0.0f64; bucket_count];
    for &v in &d {
        let idx = ((v - min) / width).floor() as i64;
        counts[(idx.max(0) as usize).min(bucket_count - 1)] += 1.0;
    }
    // tf.linspace(min, max, n + 1) as TF computes it, with the last edge forced to max.
    let delta = range / bucket_count as f64;
    let edge = |i: usize| {
        if i == 0 {
            min
        } else if i == bucket_count {
            max
        } else {
            min + i as f64 * delta
        }
    };
    for (i, c) in counts.iter().enumerate() {
        out.extend_from_slice(&[edge(i), edge(i + 1), *c]);
    }
    out
}

static FILE_COUNTER: AtomicUsize = AtomicUsize::new(0);

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Writes one `events.out.tfevents.<time>.<host>.<pid>.<n>.v2` file, as TensorFlow's
/// `EventsWriter`.
pub struct EventFileWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl EventFileWriter {
    /// Creates the directory and a new event file in it, starting with the version record.
    pub fn new(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Io(format!("TensorBoard cannot create {}: {e}", dir.display())))?;
        let secs = now().floor();
        let n = FILE_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name =
            format!("events.out.tfevents.{}.{}.{}.{n}.v2", secs as u64, hostname(), std::process::id());
        let path = dir.join(name);
        let f = File::create(&path)
            .map_err(|e| Error::Io(format!("TensorBoard cannot create {}: {e}", path.display())))?;
        let mut w = EventFileWriter { path, out: BufWriter::new(f) };
        w.write_event(&encode_event(secs, 0, Some("brain.Event:2"), &[]))?;
        w.flush()?;
        Ok(w)
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one serialized `Event` as a TFRecord.
    pub fn write_event(&mut self, event: &[u8]) -> Result<()> {
        self.out
            .write_all(&tfrecord(event))
            .map_err(|e| Error::Io(format!("TensorBoard cannot write {}: {e}", self.path.display())))
    }

    /// Appends an event holding `values` at `step`, stamped now.
    pub fn write_summary(&mut self, step: i64, values: &[SummaryValue]) -> Result<()> {
        self.write_event(&encode_event(now(), step, None, values))
    }

    /// Flushes buffered records to the file.
    pub fn flush(&mut self) -> Result<()> {
        self.out
            .flush()
            .map_err(|e| Error::Io(format!("TensorBoard cannot write {}: {e}", self.path.display())))
    }
}

// ---------------------------------------------------------------------------------------
// Callback

/// How often `TensorBoard` writes batch-level scalars.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UpdateFreq {
    /// Only epoch-level scalars (Keras `"epoch"`).
    #[default]
    Epoch,
    /// `batch_<metric>` scalars every N training batches (Keras an integer; `"batch"` is 1).
    Batches(usize),
}

/// Writes TensorBoard logs: `log_dir/train` and `log_dir/validation` event files with the
/// epoch scalars (`epoch_loss`, `epoch_accuracy`, `epoch_learning_rate`, ...), the
/// `evaluation_<metric>_vs_iterations` scalars of each validation, batch scalars
/// (`batch_loss`, ... every `update_freq` batches), weight histograms every `histogram_freq`
/// epochs, and the model config (`write_graph`). Open them with `tensorboard --logdir DIR`.
///
/// Not supported: `write_images`, `profile_batch`, `embeddings_freq` (Keras 3 needs
/// TensorFlow's profiler and projector for those).
///
/// ```no_run
/// use keras::callbacks::tensorboard::{TensorBoard, UpdateFreq};
/// let mut tb = TensorBoard::new("logs").histogram_freq(1).update_freq(UpdateFreq::Batches(10));
/// # let _ = &mut tb;
/// ```
pub struct TensorBoard {
    /// The log directory.
    pub log_dir: PathBuf,
    /// Epochs between weight histograms (0: none).
    pub histogram_freq: usize,
    /// Write the model config (the "keras" tag the Graphs dashboard shows).
    pub write_graph: bool,
    /// Log `steps_per_second` each epoch and `batch_steps_per_second` per logged batch.
    pub write_steps_per_second: bool,
    /// Epoch or batch-level logging.
    pub update_freq: UpdateFreq,
    train: Option<EventFileWriter>,
    val: Option<EventFileWriter>,
    global_train_batch: usize,
    global_test_batch: usize,
    epoch_start: Option<(Instant, u64)>,
    batch_start: Option<Instant>,
}

impl TensorBoard {
    /// Logs into `log_dir` (Keras's default is `"logs"`).
    pub fn new(log_dir: impl Into<PathBuf>) -> Self {
        TensorBoard {
            log_dir: log_dir.into(),
            histogram_freq: 0,
            write_graph: true,
            write_steps_per_second: false,
            update_freq: UpdateFreq::Epoch,
            train: None,
            val: None,
            global_train_batch: 0,
            global_test_batch: 0,
            epoch_start: None,
            batch_start: None,
        }
    }
    setters! {
        /// Epochs between weight histograms.
        histogram_freq: usize,
        /// Write the model config.
        write_graph: bool,
        /// Log training speed.
        write_steps_per_second: bool,
        /// Epoch or every-N-batches logging.
        update_freq: UpdateFreq,
    }

    fn train_writer(&mut self) -> Result<&mut EventFileWriter> {
        if self.train.is_none() {
            self.train = Some(EventFileWriter::new(&self.log_dir.join("train"))?);
        }
        Ok(self.train.as_mut().expect("just set"))
    }

    fn val_writer(&mut self) -> Result<&mut EventFileWriter> {
        if self.val.is_none() {
            self.val = Some(EventFileWriter::new(&self.log_dir.join("validation"))?);
        }
        Ok(self.val.as_mut().expect("just set"))
    }

    /// Keras records batch-level summaries only when the step is a multiple of update_freq.
    fn records(&self, step: usize) -> bool {
        match self.update_freq {
            UpdateFreq::Epoch => true,
            UpdateFreq::Batches(n) => step.is_multiple_of(n),
        }
    }

    fn iterations(model: &CallbackModel) -> u64 {
        model.optimizer().map_or(0, |o| o.iterations())
    }
}

impl Callback for TensorBoard {
    fn on_train_begin(&mut self, model: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        if self.update_freq == UpdateFreq::Batches(0) {
            keras_bail!(
                InvalidArgument,
                "TensorBoard update_freq must be 'epoch' or a positive integer, received 0"
            );
        }
        self.global_train_batch = 0;
        if self.write_graph && model.model().as_any().is::<crate::models::Sequential>() {
            let cfg = json!({
                "module": "keras",
                "class_name": "Sequential",
                "config": model.get_config(),
                "registered_name": null,
            });
            let mut v = SummaryValue {
                tag: "keras".into(),
                tensor: SummaryTensor::Text(cfg.to_string()),
                plugin_name: "graph_keras_model".into(),
                plugin_content: b"1".to_vec(),
            };
            v.plugin_content = b"1".to_vec();
            let w = self.train_writer()?;
            w.write_summary(0, &[v])?;
            w.flush()?;
        } else {
            // Fail early on an unwritable log_dir.
            self.train_writer()?;
        }
        Ok(())
    }

    fn on_train_end(&mut self, _m: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        for w in [self.train.as_mut(), self.val.as_mut()].into_iter().flatten() {
            w.flush()?;
        }
        self.train = None;
        self.val = None;
        Ok(())
    }

    fn on_test_end(&mut self, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        let Some(step) = model.optimizer().map(|o| o.iterations()) else { return Ok(()) };
        if !self.records(self.global_test_batch) {
            return Ok(());
        }
        let values: Vec<SummaryValue> = logs
            .iter()
            .map(|(k, v)| SummaryValue::scalar(&format!("evaluation_{k}_vs_iterations"), *v))
            .collect();
        let w = self.val_writer()?;
        for v in values {
            w.write_summary(step as i64, &[v])?;
        }
        Ok(())
    }

    fn on_train_batch_begin(
        &mut self,
        _batch: usize,
        _m: &mut CallbackModel,
        _logs: &mut Logs,
    ) -> Result<()> {
        self.global_train_batch += 1;
        if self.write_steps_per_second {
            self.batch_start = Some(Instant::now());
        }
        Ok(())
    }

    fn on_train_batch_end(&mut self, _batch: usize, _m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        // Batch scalars need the default writer Keras only installs for batch-level logging.
        if self.update_freq == UpdateFreq::Epoch || !self.records(self.global_train_batch) {
            return Ok(());
        }
        let step = self.global_train_batch as i64;
        let mut values = Vec::new();
        if let (true, Some(t)) = (self.write_steps_per_second, self.batch_start) {
            values.push(SummaryValue::scalar(
                "batch_steps_per_second",
                (1.0 / t.elapsed().as_secs_f64()) as f32,
            ));
        }
        values.extend(logs.iter().map(|(k, v)| SummaryValue::scalar(&format!("batch_{k}"), *v)));
        let w = self.train_writer()?;
        for v in values {
            w.write_summary(step, &[v])?;
        }
        Ok(())
    }

    fn on_test_batch_begin(&mut self, _batch: usize, _m: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        self.global_test_batch += 1;
        Ok(())
    }

    fn on_epoch_begin(&mut self, _epoch: usize, model: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        if self.write_steps_per_second {
            self.epoch_start = Some((Instant::now(), Self::iterations(model)));
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, model: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        if !logs.is_empty() {
            let mut train: Vec<(String, f32)> =
                logs.iter().filter(|(k, _)| !k.starts_with("val_")).map(|(k, v)| (k.clone(), *v)).collect();
            let val: Vec<(String, f32)> = logs
                .iter()
                .filter_map(|(k, v)| k.strip_prefix("val_").map(|n| (n.to_string(), *v)))
                .collect();
            if let Ok(lr) = model.learning_rate() {
                match train.iter_mut().find(|(k, _)| k == "learning_rate") {
                    Some(e) => e.1 = lr,
                    None => train.push(("learning_rate".into(), lr)),
                }
            }
            if let (true, Some((t, it))) = (self.write_steps_per_second, self.epoch_start) {
                let steps = Self::iterations(model).saturating_sub(it) as f64;
                train.push(("steps_per_second".into(), (steps / t.elapsed().as_secs_f64()) as f32));
            }
            let step = epoch as i64;
            if !train.is_empty() {
                let w = self.train_writer()?;
                for (k, v) in &train {
                    w.write_summary(step, &[SummaryValue::scalar(&format!("epoch_{k}"), *v)])?;
                }
            }
            if !val.is_empty() {
                let w = self.val_writer()?;
                for (k, v) in &val {
                    w.write_summary(step, &[SummaryValue::scalar(&format!("epoch_{k}"), *v)])?;
                }
            }
        }
        if self.histogram_freq > 0 && epoch.is_multiple_of(self.histogram_freq) {
            let prefix = model.name().to_string();
            let weights: Vec<(String, Tensor)> = model.named_weights();
            let w = self.train_writer()?;
            for (path, t) in weights {
                let data = t.to_f32_vec();
                let tag = format!("{prefix}/{}/histogram", path.replace(':', "_"));
                w.write_summary(epoch as i64, &[SummaryValue::histogram(&tag, &data)])?;
            }
        }
        for w in [self.train.as_mut(), self.val.as_mut()].into_iter().flatten() {
            w.flush()?;
        }
        Ok(())
    }
}
