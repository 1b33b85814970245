//! `AutoContrast`: stretches each image's values over the whole value range (in training and
//! in inference, as Keras).

use serde_json::{json, Value};

use super::color::map_range;
use super::image_common::{image_call, image_layer_impl, image_shape};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{configured, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::preprocessing::image::images::Images;
use crate::utils::config_args::config_args;
use crate::{Result, Tensor};

/// Keras `keras.layers.AutoContrast`: maps each channel of each image linearly so that its
/// minimum becomes the low end of `value_range` and its maximum the high end (a constant
/// channel is left as it is). Active in training and in inference, as in Keras.
///
/// Keras reduces over axes 1 and 2 of the images; with `data_format="channels_first"` those
/// are the channels and rows, so each column (over all channels) is stretched. keras-rs does
/// the same, to give Keras's numbers.
///
/// ```
/// use keras::layers::{AutoContrast, CallContext, Layer};
/// let x = keras::Tensor::new(vec![10.0, 20.0, 30.0, 40.0], [2, 2, 1]).unwrap();
/// let y = AutoContrast::new().call(&x, &mut CallContext::new(false)).unwrap();
/// assert_eq!(y.to_f32_vec(), vec![0.0, 85.0, 170.0, 255.0]);
/// ```
pub struct AutoContrast {
    base: LayerBase,
    args: AutoContrastArgs,
    vrange: (f32, f32),
}

config_args! {
    /// AutoContrast's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct AutoContrastArgs in AutoContrast.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// `[min, max]` of the pixel values, sorted (checked by the constructor).
        value_range: Value = json!([0, 255]),
    }
}

impl Default for AutoContrast {
    fn default() -> Self {
        Self::new()
    }
}

impl AutoContrast {
    /// Auto-contrast for values in `[0, 255]`.
    pub fn new() -> Self {
        AutoContrast {
            base: LayerBase::new("auto_contrast"),
            args: AutoContrastArgs::defaults(),
            vrange: (0.0, 255.0),
        }
    }

    crate::layers::preprocessing::image_common::value_range_builder! {
        /// The range of the pixel values (sorted, as Keras does).
        sort: true,
        |l, a, b| l.vrange = (a as f32, b as f32)
    }

    crate::layers::builders::name_builder!();

    crate::layers::reshaping::args::data_format_builder!(args);

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = AutoContrastArgs::read_args(&mut LayerCfg::new(cfg, "AutoContrast"))?;
        let mut l = AutoContrast::new();
        l.set_value_range(&args.value_range)?;
        l.args = AutoContrastArgs { value_range: l.args.value_range, ..args };
        configured(l, cfg)
    }

    /// The layer on channels-last images (Keras's `transform_images`, the same with
    /// `training` true or false).
    fn call_last(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        let mut img = Images::from_tensor(x, &format!("Layer {}", self.base.name))?;
        let original = img.data.clone();
        map_range(&mut img.data, self.vrange, (0.0, 255.0));
        let (w, c) = (img.w, img.c);
        // Keras's axes (1, 2): rows and columns channels-last, channels and rows channels-first.
        let per_column = self.args.data_format == DataFormat::ChannelsFirst;
        let groups = if per_column { w } else { c };
        let key = |i: usize| if per_column { (i / c.max(1)) % w.max(1) } else { i % c.max(1) };
        for b in 0..img.n {
            let im = img.image_mut(b);
            let (mut lo, mut hi) = (vec![f32::INFINITY; groups], vec![f32::NEG_INFINITY; groups]);
            for (i, v) in im.iter().enumerate() {
                let k = key(i);
                lo[k] = lo[k].min(*v);
                hi[k] = hi[k].max(*v);
            }
            for (i, v) in im.iter_mut().enumerate() {
                let k = key(i);
                let scale = 255.0 / (hi[k] - lo[k]);
                let offset = -lo[k] * scale;
                // A constant group gives NaN here (0 * inf), replaced by the input below.
                *v = (*v * scale + offset).clamp(0.0, 255.0);
            }
        }
        map_range(&mut img.data, (0.0, 255.0), self.vrange);
        for (v, o) in img.data.iter_mut().zip(original) {
            if v.is_nan() {
                *v = o;
            }
        }
        img.into_tensor()
    }
}

image_layer_impl!(AutoContrast, "AutoContrast", same_shape);
