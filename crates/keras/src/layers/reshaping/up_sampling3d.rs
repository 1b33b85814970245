//! `UpSampling3D`: repeats each depth, row and column of NDHWC (or NCDHW) volumes.

use keras_engine::ops;
use serde_json::{json, Value};

use crate::layers::convolutional::common::positive_tuple_error;
use crate::layers::data_format::DataFormat;
use crate::layers::layer::configured;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::layers::reshaping::args::{data_format_builder, int_tuple, known, layer_common};
use crate::utils::config_args::{config_args, ConfigArg};
use crate::{Result, Tensor};

/// Keras `keras.layers.UpSampling3D`: each element repeated `size[i]` times along depth,
/// height and width (nearest neighbour), channels last or, with
/// `data_format("channels_first")`, first.
///
/// ```
/// use keras::layers::{CallContext, Layer, UpSampling3D};
/// use keras::Tensor;
/// let y = UpSampling3D::new([2, 1, 3]).call(&Tensor::ones([1, 2, 2, 2, 1]), &mut CallContext::new(false)).unwrap();
/// assert_eq!(y.shape(), &[1, 4, 2, 6, 1]);
/// ```
pub struct UpSampling3D {
    base: LayerBase,
    args: UpSampling3DArgs,
}

config_args! {
    /// UpSampling3D's Keras arguments, in Keras's `get_config()` order.
    pub(crate) struct UpSampling3DArgs, family LayerArgs {
        size: Size3 = Size3([2; 3]),
        data_format: DataFormat = DataFormat::default(),
    }
}

/// UpSampling3D's `size`: an int (every axis) or three ints.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Size3([usize; 3]);

impl ConfigArg<LayerArgs> for Size3 {
    fn to_config(&self) -> Value {
        json!(self.0)
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, default: Option<Self>) -> Result<Self> {
        match src.cfg.get(key) {
            None => Ok(default.unwrap_or_default()),
            Some(v) => {
                let s = int_tuple(v, 3, key, false)?;
                Ok(Size3([s[0], s[1], s[2]]))
            }
        }
    }
}

impl UpSampling3D {
    /// Repeats per axis (Keras's default is `[2, 2, 2]`).
    pub fn new(size: [usize; 3]) -> Self {
        let mut base = LayerBase::new("up_sampling3d");
        if let Some(e) = positive_tuple_error("size", &size) {
            base.fail(e);
        }
        UpSampling3D { base, args: UpSampling3DArgs { size: Size3(size), ..UpSampling3DArgs::defaults() } }
    }

    crate::layers::builders::base_builders!();
    data_format_builder!(args);

    /// Rebuilds from a Keras config (`size` an int or three ints).
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = UpSampling3DArgs::read_args(&mut LayerCfg::new(cfg, "UpSampling3D"))?;
        // The constructor's check is the config's check too.
        let mut l = UpSampling3D::new(args.size.0);
        l.args = args;
        configured(l, cfg)
    }
}

impl Layer for UpSampling3D {
    layer_common!("UpSampling3D", true, args_config);

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        self.args.data_format.map_shape(&self.base.name, 5, s, |s| {
            let mut out = s.to_vec();
            for i in 0..3 {
                out[i + 1] = s[i + 1].map(|d| d * self.args.size.0[i]);
            }
            Ok(out)
        })
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        self.compute_output_shape(&known(x.shape()))?;
        crate::layers::layer::check_pending(self)?;
        self.args.data_format.map_call(x, |x| {
            let mut y = x.clone();
            for (i, &r) in self.args.size.0.iter().enumerate() {
                if r > 1 {
                    y = ops::repeat(&y, r, i as isize + 1)?;
                }
            }
            Ok(y)
        })
    }
}
