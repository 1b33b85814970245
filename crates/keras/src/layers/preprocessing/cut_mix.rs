//! `CutMix`: pastes a random box of another image of the batch into each image, and mixes
//! the labels by the box's area (in training).

use serde_json::{json, Value};

use super::image_common::{
    base_factor, image_call, image_shape, num, preprocessing_layer_boilerplate, uniform, LayerRng,
};
use super::mixing::{beta_draw, permutation, LabelMix, MixesLabels};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::preprocessing::image::images::Images;
use crate::utils::config_args::config_args;
use crate::{keras_bail, Result, Tensor};

/// One CutMix draw (Keras's transformation): the partner of each image, the box
/// `[x0, x1, y0, y1]` (pixels, fractional: pixel `(x, y)` is pasted when `x0 <= x < x1` and
/// `y0 <= y < y1`) taken from it, and the label weights `1 - box area / image area`.
#[derive(Clone, Debug, PartialEq)]
pub struct CutMixTransformation {
    /// The partners and the label weights.
    pub mix: LabelMix,
    /// `[x0, x1, y0, y1]` of each image's pasted box.
    pub boxes: Vec<[f32; 4]>,
}

impl CutMixTransformation {
    /// The transformation of `boxes` for images of `height` x `width` pixels: the label
    /// weights are Keras's `1 - (x1 - x0) * (y1 - y0) / (width * height)` (in float32).
    pub fn new(permutation: Vec<usize>, boxes: Vec<[f32; 4]>, height: usize, width: usize) -> Self {
        let area = (width * height) as f32;
        let mix_weight = boxes.iter().map(|b| 1.0 - (b[1] - b[0]) * (b[3] - b[2]) / area).collect();
        CutMixTransformation { mix: LabelMix { permutation, mix_weight }, boxes }
    }
}

impl MixesLabels for CutMixTransformation {
    fn label_mix(&self) -> &LabelMix {
        &self.mix
    }
}

/// Keras `keras.layers.CutMix`: in training, each image of a batch gets a box of its partner
/// (a random permutation of the batch) pasted in. The box side ratio is `sqrt(1 - w)` of the
/// image's sides, `w` drawn from Beta(`a`, `a`) with `a` drawn once per batch from the
/// `factor` range (a number `f` for `[0, f]`, or a pair, within `[0, 1]`; default 1.0) plus
/// `1e-6`, at a uniform position; the labels are mixed by the box area
/// ([`CutMix::call_with_labels`], Keras's call on `{"images": ..., "labels": ...}`).
/// Unbatched images, and inference, are left unchanged.
///
/// ```
/// use keras::layers::{CallContext, CutMix, CutMixTransformation, Layer};
/// let cut = CutMix::new().seed(2);
/// let x = keras::Tensor::new(vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0], [2, 2, 2, 1]).unwrap();
/// // Explicit parameters (Keras's `transform_images`): image 0 takes its partner's left column.
/// let t = CutMixTransformation::new(vec![1, 0], vec![[0.0, 1.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0]], 2, 2);
/// assert_eq!(cut.transform_with(&x, &t).unwrap().to_f32_vec(), vec![1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
/// let labels = keras::Tensor::new(vec![1.0, 0.0, 0.0, 1.0], [2, 2]).unwrap();
/// assert_eq!(t.mix.mix_labels(&labels).unwrap().to_f32_vec(), vec![0.5, 0.5, 0.0, 1.0]);
/// let (y, l) = cut.call_with_labels(&x, &labels, &mut CallContext::new(true)).unwrap();
/// assert_eq!((y.shape(), l.shape()), (&[2, 2, 2, 1][..], &[2, 2][..]));
/// ```
pub struct CutMix {
    base: LayerBase,
    args: CutMixArgs,
    factor: (f64, f64),
    rng: LayerRng,
}

config_args! {
    /// CutMix's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct CutMixArgs in CutMix.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// `[lower, upper]` of the Beta shape (checked by the constructor).
        factor: Value = json!([0, 1.0]),
        /// A fixed seed for this layer's draws (otherwise the global generator).
        seed: Option<u64> = None; builder seed(seed: u64) => Some(seed),
    }
}

impl Default for CutMix {
    fn default() -> Self {
        Self::new()
    }
}

impl CutMix {
    /// Keras's defaults: `factor=1.0`.
    pub fn new() -> Self {
        CutMix {
            base: LayerBase::new("cut_mix"),
            args: CutMixArgs::defaults(),
            factor: (0.0, 1.0),
            rng: LayerRng::default(),
        }
    }

    /// The Beta shape range: `[0, f]` (within `[0, 1]`).
    pub fn factor(self, f: f64) -> Self {
        self.with_factor(&num(f))
    }

    /// The Beta shape range `[lower, upper]` (sorted, within `[0, 1]`).
    pub fn factor_range(self, lower: f64, upper: f64) -> Self {
        self.with_factor(&json!([num(lower), num(upper)]))
    }

    fn with_factor(mut self, f: &Value) -> Self {
        match base_factor(f, (0, 1)) {
            Ok((a, b, j)) => {
                self.factor = (a, b);
                self.args.factor = j;
            }
            Err(e) => self.base.fail(e),
        }
        self
    }

    crate::layers::builders::name_builder!();

    crate::layers::reshaping::args::data_format_builder!(args);

    /// Rebuilds from a Keras config (with the constructor's checks).
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let args = CutMixArgs::read_args(&mut LayerCfg::new(cfg, "CutMix"))?;
        let mut l = CutMix::new().with_factor(&args.factor);
        l.base.take_pending()?;
        l.args = CutMixArgs { factor: l.args.factor, ..args };
        l.base.apply_config(cfg);
        Ok(l)
    }

    /// Keras's `get_random_transformation` for a batch of `n` images of `height` x `width`:
    /// the Beta shape, `n` weights, the boxes' x then y bounds, then the permutation.
    pub fn get_random_transformation(&self, n: usize, height: usize, width: usize) -> CutMixTransformation {
        let (f0, f1) = self.factor;
        self.rng.with(self.args.seed, |r| {
            let alpha = uniform(r, f0, f1) as f32 + 1e-6;
            let ratio: Vec<f32> =
                (0..n).map(|_| (1.0 - beta_draw(r, alpha as f64, alpha as f64) as f32).sqrt()).collect();
            let mut bounds = |len: usize| -> Vec<(f32, f32)> {
                let len = len as f32;
                ratio
                    .iter()
                    .map(|q| {
                        let crop = q * len;
                        let start = r.uniform_f32() * (len - crop);
                        (start, start + crop)
                    })
                    .collect()
            };
            let (xs, ys) = (bounds(width), bounds(height));
            let boxes = xs.iter().zip(&ys).map(|(x, y)| [x.0, x.1, y.0, y.1]).collect();
            CutMixTransformation::new(permutation(r, n), boxes, height, width)
        })
    }

    /// Keras's `transform_images` with explicit parameters: the box of image `i` (of
    /// `images`, a batch in the layer's data format) is taken from image `t.mix.permutation[i]`.
    pub fn transform_with(&self, images: &Tensor, t: &CutMixTransformation) -> Result<Tensor> {
        image_call(self.args.data_format, images, |x| {
            let img = Images::from_tensor(x, "CutMix")?;
            if !img.batched {
                keras_bail!(
                    Shape,
                    "CutMix mixes batches of images; received one image of shape {:?}",
                    x.shape()
                );
            }
            apply(img, t)?.into_tensor()
        })
    }

    super::mixing::call_with_labels_method!("CutMix", "An unbatched image and its label are left unchanged.");

    /// The draw for a channels-last batch (`None` for one unbatched image, as Keras).
    fn draw(&self, img: &Images) -> Result<Option<CutMixTransformation>> {
        Ok(img.batched.then(|| self.get_random_transformation(img.n, img.h, img.w)))
    }

    /// The layer on channels-last images.
    fn call_last(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
        let img = Images::from_tensor(x, &format!("Layer {}", self.base.name))?;
        match self.draw(&img)?.filter(|_| ctx.training) {
            Some(t) => apply(img, &t)?.into_tensor(),
            None => img.into_tensor(),
        }
    }
}

/// Pastes each image's box from its partner (channels-last).
fn apply(img: Images, t: &CutMixTransformation) -> Result<Images> {
    t.mix.check(img.n, "CutMix")?;
    if t.boxes.len() != img.n {
        keras_bail!(InvalidArgument, "CutMix: {} images, {} boxes", img.n, t.boxes.len());
    }
    let (w, c) = (img.w, img.c);
    let mut out = img.clone();
    for (i, (&p, b)) in t.mix.permutation.iter().zip(&t.boxes).enumerate() {
        let src = img.image(p);
        let dst = out.image_mut(i);
        for y in 0..img.h {
            let yf = y as f32;
            if !(yf >= b[2] && yf < b[3]) {
                continue;
            }
            for x in (0..w).filter(|&x| x as f32 >= b[0] && (x as f32) < b[1]) {
                let at = (y * w + x) * c;
                dst[at..at + c].copy_from_slice(&src[at..at + c]);
            }
        }
    }
    Ok(out)
}

impl Layer for CutMix {
    preprocessing_layer_boilerplate!("CutMix", same_shape);
    crate::layers::reshaping::args::layer_common!(@args_config);
}
