//! `Masking`: marks timesteps whose features all equal `mask_value` as padding.

use keras_engine::ops;
use serde_json::Value;

use crate::layers::layer::{CallContext, Layer, LayerBase};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::utils::config_args::config_args;
use crate::{keras_bail, Result, Tensor};

/// Masks timesteps where every feature equals `mask_value` (Keras `keras.layers.Masking`):
/// those steps are zeroed and the following RNN skips them (carrying its state).
///
/// ```
/// use keras::layers::{Dense, LSTM, Masking};
/// use keras::models::Sequential;
/// let mut model = Sequential::new();
/// model.add(Masking::new(0.0).input_shape(&[10, 8])).unwrap();
/// model.add(LSTM::new(4)).unwrap();
/// model.add(Dense::new(1)).unwrap();
/// ```
pub struct Masking {
    base: LayerBase,
    args: MaskingArgs,
}

config_args! {
    /// Masking's Keras arguments.
    pub(crate) struct MaskingArgs, family LayerArgs {
        mask_value: f64 = 0.0,
    }
}

impl Masking {
    /// A masking layer for `mask_value` (Keras default 0.0).
    pub fn new(mask_value: f64) -> Self {
        Masking { base: LayerBase::new("masking"), args: MaskingArgs { mask_value } }
    }

    crate::layers::builders::base_builders!();

    /// Rebuilds the layer from its Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = MaskingArgs::read_args(&mut LayerCfg::new(cfg, "Masking"))?;
        let mut m = Masking { base: LayerBase::new("masking"), args };
        m.base.apply_config(cfg);
        Ok(m)
    }

    /// 1.0 where any feature differs from `mask_value`, per position of all but the last axis.
    fn keep(&self, x: &Tensor) -> Result<Vec<f32>> {
        if x.rank() < 2 {
            keras_bail!(
                Shape,
                "Layer {} expects inputs of rank >= 2 (batch, ..., features), received shape {:?}",
                self.base.name,
                x.shape()
            );
        }
        let f = x.shape()[x.rank() - 1];
        let v = x.to_f32_vec();
        let mv = self.args.mask_value as f32;
        Ok(v.chunks(f.max(1)).map(|row| if row.iter().any(|&e| e != mv) { 1.0 } else { 0.0 }).collect())
    }
}

impl Layer for Masking {
    crate::layers::reshaping::args::layer_common!("Masking", false, same_shape, args_config);
    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let keep = self.keep(x)?;
        let mut shape = x.shape().to_vec();
        *shape.last_mut().expect("rank >= 2") = 1;
        let x =
            if x.dtype() == keras_engine::DType::F32 { x.clone() } else { x.cast(keras_engine::DType::F32) };
        Ok(ops::mul(&x, &Tensor::new(keep, shape)?)?)
    }
    fn compute_mask(&self, x: &Tensor, _mask: Option<&Tensor>) -> Result<Option<Tensor>> {
        let keep = self.keep(x)?;
        Ok(Some(Tensor::new(keep, x.shape()[..x.rank() - 1].to_vec())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_steps_equal_to_mask_value() {
        let m = Masking::new(0.0);
        let x = Tensor::new(vec![0.0, 0.0, 1.0, 0.0, 2.0, 3.0], [1, 3, 2]).unwrap();
        let y = m.call(&x, &mut CallContext::new(false)).unwrap();
        assert_eq!(y.to_f32_vec(), vec![0.0, 0.0, 1.0, 0.0, 2.0, 3.0]);
        let mask = m.compute_mask(&x, None).unwrap().unwrap();
        assert_eq!(mask.shape(), &[1, 3]);
        assert_eq!(mask.to_f32_vec(), vec![0.0, 1.0, 1.0]);
        assert!(m.call(&Tensor::ones([3]), &mut CallContext::new(false)).is_err());
        assert_eq!(m.get_config()["mask_value"], json!(0.0));
    }
}
