//! `Flatten`: collapses every axis after the batch into one (channels-first inputs are
//! made channels-last first, as Keras does, so the order matches a channels-last model).

use serde_json::Value;

use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::reshaping::args::data_format_builder;
use crate::utils::config_args::config_args;
use crate::{Result, Tensor};

/// Flattens the input without touching the batch axis (Keras `keras.layers.Flatten`).
/// With `data_format("channels_first")` an input of rank 3 or more has its channel axis
/// moved last before flattening.
///
/// ```
/// use keras::layers::{CallContext, Flatten, Layer};
/// use keras::Tensor;
/// let x = Tensor::new(vec![1.0, 2.0, 3.0, 4.0], [1, 2, 2]).unwrap(); // (batch, channels, steps)
/// let y = Flatten::new().data_format("channels_first").call(&x, &mut CallContext::new(false)).unwrap();
/// assert_eq!(y.as_f32().unwrap(), &[1.0, 3.0, 2.0, 4.0]);
/// ```
pub struct Flatten {
    base: LayerBase,
    args: FlattenArgs,
}

config_args! {
    /// Flatten's Keras arguments.
    pub(crate) struct FlattenArgs, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
    }
}

impl Default for Flatten {
    fn default() -> Self {
        Self::new()
    }
}

impl Flatten {
    /// A Flatten layer.
    pub fn new() -> Self {
        Flatten { base: LayerBase::new("flatten"), args: FlattenArgs::defaults() }
    }

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = FlattenArgs::read_args(&mut LayerCfg::new(cfg, "Flatten"))?;
        let mut f = Flatten { base: LayerBase::new("flatten"), args };
        f.base.apply_config(cfg);
        Ok(f)
    }

    data_format_builder!(args);

    crate::layers::builders::base_builders!();
}

impl Layer for Flatten {
    crate::layers::layer::layer_base_methods!("Flatten");
    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        let rest: Option<usize> = s.iter().skip(1).try_fold(1usize, |a, d| d.map(|d| a * d));
        Ok(vec![s.first().copied().flatten(), rest])
    }
    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        crate::layers::layer::check_pending(self)?;
        let x = self.args.data_format.to_last(x)?;
        let n = x.shape().first().copied().unwrap_or(1);
        let rest: usize = x.shape().iter().skip(1).product();
        Ok(x.reshape([n, rest])?)
    }
    crate::layers::reshaping::args::layer_common!(@args_config);
}
