//! `Normalization`: `(x - mean) / sqrt(variance)` per feature, with statistics given or
//! learned by `adapt`.

use keras_engine::{ops, DType};
use serde_json::{json, Value};

use crate::layers::layer::{CallContext, Layer, LayerBase, Variable};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::utils::config_args::{config_args, ConfigArg};
use crate::{keras_bail, Error, Result, Tensor};

/// Keras's `backend.epsilon()`, the floor of the standard deviation.
const EPSILON: f32 = 1e-7;

/// Keras `keras.layers.Normalization`: shifts and scales inputs into a distribution centred
/// around 0 with standard deviation 1, per index of the kept `axis` (default the last axis).
/// Statistics are given (`mean`, `variance`) or computed by [`Normalization::adapt`]; with
/// `invert` the layer maps normalized values back. Same in training and inference.
///
/// ```
/// use keras::layers::{CallContext, Layer, Normalization};
/// let data = keras::Tensor::new(vec![1.0, 10.0, 3.0, 30.0], [2, 2]).unwrap();
/// let mut norm = Normalization::new();
/// norm.adapt(&data).unwrap();
/// let y = norm.call(&data, &mut CallContext::new(false)).unwrap();
/// assert_eq!(y.to_f32_vec(), vec![-1.0, -1.0, 1.0, 1.0]);
/// ```
pub struct Normalization {
    base: LayerBase,
    args: NormalizationArgs,
    /// `mean`, `variance`, `count` when the statistics are adapted.
    weights: Vec<Variable>,
}

config_args! {
    /// Normalization's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct NormalizationArgs in Normalization.args, family LayerArgs {
        axis: Axes = Axes(vec![-1]),
        /// Maps normalized values back to the original distribution.
        invert: bool = false; builder invert(invert: bool),
        /// Given statistics (a number or nested lists), `null` when adapted.
        mean: Option<Value> = None,
        /// Given statistics (a number or nested lists), `null` when adapted.
        variance: Option<Value> = None,
    }
}

/// `axis`: the kept axes, an integer or a list of integers (`null`: none, one scalar
/// statistic); written as a list.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Axes(pub(crate) Vec<i64>);

impl ConfigArg<LayerArgs> for Axes {
    fn to_config(&self) -> Value {
        json!(self.0)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        let bad = |v: &Value| Error::Config(format!("{} {key} must be integers, got {v}", src.class));
        match src.cfg.get(key) {
            None => Ok(default.unwrap_or(Axes(Vec::new()))),
            Some(Value::Null) => Ok(Axes(Vec::new())),
            Some(Value::Number(n)) => Ok(Axes(vec![n.as_i64().unwrap_or(-1)])),
            Some(Value::Array(a)) => {
                a.iter().map(|v| v.as_i64().ok_or_else(|| bad(v))).collect::<Result<_>>().map(Axes)
            }
            Some(other) => Err(bad(other)),
        }
    }
}

fn flat_numbers(v: &Value, out: &mut Vec<f32>) -> Result<()> {
    match v {
        Value::Number(n) => out.push(n.as_f64().unwrap_or(f64::NAN) as f32),
        Value::Array(a) => {
            for x in a {
                flat_numbers(x, out)?;
            }
        }
        other => keras_bail!(Config, "Normalization: mean/variance must be numbers, got {other}"),
    }
    Ok(())
}

impl Default for Normalization {
    fn default() -> Self {
        Self::new()
    }
}

impl Normalization {
    /// Normalization over the last axis, statistics to be adapted.
    pub fn new() -> Self {
        Normalization {
            base: LayerBase::new("normalization"),
            args: NormalizationArgs::defaults(),
            weights: Vec::new(),
        }
    }

    /// The kept axes (one statistic per index of these axes); empty = one scalar statistic.
    pub fn axis(mut self, axis: &[i64]) -> Self {
        self.args.axis = Axes(axis.to_vec());
        self
    }

    /// Fixed statistics: a scalar or one value per kept index (then `adapt` is not needed).
    pub fn mean_variance(mut self, mean: &[f32], variance: &[f32]) -> Self {
        if mean.len() != variance.len() || mean.is_empty() {
            self.base.fail(Error::InvalidArgument(format!(
                "When setting values directly, `mean` and `variance` must have the same shape. Received: \
                 mean shape ({},) and variance shape ({},)",
                mean.len(),
                variance.len()
            )));
        }
        let to = |v: &[f32]| if v.len() == 1 { json!(v[0]) } else { json!(v) };
        self.args.mean = Some(to(mean));
        self.args.variance = Some(to(variance));
        self
    }

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let mut l = Normalization::new();
        l.args = NormalizationArgs::read_args(&mut LayerCfg::new(cfg, "Normalization"))?;
        if l.args.mean.is_some() != l.args.variance.is_some() {
            keras_bail!(
                InvalidArgument,
                "When setting values directly, both `mean` and `variance` must be set. Received: mean={:?} and variance={:?}",
                l.args.mean,
                l.args.variance
            );
        }
        l.base.apply_config(cfg);
        Ok(l)
    }

    /// The kept axes as sorted non-negative indices for inputs of rank `ndim`.
    fn keep_axes(&self, ndim: usize) -> Result<Vec<usize>> {
        let mut keep = Vec::new();
        for &a in &self.args.axis.0 {
            if a < -(ndim as i64) || a >= ndim as i64 {
                keras_bail!(
                    InvalidArgument,
                    "All `axis` values must be in the range [-ndim, ndim). Received inputs with ndim={ndim}, while axis={:?}",
                    self.args.axis.0
                );
            }
            keep.push(if a < 0 { (a + ndim as i64) as usize } else { a as usize });
        }
        keep.sort_unstable();
        keep.dedup();
        Ok(keep)
    }

    /// Shape of the statistics (the kept dims) and the broadcast shape.
    fn stat_shapes(&self, shape: &[usize]) -> Result<(Vec<usize>, Vec<usize>)> {
        let keep = self.keep_axes(shape.len())?;
        let stat: Vec<usize> = keep.iter().map(|&d| shape[d]).collect();
        let bshape = (0..shape.len()).map(|d| if keep.contains(&d) { shape[d] } else { 1 }).collect();
        Ok((stat, bshape))
    }

    /// Computes the mean and (biased) variance of `data` over every axis but the kept ones,
    /// as Keras's `adapt` on an array does, and stores them in the layer's weights.
    pub fn adapt(&mut self, data: &Tensor) -> Result<()> {
        self.adapt_batches(std::slice::from_ref(data))
    }

    /// `adapt` over several batches, merged with Keras's running mean/variance update.
    pub fn adapt_batches(&mut self, batches: &[Tensor]) -> Result<()> {
        let Some(first) = batches.first() else {
            keras_bail!(
                Value,
                "adapt() received an empty iterable (no batches). Expected at least one batch."
            );
        };
        if self.args.mean.is_some() {
            keras_bail!(
                State,
                "Normalization {}: cannot adapt a layer whose mean and variance were given",
                self.base.name
            );
        }
        let (stat, _) = self.stat_shapes(first.shape())?;
        let keep = self.keep_axes(first.rank())?;
        let k: usize = stat.iter().product();
        let mut total_mean = vec![0.0f64; k];
        let mut total_var = vec![0.0f64; k];
        let mut total_count = 0usize;
        for batch in batches {
            let shape = batch.shape();
            if shape.len() != first.rank() || keep.iter().any(|&d| shape[d] != first.shape()[d]) {
                keras_bail!(
                    Shape,
                    "adapt() yielded a batch with incompatible shape. Expected {:?}, got {shape:?}.",
                    first.shape()
                );
            }
            let count = batch.numel().checked_div(k).unwrap_or(0);
            if count == 0 {
                continue;
            }
            let vals = batch.to_f32_vec();
            let (mut sum, mut sq) = (vec![0.0f64; k], vec![0.0f64; k]);
            let idx = stat_index(shape, &keep);
            for (i, &v) in vals.iter().enumerate() {
                let j = idx(i);
                sum[j] += v as f64;
            }
            let mean: Vec<f64> = sum.iter().map(|s| s / count as f64).collect();
            for (i, &v) in vals.iter().enumerate() {
                let j = idx(i);
                sq[j] += (v as f64 - mean[j]).powi(2);
            }
            let var: Vec<f64> = sq.iter().map(|s| s / count as f64).collect();
            total_count += count;
            let bw = count as f64 / total_count as f64;
            let ew = 1.0 - bw;
            for j in 0..k {
                let new_mean = total_mean[j] * ew + mean[j] * bw;
                total_var[j] = (total_var[j] + (total_mean[j] - new_mean).powi(2)) * ew
                    + (var[j] + (mean[j] - new_mean).powi(2)) * bw;
                total_mean[j] = new_mean;
            }
        }
        let to_t = |v: &[f64]| Tensor::new(v.iter().map(|&x| x as f32).collect(), stat.clone());
        let name = self.base.name.clone();
        self.weights = vec![
            Variable::new("mean", &name, to_t(&total_mean)?, false),
            Variable::new("variance", &name, to_t(&total_var)?, false),
            Variable::new(
                "count",
                &name,
                Tensor::from_i64(vec![total_count as i64], Vec::<usize>::new())?,
                false,
            ),
        ];
        let mut bshape = vec![None; first.rank()];
        for (d, s) in first.shape().iter().enumerate() {
            bshape[d] = Some(*s);
        }
        bshape[0] = None;
        self.base.build_input_shape = Some(bshape);
        self.base.built = true;
        Ok(())
    }

    /// The adapted `(mean, variance)`, when `adapt` ran (or weights were loaded).
    pub fn adapted_statistics(&self) -> Option<(Tensor, Tensor)> {
        match self.weights.as_slice() {
            [m, v, ..] => Some((m.value().clone(), v.value().clone())),
            _ => None,
        }
    }

    /// Mean and variance as tensors of the broadcast shape for inputs of `shape`.
    fn broadcast_stats(&self, shape: &[usize]) -> Result<(Tensor, Tensor)> {
        let (stat, bshape) = self.stat_shapes(shape)?;
        let k: usize = stat.iter().product();
        let (mean, var) = match (&self.args.mean, &self.args.variance) {
            (Some(m), Some(v)) => {
                let (mut mv, mut vv) = (Vec::new(), Vec::new());
                flat_numbers(m, &mut mv)?;
                flat_numbers(v, &mut vv)?;
                (mv, vv)
            }
            _ => match self.adapted_statistics() {
                Some((m, v)) => (m.to_f32_vec(), v.to_f32_vec()),
                None => keras_bail!(
                    State,
                    "Layer {}: call `adapt(data)` or give `mean` and `variance` before using it",
                    self.base.name
                ),
            },
        };
        let expand = |v: Vec<f32>, what: &str| -> Result<Vec<f32>> {
            if v.len() == k {
                Ok(v)
            } else if v.len() == 1 {
                Ok(vec![v[0]; k])
            } else {
                keras_bail!(
                    Shape,
                    "Layer {}: {} {what} values do not match the {k} kept features of inputs of shape {shape:?}",
                    self.base.name,
                    v.len()
                )
            }
        };
        Ok((
            Tensor::new(expand(mean, "mean")?, bshape.clone())?,
            Tensor::new(expand(var, "variance")?, bshape)?,
        ))
    }
}

/// Maps a flat element index of `shape` to its index among the kept axes' statistics.
fn stat_index(shape: &[usize], keep: &[usize]) -> impl Fn(usize) -> usize {
    let mut strides = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    let parts: Vec<(usize, usize, usize)> = {
        let mut kstride = 1usize;
        let mut p = Vec::new();
        for &d in keep.iter().rev() {
            p.push((strides[d], shape[d], kstride));
            kstride *= shape[d];
        }
        p
    };
    move |i| parts.iter().map(|&(s, n, ks)| (i / s) % n * ks).sum()
}

impl Layer for Normalization {
    crate::layers::reshaping::args::layer_common!("Normalization", true, same_shape);
    fn build(&mut self, input_shape: &[Option<usize>]) -> Result<()> {
        // A builder error also stops a direct build (not only `Sequential::add`).
        crate::layers::layer::check_pending(self)?;
        let keep = self.keep_axes(input_shape.len())?;
        let mut stat = Vec::new();
        for &d in &keep {
            match input_shape[d] {
                Some(s) => stat.push(s),
                None => keras_bail!(
                    Shape,
                    "All `axis` values to be kept must have a known shape. Received axis={:?}, inputs.shape={input_shape:?}",
                    self.args.axis.0
                ),
            }
        }
        if self.args.mean.is_none() && self.weights.is_empty() {
            let name = self.base.name.clone();
            self.weights = vec![
                Variable::new("mean", &name, Tensor::zeros(stat.clone()), false),
                Variable::new("variance", &name, Tensor::ones(stat), false),
                Variable::new("count", &name, Tensor::from_i64(vec![0], Vec::<usize>::new())?, false),
            ];
        }
        self.base.build_input_shape = Some(input_shape.to_vec());
        self.base.built = true;
        Ok(())
    }
    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let x = if x.dtype() == DType::F32 { x.clone() } else { x.cast(DType::F32) };
        let (mean, var) = self.broadcast_stats(x.shape())?;
        let std: Vec<f32> = var.to_f32_vec().iter().map(|v| v.sqrt().max(EPSILON)).collect();
        let std = Tensor::new(std, var.shape().to_vec())?;
        if self.args.invert {
            Ok(ops::add(&mean, &ops::mul(&x, &std)?)?)
        } else {
            Ok(ops::div(&ops::sub(&x, &mean)?, &std)?)
        }
    }
    crate::sublayers!(; weights);
    crate::layers::reshaping::args::layer_common!(@args_config);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_statistics_invert_and_errors() {
        let x = Tensor::new(vec![2.0, 4.0, 6.0, 8.0], [2, 2]).unwrap();
        let n = Normalization::new().mean_variance(&[2.0, 4.0], &[4.0, 16.0]);
        let y = n.call(&x, &mut CallContext::new(false)).unwrap();
        assert_eq!(y.to_f32_vec(), vec![0.0, 0.0, 2.0, 1.0]);
        let inv = Normalization::new().mean_variance(&[2.0, 4.0], &[4.0, 16.0]).invert(true);
        let back = inv.call(&y, &mut CallContext::new(false)).unwrap();
        assert_eq!(back.to_f32_vec(), x.to_f32_vec());
        assert!(Normalization::new().call(&x, &mut CallContext::new(false)).is_err());
        assert!(Normalization::new().axis(&[3]).adapt(&x).is_err());
        assert!(Normalization::from_config(&json!({"mean": 1.0})).is_err());
        assert!(Normalization::new().adapt_batches(&[]).is_err());
    }

    #[test]
    fn batched_adapt_equals_whole_adapt() {
        let data: Vec<f32> = (0..24).map(|v| ((v * 13) % 7) as f32 * 0.5).collect();
        let x = Tensor::new(data, [6, 4]).unwrap();
        let mut whole = Normalization::new();
        whole.adapt(&x).unwrap();
        let mut parts = Normalization::new();
        parts.adapt_batches(&[x.slice_rows(0, 2).unwrap(), x.slice_rows(2, 6).unwrap()]).unwrap();
        let (m1, v1) = whole.adapted_statistics().unwrap();
        let (m2, v2) = parts.adapted_statistics().unwrap();
        for (a, b) in
            m1.to_f32_vec().iter().zip(m2.to_f32_vec()).chain(v1.to_f32_vec().iter().zip(v2.to_f32_vec()))
        {
            assert!((a - b).abs() < 1e-5);
        }
        assert_eq!(whole.get_weights().len(), 3);
    }

    /// `axis` as Keras reads it: missing is the default `-1`, `null` no kept axis, an integer
    /// one axis; the config writes a list.
    #[test]
    fn axis_config_forms() {
        let axis = |cfg: Value| Normalization::from_config(&cfg).map(|l| l.get_config()["axis"].clone());
        assert_eq!(axis(json!({})).unwrap(), json!([-1]));
        assert_eq!(axis(json!({"axis": null})).unwrap(), json!([]));
        assert_eq!(axis(json!({"axis": 1})).unwrap(), json!([1]));
        assert_eq!(axis(json!({"axis": [1, 2]})).unwrap(), json!([1, 2]));
        let e = axis(json!({"axis": [1, "a"]})).unwrap_err().to_string();
        assert!(e.contains("Normalization axis must be integers, got \"a\""), "{e}");
        let e = Normalization::from_config(&json!({"mean": 1.0})).err().unwrap().to_string();
        assert!(e.contains("both `mean` and `variance` must be set"), "{e}");
    }
}
