//! `Reshape`, `Permute` and `RepeatVector`.

use keras_engine::ops;
use serde_json::Value;

use crate::layers::layer::configured;
use crate::layers::layer::{shape_str, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::reshaping::args::{base_with_positive, known, layer_common, ndim_error};
use crate::utils::config_args::config_args;
use crate::{keras_bail, Error, Result, Tensor};

/// Keras `keras.layers.Reshape`: reshapes every sample to `target_shape` (batch excluded);
/// one entry may be `-1`, inferred from the others.
///
/// ```
/// use keras::layers::Reshape;
/// let r = Reshape::new(&[3, -1]);
/// ```
pub struct Reshape {
    base: LayerBase,
    args: ReshapeArgs,
}

config_args! {
    /// Reshape's Keras arguments.
    pub(crate) struct ReshapeArgs, family LayerArgs {
        target_shape: Vec<i64>,
    }
}

impl Reshape {
    /// Reshape to `target_shape` (positive sizes and at most one `-1`).
    pub fn new(target_shape: &[i64]) -> Self {
        let mut base = LayerBase::new("reshape");
        let unknown = target_shape.iter().filter(|&&d| d == -1).count();
        if unknown > 1 || target_shape.iter().any(|&d| d == 0 || d < -1) {
            base.fail(Error::InvalidArgument(format!(
                "Layer reshape: `target_shape` must hold positive integers and at most one -1. Received: target_shape={target_shape:?}"
            )));
        }
        Reshape { base, args: ReshapeArgs { target_shape: target_shape.to_vec() } }
    }

    crate::layers::builders::base_builders!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = ReshapeArgs::read_args(&mut LayerCfg::new(cfg, "Reshape"))?;
        // The constructor's check is the config's check too.
        configured(Reshape::new(&args.target_shape), cfg)
    }

    /// The per-sample output shape for `count` input elements per sample (`None` unknown).
    fn resolve(&self, count: Option<usize>, input: &str) -> Result<Vec<Option<usize>>> {
        let fixed: usize = self.args.target_shape.iter().filter(|&&d| d > 0).map(|&d| d as usize).product();
        let has_unknown = self.args.target_shape.contains(&-1);
        let inferred = match count {
            None => None,
            Some(c) if has_unknown && fixed > 0 && c % fixed == 0 => Some(c / fixed),
            Some(c) if !has_unknown && c == fixed => None,
            Some(_) => keras_bail!(
                Shape,
                "Layer {}: the total size of the input ({input}) cannot be reshaped to target_shape={:?}",
                self.base.name,
                self.args.target_shape
            ),
        };
        Ok(self
            .args
            .target_shape
            .iter()
            .map(|&d| if d == -1 { inferred } else { Some(d as usize) })
            .collect())
    }
}

impl Layer for Reshape {
    layer_common!("Reshape", false, args_config);

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        if s.is_empty() {
            keras_bail!(
                Shape,
                "Layer {} expects inputs with a batch axis, received a scalar",
                self.base.name
            );
        }
        let count = s[1..].iter().try_fold(1usize, |a, d| d.map(|d| a * d));
        let mut out = vec![s[0]];
        out.extend(self.resolve(count, &shape_str(s))?);
        Ok(out)
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let shape = self.compute_output_shape(&known(x.shape()))?;
        let dims: Vec<usize> = shape.iter().map(|d| d.unwrap_or(0)).collect();
        Ok(x.reshape(dims)?)
    }
}

/// Keras `keras.layers.Permute`: permutes the non-batch axes; `dims` counts from 1
/// (`Permute::new(&[2, 1])` swaps the two axes of a sequence).
pub struct Permute {
    base: LayerBase,
    args: PermuteArgs,
}

config_args! {
    /// Permute's Keras arguments.
    pub(crate) struct PermuteArgs, family LayerArgs {
        dims: Vec<usize>,
    }
}

impl Permute {
    /// A permutation of `1..=dims.len()`.
    pub fn new(dims: &[usize]) -> Self {
        let mut base = LayerBase::new("permute");
        let mut sorted = dims.to_vec();
        sorted.sort_unstable();
        if sorted != (1..=dims.len()).collect::<Vec<_>>() {
            base.fail(Error::InvalidArgument(format!(
                "Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` must be consecutive and start from 1. Received dims={dims:?}"
            )));
        }
        Permute { base, args: PermuteArgs { dims: dims.to_vec() } }
    }

    crate::layers::builders::name_builder!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = PermuteArgs::read_args(&mut LayerCfg::new(cfg, "Permute"))?;
        // The constructor's check is the config's check too.
        configured(Permute::new(&args.dims), cfg)
    }
}

impl Layer for Permute {
    layer_common!("Permute", true, args_config);

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        if s.len() != self.args.dims.len() + 1 {
            return Err(ndim_error(&self.base.name, self.args.dims.len() + 1, s));
        }
        Ok(std::iter::once(s[0]).chain(self.args.dims.iter().map(|&d| s[d])).collect())
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        self.compute_output_shape(&known(x.shape()))?;
        let perm: Vec<usize> = std::iter::once(0).chain(self.args.dims.iter().copied()).collect();
        Ok(ops::transpose(x, &perm)?)
    }
}

/// Keras `keras.layers.RepeatVector`: `(batch, features)` to `(batch, n, features)`.
pub struct RepeatVector {
    base: LayerBase,
    args: RepeatVectorArgs,
}

config_args! {
    /// RepeatVector's Keras arguments.
    pub(crate) struct RepeatVectorArgs, family LayerArgs {
        n: usize,
    }
}

impl RepeatVector {
    /// Repeats the input `n` (> 0) times.
    pub fn new(n: usize) -> Self {
        RepeatVector { base: base_with_positive("repeat_vector", "n", n), args: RepeatVectorArgs { n } }
    }

    crate::layers::builders::name_builder!();

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = RepeatVectorArgs::read_args(&mut LayerCfg::new(cfg, "RepeatVector"))?;
        // The constructor's check is the config's check too.
        configured(RepeatVector::new(args.n), cfg)
    }
}

impl Layer for RepeatVector {
    layer_common!("RepeatVector", true, args_config);

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        if s.len() != 2 {
            return Err(ndim_error(&self.base.name, 2, s));
        }
        Ok(vec![s[0], Some(self.args.n), s[1]])
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        self.compute_output_shape(&known(x.shape()))?;
        let (b, f) = (x.shape()[0], x.shape()[1]);
        Ok(ops::repeat(&x.reshape([b, 1, f])?, self.args.n, 1)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::layer::check_pending;
    use serde_json::json;

    #[test]
    fn reshape_infers_minus_one_and_checks_sizes() {
        let l = Reshape::new(&[3, -1]);
        assert_eq!(l.compute_output_shape(&[None, Some(12)]).unwrap(), vec![None, Some(3), Some(4)]);
        let y = l.call(&Tensor::zeros([2, 12]), &mut CallContext::new(false)).unwrap();
        assert_eq!(y.shape(), &[2, 3, 4]);
        assert!(l.call(&Tensor::zeros([2, 10]), &mut CallContext::new(false)).is_err());
        assert!(Reshape::new(&[3, 5]).compute_output_shape(&[None, Some(12)]).is_err());
        assert!(check_pending(&Reshape::new(&[-1, -1])).is_err());
        assert!(check_pending(&Reshape::new(&[0, 2])).is_err());
        assert!(Reshape::from_config(&json!({"target_shape": [2, -2]})).is_err());
        assert_eq!(
            Reshape::from_config(&json!({"target_shape": [3, 4]})).unwrap().get_config()["target_shape"],
            json!([3, 4])
        );
    }

    #[test]
    fn permute_and_repeat_vector() {
        let p = Permute::new(&[2, 1]);
        let x = Tensor::new((0..6).map(|v| v as f32).collect(), [1, 2, 3]).unwrap();
        let y = p.call(&x, &mut CallContext::new(false)).unwrap();
        assert_eq!(y.shape(), &[1, 3, 2]);
        assert_eq!(y.as_f32().unwrap(), &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        assert!(p.call(&Tensor::zeros([1, 2]), &mut CallContext::new(false)).is_err());
        assert!(check_pending(&Permute::new(&[0, 1])).is_err());
        assert!(check_pending(&Permute::new(&[1, 3])).is_err());
        let r = RepeatVector::new(3);
        let y = r.call(&Tensor::new(vec![1.0, 2.0], [1, 2]).unwrap(), &mut CallContext::new(false)).unwrap();
        assert_eq!(y.shape(), &[1, 3, 2]);
        assert_eq!(y.as_f32().unwrap(), &[1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
        assert!(check_pending(&RepeatVector::new(0)).is_err());
        assert!(RepeatVector::from_config(&json!({"n": -2})).is_err());
        assert!(r.call(&Tensor::zeros([1, 2, 2]), &mut CallContext::new(false)).is_err());
    }
}
