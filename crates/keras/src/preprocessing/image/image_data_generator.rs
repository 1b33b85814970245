//! `ImageDataGenerator` (Keras's legacy `keras.preprocessing.image.ImageDataGenerator`):
//! real-time augmentation and normalization of image batches, with `fit` for the
//! featurewise statistics and ZCA whitening, and `flow` / `flow_from_directory` producing
//! [`Sequence`](crate::utils::Sequence)s that `fit_sequence` consumes.

use crate::setters::setters;
use std::path::Path;
use std::sync::Arc;

use keras_engine::Rng;

use super::affine::FillMode;
use super::augment::{affine_image, brightness_shift, channel_shift, uniform, AffineParams};
use super::images::Images;
use super::iterators::{DirectoryIterator, FlowArgs, NumpyArrayIterator};
use crate::layers::preprocessing::random_flip::flip_image;
use crate::{keras_bail, Error, Result, Tensor};

/// A user function applied to each image (after augmentation, before normalization); it must
/// return an image of the same shape.
pub type PreprocessingFunction = Arc<dyn Fn(&Tensor) -> Result<Tensor> + Send + Sync>;

/// A width or height shift range (Keras accepts a float, an int, or a list).
#[derive(Clone, Debug, PartialEq)]
pub enum ShiftRange {
    /// Uniform in `[-r, r)`: a fraction of the size when `r < 1`, else pixels.
    Uniform(f64),
    /// One of the values, with a random sign (Keras's int `n` = the values `0..n`).
    Choices(Vec<f64>),
}

impl ShiftRange {
    fn is_active(&self) -> bool {
        match self {
            ShiftRange::Uniform(r) => *r != 0.0,
            ShiftRange::Choices(v) => !v.is_empty(),
        }
    }

    fn draw(&self, rng: &mut Rng, size: usize) -> f64 {
        let (v, max) = match self {
            ShiftRange::Uniform(r) => (uniform(rng, -r, *r), *r),
            ShiftRange::Choices(c) => {
                let v = c[rng.below(c.len() as u64) as usize];
                let sign = if rng.below(2) == 0 { -1.0 } else { 1.0 };
                (v * sign, c.iter().cloned().fold(f64::NEG_INFINITY, f64::max))
            }
        };
        if max < 1.0 {
            v * size as f64
        } else {
            v
        }
    }
}

/// One image's random transformation (Keras's `get_random_transform` dict).
#[derive(Clone, Debug, PartialEq)]
pub struct TransformParams {
    /// Rotation, shift, shear and zoom.
    pub affine: AffineParams,
    /// Flip the columns.
    pub flip_horizontal: bool,
    /// Flip the rows.
    pub flip_vertical: bool,
    /// Added to every channel (clipped to the image's range).
    pub channel_shift_intensity: Option<f32>,
    /// PIL brightness factor.
    pub brightness: Option<f32>,
}

/// Keras `ImageDataGenerator`: every argument of the legacy class, as builder methods
/// (channels-last images; `dtype` float32).
///
/// ```
/// use keras::preprocessing::image::ImageDataGenerator;
/// use keras::utils::Sequence;
/// let gen = ImageDataGenerator::new().rotation_range(10.0).horizontal_flip(true).rescale(1.0 / 255.0);
/// let x = keras::Tensor::new(vec![128.0; 10 * 8 * 8 * 1], [10, 8, 8, 1]).unwrap();
/// let y = keras::Tensor::from_i32((0..10).map(|i| i % 2).collect(), [10]).unwrap();
/// let flow = gen.flow(&x, Some(&y), keras::preprocessing::image::FlowArgs::default().batch_size(4).seed(1)).unwrap();
/// assert_eq!(flow.len(), 3);
/// assert_eq!(flow.get_batch(2).unwrap().x.as_tensor().unwrap().shape(), &[2, 8, 8, 1]);
/// ```
#[derive(Clone)]
pub struct ImageDataGenerator {
    pub(crate) featurewise_center: bool,
    pub(crate) samplewise_center: bool,
    pub(crate) featurewise_std_normalization: bool,
    pub(crate) samplewise_std_normalization: bool,
    pub(crate) zca_whitening: bool,
    pub(crate) zca_epsilon: f64,
    pub(crate) rotation_range: f64,
    pub(crate) width_shift_range: ShiftRange,
    pub(crate) height_shift_range: ShiftRange,
    pub(crate) brightness_range: Option<(f64, f64)>,
    pub(crate) shear_range: f64,
    pub(crate) zoom_range: (f64, f64),
    pub(crate) channel_shift_range: f64,
    pub(crate) fill_mode: FillMode,
    pub(crate) cval: f32,
    pub(crate) horizontal_flip: bool,
    pub(crate) vertical_flip: bool,
    pub(crate) rescale: Option<f32>,
    pub(crate) preprocessing_function: Option<PreprocessingFunction>,
    pub(crate) validation_split: f64,
    pub(crate) interpolation_order: u8,
    /// Featurewise mean per channel (set by `fit`).
    pub(crate) mean: Option<Vec<f32>>,
    /// Featurewise std per channel (set by `fit`).
    pub(crate) std: Option<Vec<f32>>,
    /// ZCA matrix `(d, d)`, `d = h * w * c` (set by `fit`).
    pub(crate) zca_whitening_matrix: Option<Vec<f32>>,
    pub(crate) error: Option<Error>,
}

impl Default for ImageDataGenerator {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! flag {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub fn $name(mut self, yes: bool) -> Self {
            self.$name = yes;
            self.reconcile();
            self
        }
    };
}

impl ImageDataGenerator {
    /// A generator that does nothing (Keras's defaults).
    pub fn new() -> Self {
        ImageDataGenerator {
            featurewise_center: false,
            samplewise_center: false,
            featurewise_std_normalization: false,
            samplewise_std_normalization: false,
            zca_whitening: false,
            zca_epsilon: 1e-6,
            rotation_range: 0.0,
            width_shift_range: ShiftRange::Uniform(0.0),
            height_shift_range: ShiftRange::Uniform(0.0),
            brightness_range: None,
            shear_range: 0.0,
            zoom_range: (1.0, 1.0),
            channel_shift_range: 0.0,
            fill_mode: FillMode::Nearest,
            cval: 0.0,
            horizontal_flip: false,
            vertical_flip: false,
            rescale: None,
            preprocessing_function: None,
            validation_split: 0.0,
            interpolation_order: 1,
            mean: None,
            std: None,
            zca_whitening_matrix: None,
            error: None,
        }
    }

    fn fail(&mut self, e: Error) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Keras's overrides: ZCA implies featurewise centering and drops featurewise std;
    /// featurewise std implies featurewise centering; samplewise std implies samplewise centering.
    fn reconcile(&mut self) {
        if self.zca_whitening {
            self.featurewise_center = true;
            self.featurewise_std_normalization = false;
        }
        if self.featurewise_std_normalization {
            self.featurewise_center = true;
        }
        if self.samplewise_std_normalization {
            self.samplewise_center = true;
        }
    }

    flag!(
        /// Subtract the dataset mean per channel (needs `fit`).
        featurewise_center
    );
    flag!(
        /// Subtract each image's mean.
        samplewise_center
    );
    flag!(
        /// Divide by the dataset std per channel (needs `fit`).
        featurewise_std_normalization
    );
    flag!(
        /// Divide each image by its std.
        samplewise_std_normalization
    );
    flag!(
        /// ZCA whitening (needs `fit`; cost grows as `(h * w * c)^3`).
        zca_whitening
    );
    flag!(
        /// Random horizontal flips.
        horizontal_flip
    );
    flag!(
        /// Random vertical flips.
        vertical_flip
    );

    setters! {
        /// Epsilon of ZCA whitening (default 1e-6).
        zca_epsilon: f64,
        /// Random rotations in `[-degrees, degrees]`.
        rotation_range: f64,
    }

    /// Width shift: fraction of the width if `< 1`, else pixels.
    pub fn width_shift_range(mut self, r: f64) -> Self {
        self.width_shift_range = ShiftRange::Uniform(r);
        self
    }

    /// Height shift: fraction of the height if `< 1`, else pixels.
    pub fn height_shift_range(mut self, r: f64) -> Self {
        self.height_shift_range = ShiftRange::Uniform(r);
        self
    }

    /// Width shift drawn from these values with a random sign.
    pub fn width_shift_choices(mut self, values: &[f64]) -> Self {
        self.width_shift_range = ShiftRange::Choices(values.to_vec());
        self
    }

    /// Height shift drawn from these values with a random sign.
    pub fn height_shift_choices(mut self, values: &[f64]) -> Self {
        self.height_shift_range = ShiftRange::Choices(values.to_vec());
        self
    }

    /// Brightness factor drawn from `[low, high]` (PIL's enhancement; 1 = unchanged).
    pub fn brightness_range(mut self, low: f64, high: f64) -> Self {
        self.brightness_range = Some((low, high));
        self
    }

    crate::setters::setters! {
        /// Shear angle in `[-degrees, degrees]` (counter-clockwise).
        shear_range: f64,
    }

    /// Zoom in `[1 - z, 1 + z]`.
    pub fn zoom_range(mut self, z: f64) -> Self {
        self.zoom_range = (1.0 - z, 1.0 + z);
        self
    }

    /// Zoom in `[low, high]`.
    pub fn zoom_range_between(mut self, low: f64, high: f64) -> Self {
        self.zoom_range = (low, high);
        self
    }

    crate::setters::setters! {
        /// Random channel shifts in `[-r, r]`.
        channel_shift_range: f64,
    }

    /// `"nearest"` (default), `"constant"`, `"reflect"` or `"wrap"`.
    pub fn fill_mode(mut self, mode: &str) -> Self {
        match mode.parse() {
            Ok(m) => self.fill_mode = m,
            Err(e) => self.fail(e),
        }
        self
    }

    crate::setters::setters! {
        /// Value of `fill_mode="constant"`.
        cval: f32,
    }

    /// Multiplies every image by this factor (before the other normalizations).
    pub fn rescale(mut self, factor: f32) -> Self {
        self.rescale = (factor != 0.0).then_some(factor);
        self
    }

    /// Runs on each image after augmentation, before normalization.
    pub fn preprocessing_function(
        mut self,
        f: impl Fn(&Tensor) -> Result<Tensor> + Send + Sync + 'static,
    ) -> Self {
        self.preprocessing_function = Some(Arc::new(f));
        self
    }

    /// Fraction of images reserved for validation (strictly between 0 and 1).
    pub fn validation_split(mut self, fraction: f64) -> Self {
        if fraction != 0.0 && !(fraction > 0.0 && fraction < 1.0) {
            self.fail(Error::InvalidArgument(format!(
                "`validation_split` must be strictly between 0 and 1.  Received: {fraction}"
            )));
        }
        self.validation_split = fraction;
        self
    }

    /// Spline order of the affine transforms: 0 (nearest) or 1 (linear, the default).
    pub fn interpolation_order(mut self, order: u8) -> Self {
        if order > 1 {
            self.fail(Error::InvalidArgument(format!(
                "interpolation_order {order} is not supported (0 or 1)"
            )));
        }
        self.interpolation_order = order;
        self
    }

    /// Checks the arguments (the first invalid one is reported).
    pub fn check(&self) -> Result<()> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        Ok(())
    }

    /// The featurewise mean per channel computed by `fit`.
    pub fn mean(&self) -> Option<&[f32]> {
        self.mean.as_deref()
    }

    /// The featurewise std per channel computed by `fit`.
    pub fn std(&self) -> Option<&[f32]> {
        self.std.as_deref()
    }

    /// Keras's `get_random_transform` for an image of size `(h, w)`.
    pub fn get_random_transform(&self, h: usize, w: usize, rng: &mut Rng) -> TransformParams {
        let theta = if self.rotation_range != 0.0 {
            uniform(rng, -self.rotation_range, self.rotation_range)
        } else {
            0.0
        };
        let tx = if self.height_shift_range.is_active() { self.height_shift_range.draw(rng, h) } else { 0.0 };
        let ty = if self.width_shift_range.is_active() { self.width_shift_range.draw(rng, w) } else { 0.0 };
        let shear =
            if self.shear_range != 0.0 { uniform(rng, -self.shear_range, self.shear_range) } else { 0.0 };
        let (zx, zy) = if self.zoom_range == (1.0, 1.0) {
            (1.0, 1.0)
        } else {
            (
                uniform(rng, self.zoom_range.0, self.zoom_range.1),
                uniform(rng, self.zoom_range.0, self.zoom_range.1),
            )
        };
        let flip_horizontal = rng.uniform_f64() < 0.5 && self.horizontal_flip;
        let flip_vertical = rng.uniform_f64() < 0.5 && self.vertical_flip;
        let channel_shift_intensity = (self.channel_shift_range != 0.0)
            .then(|| uniform(rng, -self.channel_shift_range, self.channel_shift_range) as f32);
        let brightness = self.brightness_range.map(|(lo, hi)| uniform(rng, lo, hi) as f32);
        TransformParams {
            affine: AffineParams { theta, tx, ty, shear, zx, zy },
            flip_horizontal,
            flip_vertical,
            channel_shift_intensity,
            brightness,
        }
    }

    /// Keras's `apply_transform` on one `(h, w, c)` image, in place.
    pub(crate) fn apply_transform_data(
        &self,
        img: &mut Vec<f32>,
        dims: (usize, usize, usize),
        p: &TransformParams,
    ) {
        let (h, w, c) = dims;
        *img = affine_image(img, dims, &p.affine, self.fill_mode, self.cval, self.interpolation_order);
        if let Some(i) = p.channel_shift_intensity {
            channel_shift(img, i);
        }
        if p.flip_horizontal {
            flip_image(img, h, w, c, true, false);
        }
        if p.flip_vertical {
            flip_image(img, h, w, c, false, true);
        }
        if let Some(b) = p.brightness {
            brightness_shift(img, b, false);
        }
    }

    /// `apply_transform(x, params)` on one `(h, w, c)` image.
    pub fn apply_transform(&self, x: &Tensor, p: &TransformParams) -> Result<Tensor> {
        let mut img = single(x, "apply_transform")?;
        self.apply_transform_data(&mut img.data, (img.h, img.w, img.c), p);
        img.into_tensor()
    }

    /// `random_transform(x)`: a random transformation of one image drawn from `rng`.
    pub fn random_transform(&self, x: &Tensor, rng: &mut Rng) -> Result<Tensor> {
        let img = single(x, "random_transform")?;
        let p = self.get_random_transform(img.h, img.w, rng);
        self.apply_transform(x, &p)
    }

    /// Keras's `standardize` on one image's values, in place (preprocessing function,
    /// rescale, samplewise then featurewise normalization, ZCA).
    pub(crate) fn standardize_data(&self, img: &mut Vec<f32>, dims: (usize, usize, usize)) -> Result<()> {
        let (h, w, c) = dims;
        if let Some(f) = &self.preprocessing_function {
            let out = f(&Tensor::new(img.clone(), [h, w, c])?)?;
            if out.shape() != [h, w, c] {
                keras_bail!(
                    Shape,
                    "preprocessing_function must return an image of shape {:?}, got {:?}",
                    [h, w, c],
                    out.shape()
                );
            }
            *img = out.to_f32_vec();
        }
        if let Some(s) = self.rescale {
            img.iter_mut().for_each(|v| *v *= s);
        }
        let n = img.len().max(1) as f64;
        if self.samplewise_center {
            let mean = (img.iter().map(|&v| v as f64).sum::<f64>() / n) as f32;
            img.iter_mut().for_each(|v| *v -= mean);
        }
        if self.samplewise_std_normalization {
            let mean = img.iter().map(|&v| v as f64).sum::<f64>() / n;
            let std = (img.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt() as f32;
            img.iter_mut().for_each(|v| *v /= std + 1e-6);
        }
        if self.featurewise_center {
            if let Some(m) = &self.mean {
                for p in img.chunks_mut(c) {
                    p.iter_mut().zip(m).for_each(|(v, m)| *v -= m);
                }
            }
        }
        if self.featurewise_std_normalization {
            if let Some(s) = &self.std {
                for p in img.chunks_mut(c) {
                    p.iter_mut().zip(s).for_each(|(v, s)| *v /= s + 1e-6);
                }
            }
        }
        if self.zca_whitening {
            if let Some(z) = &self.zca_whitening_matrix {
                let d = img.len();
                if z.len() != d * d {
                    keras_bail!(
                        Shape,
                        "ZCA matrix was fitted on images of {} values, got one of {d}",
                        (z.len() as f64).sqrt()
                    );
                }
                let out: Vec<f32> = (0..d).map(|j| (0..d).map(|i| img[i] * z[i * d + j]).sum()).collect();
                *img = out;
            }
        }
        Ok(())
    }

    /// `standardize(x)` on one `(h, w, c)` image.
    pub fn standardize(&self, x: &Tensor) -> Result<Tensor> {
        let mut img = single(x, "standardize")?;
        self.standardize_data(&mut img.data, (img.h, img.w, img.c))?;
        img.into_tensor()
    }

    /// `fit(x, augment, rounds, seed)`: computes the featurewise mean/std and the ZCA matrix
    /// from a `(n, h, w, c)` sample (after `rescale`, and `rounds` random augmentations of it
    /// when `augment`).
    pub fn fit(&mut self, x: &Tensor, augment: bool, rounds: usize, seed: Option<u64>) -> Result<()> {
        self.check()?;
        let img = Images::from_tensor(x, "ImageDataGenerator.fit")?;
        if !img.batched {
            keras_bail!(Shape, "Input to `.fit()` should have rank 4. Got array with shape: {:?}", x.shape());
        }
        if img.n == 0 {
            keras_bail!(Value, "ImageDataGenerator.fit: got no images");
        }
        let (n, h, w, c) = (img.n, img.h, img.w, img.c);
        let mut data = img.data;
        if let Some(s) = self.rescale {
            data.iter_mut().for_each(|v| *v *= s);
        }
        let per = h * w * c;
        if augment {
            let mut rng = match seed {
                Some(s) => Rng::new(s),
                None => keras_engine::with_global_rng(|r| r.fork()),
            };
            let mut ax = Vec::with_capacity(rounds * data.len());
            for _ in 0..rounds.max(1) {
                for i in 0..n {
                    let mut one = data[i * per..(i + 1) * per].to_vec();
                    let p = self.get_random_transform(h, w, &mut rng);
                    self.apply_transform_data(&mut one, (h, w, c), &p);
                    ax.extend(one);
                }
            }
            data = ax;
        }
        let count = data.len() / c;
        if self.featurewise_center {
            let mut mean = vec![0.0f64; c];
            for p in data.chunks(c) {
                mean.iter_mut().zip(p).for_each(|(m, v)| *m += *v as f64);
            }
            let mean: Vec<f32> = mean.iter().map(|m| (m / count as f64) as f32).collect();
            for p in data.chunks_mut(c) {
                p.iter_mut().zip(&mean).for_each(|(v, m)| *v -= m);
            }
            self.mean = Some(mean);
        }
        if self.featurewise_std_normalization {
            let mut var = vec![0.0f64; c];
            let mut mean = vec![0.0f64; c];
            for p in data.chunks(c) {
                mean.iter_mut().zip(p).for_each(|(m, v)| *m += *v as f64);
            }
            mean.iter_mut().for_each(|m| *m /= count as f64);
            for p in data.chunks(c) {
                var.iter_mut().zip(p).zip(&mean).for_each(|((s, v), m)| *s += (*v as f64 - m).powi(2));
            }
            let std: Vec<f32> = var.iter().map(|s| (s / count as f64).sqrt() as f32).collect();
            for p in data.chunks_mut(c) {
                p.iter_mut().zip(&std).for_each(|(v, s)| *v /= s + 1e-6);
            }
            self.std = Some(std);
        }
        if self.zca_whitening {
            self.zca_whitening_matrix = Some(zca_matrix(&data, data.len() / per, per, self.zca_epsilon));
        }
        Ok(())
    }

    /// `flow(x, y, ...)`: batches of augmented, standardized images from arrays. `x` is
    /// `(n, h, w, c)`; `y` (optional) has `n` rows and is passed through.
    pub fn flow(&self, x: &Tensor, y: Option<&Tensor>, opts: FlowArgs) -> Result<NumpyArrayIterator> {
        self.check()?;
        NumpyArrayIterator::new(x, y, self.clone(), opts)
    }

    /// `flow_from_directory(directory, ...)`: batches of images read from the class
    /// sub-folders of `directory` (labels from the folder names). `opts` holds Keras's keyword
    /// arguments with Keras's defaults (`target_size=(256, 256)`, `color_mode="rgb"`,
    /// `class_mode="categorical"`, `batch_size=32`, `shuffle=True`, `interpolation="nearest"`).
    ///
    /// ```no_run
    /// use keras::preprocessing::image::{ClassMode, ColorMode, FlowArgs, ImageDataGenerator, Subset};
    /// let gen = ImageDataGenerator::new().rescale(1.0 / 255.0).validation_split(0.2);
    /// let train = gen.flow_from_directory(
    ///     "data/train",
    ///     FlowArgs::default()
    ///         .target_size(28, 28)
    ///         .color_mode(ColorMode::Grayscale)
    ///         .class_mode(ClassMode::Sparse)
    ///         .subset(Subset::Training),
    /// )?;
    /// # Ok::<(), keras::Error>(())
    /// ```
    pub fn flow_from_directory(
        &self,
        directory: impl AsRef<Path>,
        opts: FlowArgs,
    ) -> Result<DirectoryIterator> {
        self.check()?;
        DirectoryIterator::new(directory.as_ref(), self.clone(), opts)
    }
}

fn single(x: &Tensor, what: &str) -> Result<Images> {
    let img = Images::from_tensor(x, what)?;
    if img.batched {
        keras_bail!(Shape, "{what}: expected one (height, width, channels) image, got shape {:?}", x.shape());
    }
    Ok(img)
}

/// Keras's ZCA: `sigma = X^T X / n`, `U diag(1 / sqrt(s + eps)) U^T` from its eigen
/// decomposition (cyclic Jacobi; `sigma` is symmetric positive semi-definite).
fn zca_matrix(data: &[f32], n: usize, d: usize, eps: f64) -> Vec<f32> {
    let mut a = vec![0.0f64; d * d];
    for row in data.chunks(d) {
        for i in 0..d {
            let xi = row[i] as f64;
            if xi == 0.0 {
                continue;
            }
            for j in i..d {
                a[i * d + j] += xi * row[j] as f64;
            }
        }
    }
    for i in 0..d {
        for j in i..d {
            a[i * d + j] /= n as f64;
            a[j * d + i] = a[i * d + j];
        }
    }
    let mut v = vec![0.0f64; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    for _sweep in 0..50 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * d + j].powi(2))
            .sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let cs = 1.0 / (t * t + 1.0).sqrt();
                let sn = t * cs;
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = cs * akp - sn * akq;
                    a[k * d + q] = sn * akp + cs * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = cs * apk - sn * aqk;
                    a[q * d + k] = sn * apk + cs * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = cs * vkp - sn * vkq;
                    v[k * d + q] = sn * vkp + cs * vkq;
                }
            }
        }
    }
    let s_inv: Vec<f64> = (0..d).map(|i| 1.0 / (a[i * d + i].abs() + eps).sqrt()).collect();
    let mut z = vec![0.0f32; d * d];
    for i in 0..d {
        for j in 0..d {
            z[i * d + j] = (0..d).map(|k| v[i * d + k] * s_inv[k] * v[j * d + k]).sum::<f64>() as f32;
        }
    }
    z
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_computes_featurewise_statistics_and_standardize_uses_them() {
        let x = Tensor::new((0..2 * 2 * 2 * 2).map(|v| v as f32).collect(), [2, 2, 2, 2]).unwrap();
        let mut g = ImageDataGenerator::new().featurewise_std_normalization(true);
        assert!(g.featurewise_center, "std normalization implies centering");
        g.fit(&x, false, 1, None).unwrap();
        assert_eq!(g.mean().unwrap(), &[7.0, 8.0]);
        let s = g.std().unwrap()[0];
        assert!((s - 4.582_576).abs() < 1e-4);
        let one = Tensor::new(x.to_f32_vec()[..8].to_vec(), [2, 2, 2]).unwrap();
        let y = g.standardize(&one).unwrap().to_f32_vec();
        assert!((y[0] - (0.0 - 7.0) / (s + 1e-6)).abs() < 1e-5);
    }

    #[test]
    fn zca_whitens_the_sample() {
        let mut rng = Rng::new(3);
        let n = 64;
        let data: Vec<f32> = (0..n)
            .flat_map(|_| {
                let [a, b, c, d] = [0; 4].map(|_| rng.normal_f64() as f32);
                vec![a, a * 0.8 + b * 0.3, b + 0.5 * c, d - 0.2 * a]
            })
            .collect();
        let x = Tensor::new(data, [n, 2, 2, 1]).unwrap();
        let mut g = ImageDataGenerator::new().zca_whitening(true).zca_epsilon(1e-9);
        assert!(g.featurewise_center, "ZCA implies featurewise centering");
        g.fit(&x, false, 1, None).unwrap();
        // Whitened with the sample's own second moment, the sample's second moment is I.
        let white: Vec<Vec<f32>> = (0..n)
            .map(|i| {
                let one = Tensor::new(x.to_f32_vec()[i * 4..(i + 1) * 4].to_vec(), [2, 2, 1]).unwrap();
                g.standardize(&one).unwrap().to_f32_vec()
            })
            .collect();
        for i in 0..4 {
            for j in 0..4 {
                let cov = white.iter().map(|r| r[i] * r[j]).sum::<f32>() / n as f32;
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((cov - want).abs() < 1e-3, "cov[{i}][{j}] = {cov}");
            }
        }
    }

    #[test]
    fn invalid_arguments_are_reported() {
        assert!(ImageDataGenerator::new().validation_split(1.5).check().is_err());
        assert!(ImageDataGenerator::new().fill_mode("mirror").check().is_err());
        assert!(ImageDataGenerator::new().interpolation_order(3).check().is_err());
        let mut g = ImageDataGenerator::new().featurewise_center(true);
        assert!(g.fit(&Tensor::zeros([2, 2, 2]), false, 1, None).is_err());
    }

    #[test]
    fn random_transforms_respect_their_ranges() {
        let g = ImageDataGenerator::new()
            .rotation_range(15.0)
            .zoom_range(0.2)
            .brightness_range(0.5, 1.5)
            .width_shift_range(0.25);
        let mut rng = Rng::new(9);
        for _ in 0..500 {
            let p = g.get_random_transform(8, 12, &mut rng);
            assert!(p.affine.theta.abs() <= 15.0);
            assert!((0.8..=1.2).contains(&p.affine.zx) && (0.8..=1.2).contains(&p.affine.zy));
            assert!(p.affine.ty.abs() <= 0.25 * 12.0);
            assert!((0.5..=1.5).contains(&p.brightness.unwrap()));
            assert!(!p.flip_horizontal && !p.flip_vertical && p.channel_shift_intensity.is_none());
        }
    }
}
