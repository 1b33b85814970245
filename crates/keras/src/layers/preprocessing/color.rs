//! Pieces shared by the color augmentation layers (AutoContrast, Solarization, RandomInvert,
//! RandomGrayscale, RandomPosterization, RandomColorDegeneration, RandomSaturation, RandomHue,
//! RandomSharpness, Equalization): Keras's value-range mapping, TensorFlow's RGB/HSV/grayscale
//! conversions (same float32 operations, so the numbers agree), the per-image parameter check
//! of the `transform_with` methods, and `factor_layer!`, the declaration of a layer whose
//! arguments are `data_format`, `factor`, `value_range`, `seed`.

use crate::preprocessing::image::images::Images;
use crate::{keras_bail, Result};

/// Keras's `_transform_value_range`: `x` mapped from `from` to `to` (unchanged when equal),
/// with the same float32 operations.
pub(crate) fn map_range(x: &mut [f32], from: (f32, f32), to: (f32, f32)) {
    if from == to {
        return;
    }
    let (span, scale) = (from.1 - from.0, to.1 - to.0);
    for v in x {
        *v = (*v - from.0) / span * scale + to.0;
    }
}

/// TensorFlow's `rgb_to_grayscale` weights (ITU-R 601-2 luma, as `tf.image`).
const GRAY: [f32; 3] = [0.2989, 0.5870, 0.1140];

/// The luma of one RGB pixel.
pub(crate) fn gray(p: &[f32]) -> f32 {
    p[0] * GRAY[0] + p[1] * GRAY[1] + p[2] * GRAY[2]
}

/// `tf.image.rgb_to_hsv` of one pixel (TensorFlow's kernel, operation for operation).
pub(crate) fn rgb_to_hsv(r: f32, g: f32, b: f32) -> (f32, f32, f32) {
    let v = r.max(g).max(b);
    let range = v - r.min(g).min(b);
    let s = if v > 0.0 { range / v } else { 0.0 };
    let norm = (1.0 / range) * (1.0 / 6.0);
    let mut h = if r == v {
        norm * (g - b)
    } else if g == v {
        norm * (b - r) + 2.0 / 6.0
    } else {
        norm * (r - g) + 4.0 / 6.0
    };
    // A grey pixel (or a NaN range) has hue 0.
    if range.is_nan() || range <= 0.0 {
        h = 0.0;
    }
    if h < 0.0 {
        h += 1.0;
    }
    (h, s, v)
}

/// `tf.image.hsv_to_rgb` of one pixel (TensorFlow's kernel, operation for operation).
pub(crate) fn hsv_to_rgb(h: f32, s: f32, v: f32) -> (f32, f32, f32) {
    let dh = h * 6.0;
    let dr = ((dh - 3.0).abs() - 1.0).clamp(0.0, 1.0);
    let dg = (-(dh - 2.0).abs() + 2.0).clamp(0.0, 1.0);
    let db = (-(dh - 4.0).abs() + 2.0).clamp(0.0, 1.0);
    let one_s = -s + 1.0;
    ((one_s + s * dr) * v, (one_s + s * dg) * v, (one_s + s * db) * v)
}

/// The error of a layer whose computation needs RGB images (`tf.image`'s HSV conversions).
pub(crate) fn check_rgb(img: &Images, class: &str) -> Result<()> {
    if img.c != 3 {
        keras_bail!(Shape, "{class}: expected RGB images (3 channels), got {} channels", img.c);
    }
    Ok(())
}

/// Keras's `rgb_to_grayscale` check: 1 (kept) or 3 (converted) channels.
pub(crate) fn check_gray_input(img: &Images) -> Result<()> {
    if img.c != 1 && img.c != 3 {
        keras_bail!(
            Shape,
            "Invalid channel size: expected 3 (RGB) or 1 (Grayscale). Received input with {} channels",
            img.c
        );
    }
    Ok(())
}

/// The check of a `transform_with` method: one parameter per image of the batch.
pub(crate) fn check_params(img: &Images, len: usize, what: &str) -> Result<()> {
    if len != img.n {
        keras_bail!(
            InvalidArgument,
            "`{what}` must have one value per image: {} images, {len} values",
            img.n
        );
    }
    Ok(())
}

/// Runs `f(images, params)` on the channels-last form of `x` (a layer's `transform_with`).
pub(crate) fn transform_last<P>(
    df: crate::layers::data_format::DataFormat,
    x: &crate::Tensor,
    params: &[P],
    what: &str,
    f: impl FnOnce(&mut Images, &[P]) -> Result<()>,
) -> Result<crate::Tensor> {
    super::image_common::image_call(df, x, |x| {
        let mut img = Images::from_tensor(x, what)?;
        check_params(&img, params.len(), what)?;
        f(&mut img, params)?;
        img.into_tensor()
    })
}

/// A color layer's `call` on channels-last images: in training, the per-image parameters
/// `draw(n)` (for `n` images) handed to `apply`; in inference the images pass unchanged.
pub(crate) fn train_call<P>(
    x: &crate::Tensor,
    layer: &str,
    training: bool,
    draw: impl FnOnce(usize) -> Vec<P>,
    apply: impl FnOnce(&mut Images, &[P]) -> Result<()>,
) -> Result<crate::Tensor> {
    let mut img = Images::from_tensor(x, &format!("Layer {layer}"))?;
    if training {
        let params = draw(img.n);
        apply(&mut img, &params)?;
    }
    img.into_tensor()
}

/// Declares a color layer whose Keras arguments are `data_format`, `factor` (read by the base
/// layer's `_set_factor` with `bounds`), `value_range` (sorted when `sort`) and `seed`, in this
/// `get_config()` order: the struct (fields `base`, `args`, `factor`, `vrange`, `rng`), its
/// arguments, `new`/`range` constructors, the builders and `from_config`. The layer writes its
/// `impl Layer` and `call_last`. The expansion site imports what `random_contrast.rs` does.
macro_rules! factor_layer {
    (
        $(#[$meta:meta])*
        $Name:ident, $Args:ident, $class:literal, $snake:literal, bounds $bounds:expr, sort $sort:expr,
        new $new_doc:literal
    ) => {
        $(#[$meta])*
        pub struct $Name {
            base: LayerBase,
            args: $Args,
            /// `(lower, upper)` of `factor`.
            factor: (f64, f64),
            /// `value_range` as `(first, second)` (sorted when Keras sorts it).
            vrange: (f32, f32),
            rng: LayerRng,
        }

        config_args! {
            #[doc = concat!($class, "'s Keras arguments, in the order of its `get_config()`.")]
            pub(crate) struct $Args in $Name.args, family LayerArgs {
                data_format: DataFormat = DataFormat::default(),
                /// The factor as Keras keeps it: `[lower, upper]` (checked by the constructor).
                factor: Value,
                /// `[min, max]` of the pixel values (checked by the constructor).
                value_range: Value = json!([0, 255]),
                /// A fixed seed for this layer's draws (otherwise the global generator).
                seed: Option<u64> = None; builder seed(seed: u64) => Some(seed),
            }
        }

        impl $Name {
            #[doc = $new_doc]
            pub fn new(factor: f64) -> Self {
                Self::with_factor(&num(factor))
            }

            /// The factor range `[lower, upper]` (a pair, sorted, as Keras reads a list).
            pub fn range(lower: f64, upper: f64) -> Self {
                Self::with_factor(&json!([num(lower), num(upper)]))
            }

            fn with_factor(f: &Value) -> Self {
                let mut base = LayerBase::new($snake);
                let (lower, upper, factor) = base_factor(f, $bounds).unwrap_or_else(|e| {
                    base.fail(e);
                    (0.0, 0.0, json!([0, 0]))
                });
                let args = $Args { factor, ..$Args::defaults() };
                $Name { base, args, factor: (lower, upper), vrange: (0.0, 255.0), rng: LayerRng::default() }
            }

            crate::layers::preprocessing::image_common::value_range_builder! {
                /// The range of the pixel values (default `[0, 255]`).
                sort: $sort,
                |l, a, b| l.vrange = (a as f32, b as f32)
            }

            crate::layers::builders::name_builder!();

            crate::layers::reshaping::args::data_format_builder!(args);

            /// Rebuilds from a Keras config (with the constructor's checks).
            pub fn from_config(cfg: &Value) -> Result<Self> {
                let args = $Args::read_args(&mut LayerCfg::new(cfg, $class))?;
                let mut l = $Name::with_factor(&args.factor);
                l.set_value_range(&args.value_range)?;
                let a = l.args;
                l.args = $Args { factor: a.factor, value_range: a.value_range, ..args };
                $crate::layers::layer::configured(l, cfg)
            }

            /// One draw of `f` per image (`n` images) from the layer's random stream.
            fn draws<T>(&self, n: usize, mut f: impl FnMut(&mut keras_engine::Rng) -> T) -> Vec<T> {
                self.rng.with(self.args.seed, |r| (0..n).map(|_| f(r)).collect())
            }
        }
    };
}
pub(crate) use factor_layer;

#[cfg(test)]
mod tests {
    use super::*;

    /// HSV and back is the identity on RGB values (0..1 and 0..255 alike), and grey pixels
    /// have hue and saturation 0.
    #[test]
    fn hsv_round_trip() {
        for &(r, g, b) in &[(0.2f32, 0.5, 0.9), (0.9, 0.1, 0.3), (0.4, 0.4, 0.1), (200.0, 13.0, 77.0)] {
            let (h, s, v) = rgb_to_hsv(r, g, b);
            assert!((0.0..1.0).contains(&h) && (0.0..=1.0).contains(&s));
            let (r2, g2, b2) = hsv_to_rgb(h, s, v);
            let tol = 1e-5 * r.max(g).max(b);
            assert!((r - r2).abs() <= tol && (g - g2).abs() <= tol && (b - b2).abs() <= tol);
        }
        assert_eq!(rgb_to_hsv(0.3, 0.3, 0.3), (0.0, 0.0, 0.3));
        assert_eq!(rgb_to_hsv(0.0, 0.0, 0.0), (0.0, 0.0, 0.0));
    }

    #[test]
    fn value_range_mapping() {
        let mut x = vec![0.0f32, 0.5, 1.0];
        map_range(&mut x, (0.0, 1.0), (0.0, 255.0));
        assert_eq!(x, vec![0.0, 127.5, 255.0]);
        map_range(&mut x, (0.0, 255.0), (0.0, 255.0));
        assert_eq!(x, vec![0.0, 127.5, 255.0]);
    }
}
