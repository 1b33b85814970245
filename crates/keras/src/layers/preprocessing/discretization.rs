//! `Discretization`: buckets of a float input by boundaries (given, or learned by `adapt`
//! with Keras's approximate quantile summary, reproduced step for step).

use serde_json::{json, Value};

use crate::layers::layer::{configured, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::preprocessing::encoding::{encode, encoded_shape, Mode, ModeSet, OutputMode};
use crate::layers::reshaping::args::layer_common;
use crate::utils::config_args::config_args;
use crate::{keras_bail, Result, Tensor};

/// Keras `keras.layers.Discretization`: each value becomes the index of its bucket
/// (`i` where `boundaries[i - 1] <= x < boundaries[i]`), as int32 ids or encoded
/// (`one_hot`, `multi_hot`, `count`) over `len(boundaries) + 1` buckets. With `num_bins`
/// the boundaries are learned by [`adapt`](Self::adapt) as Keras learns them (a weighted
/// quantile summary compressed to `epsilon`, then to `num_bins`).
///
/// ```
/// use keras::layers::{CallContext, Discretization, Layer};
/// use keras::Tensor;
/// let d = Discretization::with_boundaries(&[0.0, 1.5]);
/// let y = d.call(&Tensor::new(vec![-1.0, 0.0, 1.5, 2.0], [1, 4]).unwrap(), &mut CallContext::new(false)).unwrap();
/// assert_eq!(y.to_i64_vec(), vec![0, 1, 2, 2]);
/// let mut learned = Discretization::with_num_bins(2);
/// learned.adapt(&[1.0, 2.0, 3.0, 4.0]).unwrap();
/// assert_eq!(learned.bin_boundaries().unwrap().len(), 1);
/// ```
pub struct Discretization {
    base: LayerBase,
    args: DiscretizationArgs,
    /// The quantile summary `[values, weights]` (adapt state).
    summary: [Vec<f32>; 2],
}

impl ModeSet for Discretization {
    const ALLOWED: &'static [OutputMode] =
        &[OutputMode::Int, OutputMode::OneHot, OutputMode::MultiHot, OutputMode::Count];
    fn unknown(_class: &str, mode: &str) -> String {
        format!(
            "Unknown value for `output_mode` argument of Discretization. Allowed values are: ('int', 'one_hot', 'multi_hot', 'count'). Received: output_mode={mode}"
        )
    }
}

config_args! {
    /// Discretization's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct DiscretizationArgs in Discretization.args, family LayerArgs {
        /// The bucket boundaries: given, or learned by `adapt` (an adapted layer's config
        /// holds them beside `num_bins`).
        bin_boundaries: Option<Vec<f64>> = None,
        num_bins: Option<usize> = None,
        /// The error of the approximate quantiles (default 0.01).
        epsilon: f64 = 0.01; builder epsilon(value: f64),
        output_mode: Mode<Discretization> = Mode::new(OutputMode::Int),
        /// Always false (keras-rs has no sparse tensors; checked by `from_config`).
        sparse: bool = false,
    }
}

impl Discretization {
    fn empty() -> Self {
        Discretization {
            base: LayerBase::new("discretization"),
            args: DiscretizationArgs::defaults(),
            summary: [Vec::new(), Vec::new()],
        }
    }

    /// Buckets split at `bin_boundaries` (sorted).
    pub fn with_boundaries(bin_boundaries: &[f64]) -> Self {
        let mut d = Self::empty();
        d.args.bin_boundaries = Some(bin_boundaries.to_vec());
        d
    }

    /// `num_bins` buckets whose boundaries [`adapt`](Self::adapt) learns.
    pub fn with_num_bins(num_bins: usize) -> Self {
        let mut d = Self::empty();
        d.args.num_bins = Some(num_bins);
        d
    }

    /// `"int"` (default), `"one_hot"`, `"multi_hot"` or `"count"`.
    pub fn output_mode(mut self, mode: &str) -> Self {
        self.base.accept(&mut self.args.output_mode, Mode::parse("Discretization", mode));
        self
    }

    crate::layers::builders::base_builders!();

    /// The bucket boundaries (None before `adapt` when built with `num_bins`).
    pub fn bin_boundaries(&self) -> Option<&[f64]> {
        self.args.bin_boundaries.as_deref()
    }

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        // Keras's message for a negative `num_bins`.
        if let Some(v) = cfg.get("num_bins").filter(|v| !v.is_null() && v.as_i64().is_none_or(|n| n < 0)) {
            keras_bail!(Config, "`num_bins` must be greater than or equal to 0. Received: `num_bins={v}`");
        }
        let args = DiscretizationArgs::read_args(&mut LayerCfg::new(cfg, "Discretization"))?;
        // An adapted layer's config holds both (Keras's from_config accepts that).
        if args.num_bins.is_none() && args.bin_boundaries.is_none() {
            keras_bail!(Config, "You need to set either `num_bins` or `bin_boundaries`.");
        }
        if args.sparse {
            keras_bail!(Config, "Discretization: `sparse=True` is not supported by keras-rs");
        }
        let mut d = Self::empty();
        d.args = args;
        configured(d, cfg)
    }

    fn check_args(&self) -> Result<()> {
        crate::layers::layer::check_pending(self)?;
        if self.args.num_bins.is_none() && self.args.bin_boundaries.is_none() {
            keras_bail!(InvalidArgument, "You need to set either `num_bins` or `bin_boundaries`.");
        }
        // 1 / epsilon quantiles are computed: refuse sizes no summary needs.
        if !(self.args.epsilon >= 1e-7 && self.args.epsilon.is_finite()) {
            keras_bail!(
                InvalidArgument,
                "`epsilon` must be a number in [1e-7, inf). Received: epsilon={}",
                self.args.epsilon
            );
        }
        Ok(())
    }

    /// Learns `num_bins` bucket boundaries from `data` (Keras `adapt` on one batch).
    pub fn adapt(&mut self, data: &[f32]) -> Result<()> {
        self.check_args()?;
        if self.args.num_bins.is_none() {
            keras_bail!(
                InvalidArgument,
                "Cannot adapt a Discretization layer that has been initialized with `bin_boundaries`, use `num_bins` instead."
            );
        }
        self.reset_state();
        self.update_state(data)?;
        self.finalize_state()
    }

    /// Clears the summary (Keras `reset_state`).
    pub fn reset_state(&mut self) {
        if self.args.num_bins.is_some() {
            self.summary = [Vec::new(), Vec::new()];
        }
    }

    /// Merges one batch into the summary (Keras `update_state`).
    pub fn update_state(&mut self, data: &[f32]) -> Result<()> {
        self.check_args()?;
        if data.iter().any(|v| v.is_nan()) {
            keras_bail!(InvalidArgument, "Discretization.adapt: the data contains NaN");
        }
        let batch = summarize(data, self.args.epsilon);
        let mut merged = [batch[0].clone(), batch[1].clone()];
        merged[0].extend_from_slice(&self.summary[0]);
        merged[1].extend_from_slice(&self.summary[1]);
        let mut order: Vec<usize> = (0..merged[0].len()).collect();
        order.sort_by(|&a, &b| merged[0][a].total_cmp(&merged[0][b]));
        let sorted =
            [order.iter().map(|&i| merged[0][i]).collect(), order.iter().map(|&i| merged[1][i]).collect()];
        self.summary = compress_summary(sorted, self.args.epsilon);
        Ok(())
    }

    /// Sets the boundaries from the summary (Keras `finalize_state`).
    pub fn finalize_state(&mut self) -> Result<()> {
        let Some(n) = self.args.num_bins else { return Ok(()) };
        if n == 0 {
            keras_bail!(
                InvalidArgument,
                "Discretization: `num_bins` must be positive to adapt. Received: num_bins=0"
            );
        }
        let s = compress_summary(self.summary.clone(), 1.0 / n as f64);
        let keep = s[0].len().saturating_sub(1);
        self.args.bin_boundaries = Some(s[0][..keep].iter().map(|&v| v as f64).collect());
        Ok(())
    }

    fn depth(&self) -> usize {
        self.args.bin_boundaries.as_ref().map_or(self.args.num_bins.unwrap_or(0), |b| b.len() + 1)
    }
}

/// Keras `summarize`: every `step`-th sorted value with weight `step`.
fn summarize(values: &[f32], epsilon: f64) -> [Vec<f32>; 2] {
    let mut v = values.to_vec();
    v.sort_by(f32::total_cmp);
    let increment = v.len() as f64 / (1.0 / epsilon);
    let step = increment.max(1.0);
    let (start, stride) = ((step - 1.0) as usize, (step as usize).max(1));
    let bounds: Vec<f32> = v.iter().skip(start).step_by(stride).copied().collect();
    let weights = vec![step as f32; bounds.len()];
    [bounds, weights]
}

/// NumPy's `interp` (float64, linear between the nearest known points, clamped at the ends).
fn interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    let n = xp.len();
    if x < xp[0] {
        return fp[0];
    }
    if x >= xp[n - 1] {
        return fp[n - 1];
    }
    // The last j with xp[j] <= x.
    let j = xp.partition_point(|&v| v <= x) - 1;
    let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    slope * (x - xp[j]) + fp[j]
}

/// Keras `compress_summary`: the summary re-sampled at the quantiles `epsilon, 2 epsilon, ..`.
fn compress_summary(summary: [Vec<f32>; 2], epsilon: f64) -> [Vec<f32>; 2] {
    let m = summary[0].len();
    if (m as f64) * epsilon < 1.0 || m == 0 {
        return summary;
    }
    // np.arange(0.0, 1.0, epsilon): ceil(1 / epsilon) points.
    let count = (1.0 / epsilon).ceil() as usize;
    let percents: Vec<f64> = (0..count).map(|i| epsilon + i as f64 * epsilon).collect();
    let mut cum = Vec::with_capacity(m);
    let mut acc = 0f32;
    for &w in &summary[1] {
        acc += w;
        cum.push(acc);
    }
    let total = cum[m - 1];
    let cwp: Vec<f64> = cum.iter().map(|&c| (c / total) as f64).collect();
    let values: Vec<f64> = summary[0].iter().map(|&v| v as f64).collect();
    let cum64: Vec<f64> = cum.iter().map(|&c| c as f64).collect();
    let bins: Vec<f32> = percents.iter().map(|&p| interp(p, &cwp, &values) as f32).collect();
    let cw: Vec<f64> = percents.iter().map(|&p| interp(p, &cwp, &cum64)).collect();
    let weights: Vec<f32> =
        (0..cw.len()).map(|i| (cw[i] - if i == 0 { 0.0 } else { cw[i - 1] }) as f32).collect();
    [bins, weights]
}

impl Layer for Discretization {
    // Keras builds it at `__init__`: no build_config in a saved model.
    layer_common!("Discretization", false);

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        Ok(encoded_shape(s, self.args.output_mode.get(), Some(self.depth()), Some(1), |d| d == Some(1)))
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        self.check_args()?;
        let Some(bounds) = &self.args.bin_boundaries else {
            keras_bail!(
                Value,
                "You need to either pass the `bin_boundaries` argument at construction time or call `adapt(dataset)` before you can start using the `Discretization` layer."
            );
        };
        let b32: Vec<f32> = bounds.iter().map(|&b| b as f32).collect();
        let ids: Vec<i64> = x
            .cast(keras_engine::DType::F32)
            .to_f32_vec()
            .iter()
            .map(|&v| b32.partition_point(|&b| b <= v) as i64)
            .collect();
        if self.args.output_mode.get() == OutputMode::Int {
            return Ok(Tensor::from_i32(ids.iter().map(|&i| i as i32).collect(), x.shape().to_vec())?);
        }
        let shape = if x.rank() == 0 { vec![1] } else { x.shape().to_vec() };
        encode(&ids, &shape, self.args.output_mode.get(), bounds.len() + 1, None, None, &self.base.name)
    }

    fn get_config(&self) -> Value {
        // Keras's own get_config: no `trainable`, the dtype as a name.
        let mut m = serde_json::Map::new();
        self.args.write_args(&mut m);
        m.insert("name".into(), json!(self.base.name));
        m.insert("dtype".into(), json!("float32"));
        Value::Object(m)
    }
}
