//! `Equalization`: histogram equalization of each channel (in training).

use serde_json::{json, Value};

use super::image_common::{image_call, image_layer_impl, image_shape};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{configured, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::preprocessing::image::images::Images;
use crate::utils::config_args::config_args;
use crate::{Error, Result, Tensor};

/// Keras `keras.layers.Equalization`: in training, each channel is histogram-equalized: its
/// values (in the 0–255 scale of `value_range`) fall into `bins` bins, and each value becomes
/// the rounded cumulative share of its bin, spread over `[0, 255]`. As in Keras, the histogram
/// of a channel is taken over the whole batch, and a channel whose values share one bin is
/// left as it is. Identity in inference.
///
/// ```
/// use keras::layers::{CallContext, Equalization, Layer};
/// let eq = Equalization::new();
/// let x = keras::Tensor::new(vec![10.0, 10.0, 20.0, 30.0], [2, 2, 1]).unwrap();
/// let y = eq.call(&x, &mut CallContext::new(true)).unwrap();
/// assert_eq!(y.to_f32_vec(), vec![0.0, 0.0, 128.0, 255.0]);
/// ```
pub struct Equalization {
    base: LayerBase,
    args: EqualizationArgs,
    vrange: (f64, f64),
}

config_args! {
    /// Equalization's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct EqualizationArgs in Equalization.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// The number of histogram bins (at least 1).
        bins: usize = 256,
        /// `[min, max]` of the pixel values, sorted (checked by the constructor).
        value_range: Value = json!([0, 255]),
    }
}

impl Default for Equalization {
    fn default() -> Self {
        Self::new()
    }
}

impl Equalization {
    /// Equalization with 256 bins of values in `[0, 255]`.
    pub fn new() -> Self {
        Equalization {
            base: LayerBase::new("equalization"),
            args: EqualizationArgs::defaults(),
            vrange: (0.0, 255.0),
        }
    }

    /// The number of histogram bins (default 256; at least 1).
    pub fn bins(mut self, bins: usize) -> Self {
        if bins == 0 {
            self.base.fail(Error::InvalidArgument(format!(
                "Equalization: `bins` must be a positive integer. Received: bins={bins}"
            )));
        }
        self.args.bins = bins;
        self
    }

    crate::layers::preprocessing::image_common::value_range_builder! {
        /// The range of the pixel values (sorted, as Keras does).
        sort: true,
        |l, a, b| l.vrange = (a, b)
    }

    crate::layers::builders::name_builder!();

    crate::layers::reshaping::args::data_format_builder!(args);

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = EqualizationArgs::read_args(&mut LayerCfg::new(cfg, "Equalization"))?;
        let mut l = Equalization::new().bins(args.bins);
        l.set_value_range(&args.value_range)?;
        l.args = EqualizationArgs { value_range: l.args.value_range, ..args };
        configured(l, cfg)
    }

    /// Keras's `transform_images` (in training): `images` (in the layer's data format)
    /// equalized. The layer draws nothing, so this is its training-time `call`.
    pub fn transform(&self, images: &Tensor) -> Result<Tensor> {
        image_call(self.args.data_format, images, |x| {
            let mut img = Images::from_tensor(x, "Equalization")?;
            self.apply(&mut img)?;
            img.into_tensor()
        })
    }

    /// Keras's `_equalize_channel` of every channel.
    fn apply(&self, img: &mut Images) -> Result<()> {
        let bins = self.args.bins.max(1);
        let nb = (bins - 1) as f32;
        let (vmin, vmax) = self.vrange;
        // Keras's `_scale_values` with Python floats, applied to float32 tensors.
        let (to_scale, to_offset) = (255.0 / (vmax - vmin), -vmin * (255.0 / (vmax - vmin)));
        let (back_scale, back_offset) = ((vmax - vmin) / 255.0, vmin);
        let c = img.c;
        for ch in 0..c {
            let vals: Vec<f32> = img
                .data
                .iter()
                .skip(ch)
                .step_by(c.max(1))
                .map(|v| v * to_scale as f32 + to_offset as f32)
                .collect();
            // `bins` comes from the config: an error, not an abort, when it cannot be allocated.
            let mut hist =
                keras_engine::alloc::try_filled(keras_engine::alloc::checked_numel(&[bins], 8)?, 0i64)?;
            for v in &vals {
                let i = (v * nb / 255.0) as i64;
                hist[i.clamp(0, bins as i64 - 1) as usize] += 1;
            }
            let nonzero = hist.iter().filter(|&&n| n != 0).count();
            let out: Vec<f64> = if nonzero <= 1 {
                vals.iter().map(|&v| v as f64).collect()
            } else {
                let mut cdf = hist;
                let mut total = 0i64;
                for n in cdf.iter_mut() {
                    total += *n;
                    *n = total;
                }
                let cdf_min = cdf.iter().copied().find(|&n| n != 0).unwrap_or(0);
                let denom = match cdf[bins - 1] - cdf_min {
                    0 => 1,
                    d => d,
                };
                let lut = |n: i64| {
                    (((n - cdf_min) * 255) as f64 / denom as f64).round_ties_even().clamp(0.0, 255.0)
                };
                vals.iter().map(|&v| lut(cdf[(v / 255.0 * nb).clamp(0.0, nb) as usize])).collect()
            };
            for (dst, v) in img.data.iter_mut().skip(ch).step_by(c.max(1)).zip(out) {
                *dst = (v * back_scale + back_offset) as f32;
            }
        }
        Ok(())
    }

    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let mut img = Images::from_tensor(x, &format!("Layer {}", self.base.name))?;
        if ctx.training {
            self.apply(&mut img)?;
        }
        img.into_tensor()
    }
}

image_layer_impl!(Equalization, "Equalization", same_shape);
