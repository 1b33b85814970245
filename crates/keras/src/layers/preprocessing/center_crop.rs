//! `CenterCrop`: the centred `(height, width)` window of each image.

use serde_json::Value;

use super::image_common::{image_call, image_layer_impl, image_shape, sized_base};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{configured, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::preprocessing::image::images::Images;
use crate::preprocessing::image::resize::center_crop_images;
use crate::utils::config_args::config_args;
use crate::{Result, Tensor};

/// Keras `keras.layers.CenterCrop`: crops the centre of `(h, w, c)` / `(n, h, w, c)` images to
/// `(height, width)`. An image smaller than the target is first cropped to the target's aspect
/// ratio and resized (bilinear), as Keras does. Same in training and inference.
///
/// ```
/// use keras::layers::{CallContext, CenterCrop, Layer};
/// let crop = CenterCrop::new(2, 2);
/// let x = keras::Tensor::new((0..16).map(|v| v as f32).collect(), [4, 4, 1]).unwrap();
/// let y = crop.call(&x, &mut CallContext::new(false)).unwrap();
/// assert_eq!(y.to_f32_vec(), vec![5.0, 6.0, 9.0, 10.0]);
/// ```
pub struct CenterCrop {
    base: LayerBase,
    args: CenterCropArgs,
}

config_args! {
    /// CenterCrop's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct CenterCropArgs in CenterCrop.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        height: usize,
        width: usize,
    }
}

impl CenterCrop {
    /// Crops to `(height, width)` (both positive).
    pub fn new(height: usize, width: usize) -> Self {
        let base = sized_base("center_crop", "CenterCrop", height, width);
        CenterCrop { base, args: CenterCropArgs { height, width, ..CenterCropArgs::defaults() } }
    }

    crate::layers::builders::base_builders!();

    crate::layers::reshaping::args::data_format_builder!(args);

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = CenterCropArgs::read_args(&mut LayerCfg::new(cfg, "CenterCrop"))?;
        let mut l = CenterCrop::new(args.height, args.width);
        l.args = args;
        configured(l, cfg)
    }
}

impl CenterCrop {
    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let img = Images::from_tensor(x, &format!("Layer {}", self.base.name))?;
        center_crop_images(&img, self.args.height, self.args.width)?.into_tensor()
    }
}

image_layer_impl!(CenterCrop, "CenterCrop", resized);
