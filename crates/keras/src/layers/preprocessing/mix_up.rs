//! `MixUp`: blends each image (and its label) with another image of the batch (in training).

use serde_json::{Number, Value};

use super::image_common::{image_call, image_shape, number, preprocessing_layer_boilerplate, LayerRng};
use super::mixing::{beta_draw, draw_alpha, permutation, LabelMix};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::preprocessing::image::images::Images;
use crate::utils::config_args::config_args;
use crate::{Result, Tensor};

/// Keras `keras.layers.MixUp`: in training, image `i` becomes `w_i * x_i + (1 - w_i) * x_p(i)`
/// with `p` a random permutation of the batch and `w_i` drawn from Beta(`alpha`, `alpha`)
/// (default `alpha=0.2`); its label is blended the same way ([`MixUp::call_with_labels`],
/// Keras's call on `{"images": ..., "labels": ...}`). An unbatched image is a batch of one.
/// Identity in inference. `alpha` must be positive and finite when the layer draws (Keras
/// takes any value and draws NaN weights).
///
/// ```
/// use keras::layers::{CallContext, Layer, LabelMix, MixUp};
/// let mix = MixUp::new().alpha(0.4).seed(3);
/// let x = keras::Tensor::new(vec![0.0, 0.0, 10.0, 10.0], [2, 1, 2, 1]).unwrap();
/// let labels = keras::Tensor::new(vec![1.0, 0.0, 0.0, 1.0], [2, 2]).unwrap();
/// let (y, l) = mix.call_with_labels(&x, &labels, &mut CallContext::new(true)).unwrap();
/// // Each mixed label still sums to 1; pixels and labels share the weights.
/// let (y, l) = (y.to_f32_vec(), l.to_f32_vec());
/// assert!((l[0] + l[1] - 1.0).abs() < 1e-6 && (y[0] - 10.0 * l[1]).abs() < 1e-4);
/// // Explicit parameters (Keras's `transform_images`): swap the images, keep 3/4 of each.
/// let t = LabelMix { permutation: vec![1, 0], mix_weight: vec![0.75, 0.75] };
/// assert_eq!(mix.transform_with(&x, &t).unwrap().to_f32_vec(), vec![2.5, 2.5, 7.5, 7.5]);
/// ```
pub struct MixUp {
    base: LayerBase,
    args: MixUpArgs,
    rng: LayerRng,
}

config_args! {
    /// MixUp's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct MixUpArgs in MixUp.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// The Beta distribution's two shapes: small values mix little (default 0.2).
        alpha: Number = number(0.2); builder alpha(alpha: f64) => number(alpha),
        /// A fixed seed for this layer's draws (otherwise the global generator).
        seed: Option<u64> = None; builder seed(seed: u64) => Some(seed),
    }
}

impl Default for MixUp {
    fn default() -> Self {
        Self::new()
    }
}

impl MixUp {
    /// Keras's defaults: `alpha=0.2`.
    pub fn new() -> Self {
        MixUp { base: LayerBase::new("mix_up"), args: MixUpArgs::defaults(), rng: LayerRng::default() }
    }

    crate::layers::builders::name_builder!();

    crate::layers::reshaping::args::data_format_builder!(args);

    /// Rebuilds from a Keras config.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = MixUpArgs::read_args(&mut LayerCfg::new(cfg, "MixUp"))?;
        let mut l = MixUp { args, ..MixUp::new() };
        l.base.apply_config(cfg);
        Ok(l)
    }

    /// Keras's `get_random_transformation` for a batch of `n` images: a permutation of the
    /// batch and `n` weights from Beta(`alpha`, `alpha`).
    pub fn get_random_transformation(&self, n: usize) -> Result<LabelMix> {
        let alpha = draw_alpha(&self.args.alpha, "MixUp")?;
        Ok(self.rng.with(self.args.seed, |r| {
            let permutation = permutation(r, n);
            let mix_weight = (0..n).map(|_| beta_draw(r, alpha, alpha) as f32).collect();
            LabelMix { permutation, mix_weight }
        }))
    }

    /// Keras's `transform_images` with explicit parameters: image `i` (of `images`, in the
    /// layer's data format; an unbatched image is a batch of one) becomes
    /// `w_i * x_i + (1 - w_i) * x_p(i)` with `t`'s weights and permutation.
    pub fn transform_with(&self, images: &Tensor, t: &LabelMix) -> Result<Tensor> {
        image_call(self.args.data_format, images, |x| {
            apply(Images::from_tensor(x, "MixUp")?, t)?.into_tensor()
        })
    }

    super::mixing::call_with_labels_method!("MixUp", "An unbatched image is mixed with itself.");

    /// The draw for channels-last images (a batch of one for an unbatched image).
    fn draw(&self, img: &Images) -> Result<Option<LabelMix>> {
        self.get_random_transformation(img.n).map(Some)
    }

    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let img = Images::from_tensor(x, &format!("Layer {}", self.base.name))?;
        if !ctx.training {
            return img.into_tensor();
        }
        match self.draw(&img)? {
            Some(t) => apply(img, &t)?.into_tensor(),
            None => img.into_tensor(),
        }
    }
}

/// `w * x + (1 - w) * x[p]` image by image (Keras's float32 operations).
fn apply(img: Images, t: &LabelMix) -> Result<Images> {
    t.check(img.n, "MixUp")?;
    let mut out = img.clone();
    for (i, (&p, &w)) in t.permutation.iter().zip(&t.mix_weight).enumerate() {
        let (own, other) = (img.image(i), img.image(p));
        for (o, (a, b)) in out.image_mut(i).iter_mut().zip(own.iter().zip(other)) {
            *o = w * a + (1.0 - w) * b;
        }
    }
    Ok(out)
}

impl Layer for MixUp {
    preprocessing_layer_boilerplate!("MixUp", same_shape);
    crate::layers::reshaping::args::layer_common!(@args_config);
}
