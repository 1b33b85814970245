//! `Softmax` as a layer: over one axis or a tuple of axes, honouring a mask.

use serde_json::Value;

use crate::activations;
use crate::layers::layer::{shape_str, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{Axis, LayerArgs, LayerCfg};
use crate::layers::masked_values::keep_or;
use crate::layers::reshaping::args::layer_common;
use crate::utils::config_args::config_args;
use crate::{keras_bail, Result, Tensor};

/// What Keras's `Softmax` puts in masked positions before normalizing (`-1e9` for float32).
const LARGE_NEGATIVE: f32 = -1e9;

/// Keras `keras.layers.Softmax(axis=-1)`: softmax over `axis`, one axis or several normalized
/// together.
///
/// With a mask (broadcastable to the inputs; non-zero, or above 0.5, keeps a position), masked
/// positions get probability zero and a fully masked slice is all zeros, as in Keras. The mask
/// is passed on unchanged.
///
/// ```
/// use keras::layers::{CallContext, Layer, Softmax};
/// use keras::Tensor;
/// let layer = Softmax::new();
/// let x = Tensor::new(vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0], [2, 3]).unwrap();
/// let mask = Tensor::new(vec![1.0, 1.0, 0.0, 0.0, 0.0, 0.0], [2, 3]).unwrap();
/// let y = layer.call_masked(&x, Some(&mask), &mut CallContext::new(false)).unwrap();
/// let y = y.to_f32_vec();
/// assert_eq!(y[2], 0.0);
/// assert!((y[0] + y[1] - 1.0).abs() < 1e-6);
/// assert_eq!(&y[3..], &[0.0, 0.0, 0.0]);
/// ```
pub struct Softmax {
    base: LayerBase,
    args: SoftmaxArgs,
}

config_args! {
    /// Softmax's Keras arguments.
    pub(crate) struct SoftmaxArgs, family LayerArgs {
        /// Keras keeps the form it was given: an integer, or a list.
        axis: Axis = Axis::one(-1),
    }
}

impl Default for Softmax {
    fn default() -> Self {
        Self::new()
    }
}

impl Softmax {
    /// Softmax over the last axis.
    pub fn new() -> Self {
        Softmax { base: LayerBase::new("softmax"), args: SoftmaxArgs::defaults() }
    }

    /// The axis to normalize over.
    pub fn axis(mut self, axis: isize) -> Self {
        self.args.axis = Axis::one(axis);
        self
    }

    /// Several axes normalized together (Keras `axis=[1, 2]`).
    pub fn axes(mut self, axes: &[isize]) -> Self {
        if let Err(e) = activations::Axes::new(axes) {
            self.base.fail(e);
        }
        self.args.axis = Axis::list(axes);
        self
    }

    crate::layers::builders::name_builder!();

    /// Rebuilds from a Keras config (`axis` an integer or a list of integers).
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = SoftmaxArgs::read_args(&mut LayerCfg::new(cfg, "Softmax"))?;
        if args.axis.is_list {
            activations::Axes::new(&args.axis.axes)?;
        }
        let mut l = Softmax { base: LayerBase::new("softmax"), args };
        l.base.apply_config(cfg);
        Ok(l)
    }

    fn check_axes(&self, rank: usize, shape: &str) -> Result<()> {
        let r = rank as isize;
        if let Some(a) = self.args.axis.axes.iter().find(|&&a| a >= r || a < -r) {
            keras_bail!(
                InvalidArgument,
                "Layer {}: axis={a} is out of range for inputs of shape {shape}",
                self.base.name
            );
        }
        Ok(())
    }

    /// The mask broadcast to `shape` as keep/drop flags, with Keras's checks.
    fn keep_flags(&self, mask: &Tensor, shape: &[usize]) -> Result<Vec<bool>> {
        let (ms, is) = (mask.shape(), shape);
        let fmt = |s: &[usize]| shape_str(&s.iter().map(|&d| Some(d)).collect::<Vec<_>>());
        if ms.len() > is.len() {
            keras_bail!(
                InvalidArgument,
                "The `mask` must be broadcastable to `inputs` and must not have more dimensions. \
                 Received: inputs.shape={}, mask.shape={}",
                fmt(is),
                fmt(ms)
            );
        }
        if ms.iter().rev().zip(is.iter().rev()).any(|(&m, &i)| m != 1 && m != i) {
            keras_bail!(
                InvalidArgument,
                "The `mask` must be broadcastable to `inputs`. Each mask dimension must be 1 or \
                 match the corresponding input dimension. Received: inputs.shape={}, mask.shape={}",
                fmt(is),
                fmt(ms)
            );
        }
        let m = keras_engine::ops::add(&Tensor::zeros(is.to_vec()), &mask.cast(keras_engine::DType::F32))?;
        Ok(m.to_f32_vec().iter().map(|&v| v > 0.5).collect())
    }
}

impl Layer for Softmax {
    layer_common!("Softmax", false, passes_mask, args_config);

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        self.check_axes(s.len(), &shape_str(s))?;
        Ok(s.to_vec())
    }

    fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        self.call_masked(x, None, ctx)
    }

    fn call_masked(&self, x: &Tensor, mask: Option<&Tensor>, _ctx: &mut CallContext) -> Result<Tensor> {
        crate::layers::layer::check_pending(self)?;
        self.check_axes(x.rank(), &format!("{:?}", x.shape()))?;
        let Some(mask) = mask else {
            return activations::softmax(x, &self.args.axis.axes);
        };
        let keep = self.keep_flags(mask, x.shape())?;
        let y = activations::softmax(&keep_or(x, &keep, LARGE_NEGATIVE)?, &self.args.axis.axes)?;
        keep_or(&y, &keep, 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keras_engine::testing::check_grad;
    use serde_json::json;

    fn ctx() -> CallContext {
        CallContext::new(false)
    }

    #[test]
    fn softmax_axis_and_errors() {
        let l = Softmax::from_config(&json!({"axis": 0})).unwrap();
        let y = l.call(&Tensor::new(vec![1.0, 1.0], [2, 1]).unwrap(), &mut ctx()).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[0.5, 0.5]);
        assert!(Softmax::new().axis(2).call(&Tensor::zeros([2, 2]), &mut ctx()).is_err());
        assert_eq!(Softmax::new().get_config()["axis"], json!(-1));
        for bad in [json!({"axis": [1, 1.5]}), json!({"axis": "x"}), json!({"axis": []})] {
            assert!(Softmax::from_config(&bad).is_err(), "{bad}");
        }
        assert!(Softmax::new().axes(&[1, 1]).call(&Tensor::zeros([2, 2]), &mut ctx()).is_err());
    }

    #[test]
    fn tuple_axes_round_trip_and_normalize_jointly() {
        let l = Softmax::from_config(&json!({"axis": [1, 2], "name": "s"})).unwrap();
        assert_eq!(l.get_config()["axis"], json!([1, 2]));
        let x = Tensor::new((0..12).map(|v| v as f32 * 0.3).collect(), [2, 2, 3]).unwrap();
        let y = l.call(&x, &mut ctx()).unwrap().to_f32_vec();
        assert!((y[..6].iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((y[6..].iter().sum::<f32>() - 1.0).abs() < 1e-6);
        let one = Softmax::from_config(&json!({"axis": [1]})).unwrap();
        assert_eq!(one.get_config()["axis"], json!([1]));
    }

    #[test]
    fn masks_zero_positions_and_whole_rows() {
        let l = Softmax::new();
        let x = Tensor::new(vec![0.5, -1.0, 2.0, 0.1, 0.2, 0.3], [2, 3]).unwrap();
        // A (batch, 1) mask broadcasts over the last axis; a (3,) mask over the batch.
        let row = Tensor::new(vec![0.0, 1.0], [2, 1]).unwrap();
        let y = l.call_masked(&x, Some(&row), &mut ctx()).unwrap().to_f32_vec();
        assert_eq!(&y[..3], &[0.0, 0.0, 0.0]);
        assert!((y[3..].iter().sum::<f32>() - 1.0).abs() < 1e-6);
        let cols = Tensor::new(vec![1.0, 0.0, 1.0], [3]).unwrap();
        let y = l.call_masked(&x, Some(&cols), &mut ctx()).unwrap().to_f32_vec();
        assert_eq!(y[1], 0.0);
        assert!((y[0] + y[2] - 1.0).abs() < 1e-6);
        let mask = Tensor::new(vec![1.0, 1.0, 0.0, 1.0, 0.0, 1.0], [2, 3]).unwrap();
        check_grad(
            &[&x],
            |t| {
                l.call_masked(t[0], Some(&mask), &mut ctx())
                    .map_err(|e| keras_engine::EngineError::new(e.to_string()))
            },
            1e-2,
        );
        for bad in [Tensor::zeros([2, 2]), Tensor::zeros([1, 2, 3])] {
            assert!(l.call_masked(&x, Some(&bad), &mut ctx()).is_err());
        }
        assert_eq!(l.compute_mask(&x, Some(&mask)).unwrap().unwrap().to_f32_vec(), mask.to_f32_vec());
    }
}
