//! Random augmentations of one image, as the functions of Keras's legacy
//! `keras.preprocessing.image` (`random_rotation`, `random_shift`, `random_shear`,
//! `random_zoom`, `random_channel_shift`, `random_brightness`, `apply_affine_transform`,
//! `flip_axis`) plus `random_crop`, `random_contrast` and `random_flip`.
//!
//! Images are channels-last `(height, width, channels)` tensors (the legacy Python functions
//! default to channels first). Randomness comes from the [`Rng`] passed in, so the same
//! generator state gives the same result. Affine transforms sample like
//! `scipy.ndimage.affine_transform` with `order` 0 (nearest) or 1 (linear) and its fill modes.

use keras_engine::Rng;

use super::affine::FillMode;
use super::images::Images;
use crate::{keras_bail, Result, Tensor};

/// Parameters of [`apply_affine_transform`] (Keras's argument names; angles in degrees,
/// shifts in pixels). As in Keras, the matrix is built in `(x, y)` order and then swapped to
/// `(row, col)`, so `tx`/`zx` act on columns and `ty`/`zy` on rows, and the centre offset uses
/// `(height, width)` for `(x, y)` (Keras's legacy behaviour on non-square images).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AffineParams {
    /// Rotation angle in degrees.
    pub theta: f64,
    /// Width shift (columns).
    pub tx: f64,
    /// Height shift (rows).
    pub ty: f64,
    /// Shear angle in degrees.
    pub shear: f64,
    /// Zoom along the columns.
    pub zx: f64,
    /// Zoom along the rows.
    pub zy: f64,
}

impl Default for AffineParams {
    fn default() -> Self {
        AffineParams { theta: 0.0, tx: 0.0, ty: 0.0, shear: 0.0, zx: 1.0, zy: 1.0 }
    }
}

type M3 = [[f64; 3]; 3];

fn matmul(a: &M3, b: &M3) -> M3 {
    let mut c = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            c[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    c
}

/// The `(row, col) -> (row, col)` output-to-input matrix Keras builds (rotation, shift, shear,
/// zoom composed in that order about the image centre), or `None` for the identity.
fn legacy_matrix(p: &AffineParams, h: usize, w: usize) -> Option<M3> {
    let mut m: Option<M3> = None;
    let mut compose = |n: M3| m = Some(m.map_or(n, |t| matmul(&t, &n)));
    if p.theta != 0.0 {
        let t = p.theta.to_radians();
        compose([[t.cos(), -t.sin(), 0.0], [t.sin(), t.cos(), 0.0], [0.0, 0.0, 1.0]]);
    }
    if p.tx != 0.0 || p.ty != 0.0 {
        compose([[1.0, 0.0, p.tx], [0.0, 1.0, p.ty], [0.0, 0.0, 1.0]]);
    }
    if p.shear != 0.0 {
        let s = p.shear.to_radians();
        compose([[1.0, -s.sin(), 0.0], [0.0, s.cos(), 0.0], [0.0, 0.0, 1.0]]);
    }
    if p.zx != 1.0 || p.zy != 1.0 {
        compose([[p.zx, 0.0, 0.0], [0.0, p.zy, 0.0], [0.0, 0.0, 1.0]]);
    }
    let m = m?;
    // transform_matrix_offset_center(m, h, w), with Keras's (x, y) = (rows, cols).
    let (ox, oy) = (h as f64 / 2.0 - 0.5, w as f64 / 2.0 - 0.5);
    let offset = [[1.0, 0.0, ox], [0.0, 1.0, oy], [0.0, 0.0, 1.0]];
    let reset = [[1.0, 0.0, -ox], [0.0, 1.0, -oy], [0.0, 0.0, 1.0]];
    let t = matmul(&matmul(&offset, &m), &reset);
    // Keras swaps the first two rows and columns: (x, y) -> (row, col).
    Some([[t[1][1], t[1][0], t[1][2]], [t[0][1], t[0][0], t[0][2]], [0.0, 0.0, 1.0]])
}

/// scipy.ndimage's boundary handling of a coordinate (`None`: use `cval`).
fn scipy_coordinate(x: f64, len: usize, mode: FillMode) -> Option<f64> {
    let last = len as f64 - 1.0;
    if len == 1 {
        return if mode == FillMode::Constant && x.abs() > 1e-9 { None } else { Some(0.0) };
    }
    // Inside the image (up to rounding of the matrix) no boundary rule applies.
    if x >= -1e-6 && x <= last + 1e-6 {
        return Some(x.clamp(0.0, last));
    }
    match mode {
        FillMode::Constant => None,
        FillMode::Nearest => Some(x.clamp(0.0, last)),
        FillMode::Reflect => {
            // Half-sample symmetric: (d c b a | a b c d | d c b a).
            let period = 2.0 * len as f64;
            let mut v = (x + 0.5).rem_euclid(period);
            if v >= len as f64 {
                v = period - v;
            }
            Some((v - 0.5).clamp(0.0, last))
        }
        FillMode::Wrap => {
            // scipy's 'wrap': first and last samples coincide (period len - 1).
            Some(x.rem_euclid(last).clamp(0.0, last))
        }
    }
}

#[allow(clippy::too_many_arguments)]
/// Samples `src` at `(row, col)` with linear (`order` 1) or nearest (`order` 0) interpolation.
fn sample(
    img: &[f32],
    (h, w, c): (usize, usize, usize),
    r: f64,
    col: f64,
    order: u8,
    mode: FillMode,
    cval: f32,
    out: &mut [f32],
) {
    let (Some(r), Some(col)) = (scipy_coordinate(r, h, mode), scipy_coordinate(col, w, mode)) else {
        out.fill(cval);
        return;
    };
    let at = |y: usize, x: usize, k: usize| img[(y * w + x) * c + k];
    if order == 0 {
        let (y, x) = ((r.round() as usize).min(h - 1), (col.round() as usize).min(w - 1));
        for (k, o) in out.iter_mut().enumerate() {
            *o = at(y, x, k);
        }
        return;
    }
    let (y0, x0) = (r.floor() as usize, col.floor() as usize);
    let (y1, x1) = ((y0 + 1).min(h - 1), (x0 + 1).min(w - 1));
    let (fy, fx) = ((r - y0 as f64) as f32, (col - x0 as f64) as f32);
    for (k, o) in out.iter_mut().enumerate() {
        let top = at(y0, x0, k) * (1.0 - fx) + at(y0, x1, k) * fx;
        let bottom = at(y1, x0, k) * (1.0 - fx) + at(y1, x1, k) * fx;
        *o = top * (1.0 - fy) + bottom * fy;
    }
}

pub(crate) fn affine_image(
    img: &[f32],
    dims: (usize, usize, usize),
    p: &AffineParams,
    mode: FillMode,
    cval: f32,
    order: u8,
) -> Vec<f32> {
    let (h, w, c) = dims;
    let Some(m) = legacy_matrix(p, h, w) else {
        return img.to_vec();
    };
    let mut out = vec![0.0f32; img.len()];
    for y in 0..h {
        for x in 0..w {
            let (yf, xf) = (y as f64, x as f64);
            let r = m[0][0] * yf + m[0][1] * xf + m[0][2];
            let col = m[1][0] * yf + m[1][1] * xf + m[1][2];
            let o = (y * w + x) * c;
            sample(img, dims, r, col, order, mode, cval, &mut out[o..o + c]);
        }
    }
    out
}

fn single(x: &Tensor, what: &str) -> Result<Images> {
    let img = Images::from_tensor(x, what)?;
    if img.batched {
        keras_bail!(Shape, "{what}: expected one (height, width, channels) image, got shape {:?}", x.shape());
    }
    Ok(img)
}

fn with_data(img: Images, data: Vec<f32>) -> Result<Tensor> {
    Images { data, ..img }.into_tensor()
}

/// `apply_affine_transform`: rotation, shift, shear and zoom of one image about its centre.
/// `order` is the spline order, 0 (nearest) or 1 (linear).
pub fn apply_affine_transform(
    x: &Tensor,
    p: &AffineParams,
    fill_mode: FillMode,
    cval: f32,
    order: u8,
) -> Result<Tensor> {
    if order > 1 {
        keras_bail!(
            InvalidArgument,
            "apply_affine_transform: interpolation order {order} is not supported (0 or 1)"
        );
    }
    let img = single(x, "apply_affine_transform")?;
    let out = affine_image(&img.data, (img.h, img.w, img.c), p, fill_mode, cval, order);
    with_data(img, out)
}

/// `random_rotation`: rotation by a uniform angle in `[-rg, rg]` degrees.
pub fn random_rotation(x: &Tensor, rg: f64, fill_mode: FillMode, cval: f32, rng: &mut Rng) -> Result<Tensor> {
    let theta = uniform(rng, -rg, rg);
    apply_affine_transform(x, &AffineParams { theta, ..Default::default() }, fill_mode, cval, 1)
}

/// `random_shift`: shifts by uniform fractions in `[-hrg, hrg]` of the height and
/// `[-wrg, wrg]` of the width.
pub fn random_shift(
    x: &Tensor,
    wrg: f64,
    hrg: f64,
    fill_mode: FillMode,
    cval: f32,
    rng: &mut Rng,
) -> Result<Tensor> {
    let (h, w) = (x.shape().first().copied().unwrap_or(0), x.shape().get(1).copied().unwrap_or(0));
    let tx = uniform(rng, -hrg, hrg) * h as f64;
    let ty = uniform(rng, -wrg, wrg) * w as f64;
    apply_affine_transform(x, &AffineParams { tx, ty, ..Default::default() }, fill_mode, cval, 1)
}

/// `random_shear`: shear by a uniform angle in `[-intensity, intensity]` degrees.
pub fn random_shear(
    x: &Tensor,
    intensity: f64,
    fill_mode: FillMode,
    cval: f32,
    rng: &mut Rng,
) -> Result<Tensor> {
    let shear = uniform(rng, -intensity, intensity);
    apply_affine_transform(x, &AffineParams { shear, ..Default::default() }, fill_mode, cval, 1)
}

/// `random_zoom`: independent zooms in `[zoom_range.0, zoom_range.1]` along rows and columns.
pub fn random_zoom(
    x: &Tensor,
    zoom_range: (f64, f64),
    fill_mode: FillMode,
    cval: f32,
    rng: &mut Rng,
) -> Result<Tensor> {
    let (zx, zy) = if zoom_range == (1.0, 1.0) {
        (1.0, 1.0)
    } else {
        (uniform(rng, zoom_range.0, zoom_range.1), uniform(rng, zoom_range.0, zoom_range.1))
    };
    apply_affine_transform(x, &AffineParams { zx, zy, ..Default::default() }, fill_mode, cval, 1)
}

pub(crate) fn channel_shift(img: &mut [f32], intensity: f32) {
    let min = img.iter().cloned().fold(f32::INFINITY, f32::min);
    let max = img.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    img.iter_mut().for_each(|v| *v = (*v + intensity).clamp(min, max));
}

/// `apply_channel_shift`: adds `intensity` to every channel, clipped to the image's range.
pub fn apply_channel_shift(x: &Tensor, intensity: f32) -> Result<Tensor> {
    let mut img = single(x, "apply_channel_shift")?;
    channel_shift(&mut img.data, intensity);
    img.into_tensor()
}

/// `random_channel_shift`: [`apply_channel_shift`] by a uniform value in
/// `[-intensity_range, intensity_range]`.
pub fn random_channel_shift(x: &Tensor, intensity_range: f64, rng: &mut Rng) -> Result<Tensor> {
    apply_channel_shift(x, uniform(rng, -intensity_range, intensity_range) as f32)
}

/// PIL's `ImageEnhance.Brightness(...).enhance(b)` on 8-bit values: `trunc(v * b)` clipped.
pub(crate) fn brightness_shift(img: &mut [f32], brightness: f32, scale: bool) {
    if img.is_empty() {
        return;
    }
    let min = img.iter().cloned().fold(f32::INFINITY, f32::min);
    let max = img.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let local = min < 0.0 || max > 255.0;
    if local || scale {
        // array_to_img(scale=True): min-max to 0..255.
        let span = max - min;
        img.iter_mut().for_each(|v| *v = if span != 0.0 { (*v - min) / span * 255.0 } else { 0.0 });
    }
    for v in img.iter_mut() {
        let u8v = v.clamp(0.0, 255.0).trunc();
        *v = (u8v * brightness).clamp(0.0, 255.0).trunc();
    }
    if !scale && local {
        img.iter_mut().for_each(|v| *v = *v / 255.0 * (max - min) + min);
    }
}

/// `apply_brightness_shift`: PIL's brightness enhancement by `brightness` (1 = unchanged).
/// With `scale`, values are first mapped to span 0..255 (as `array_to_img(scale=True)`).
pub fn apply_brightness_shift(x: &Tensor, brightness: f32, scale: bool) -> Result<Tensor> {
    let mut img = single(x, "apply_brightness_shift")?;
    brightness_shift(&mut img.data, brightness, scale);
    img.into_tensor()
}

/// `random_brightness`: [`apply_brightness_shift`] by a uniform value in `brightness_range`.
pub fn random_brightness(
    x: &Tensor,
    brightness_range: (f64, f64),
    scale: bool,
    rng: &mut Rng,
) -> Result<Tensor> {
    let b = uniform(rng, brightness_range.0, brightness_range.1) as f32;
    apply_brightness_shift(x, b, scale)
}

/// `flip_axis`: reverses axis 0 (rows) or 1 (columns) of one image.
pub fn flip_axis(x: &Tensor, axis: usize) -> Result<Tensor> {
    let mut img = single(x, "flip_axis")?;
    if axis > 1 {
        keras_bail!(InvalidArgument, "flip_axis: axis must be 0 (rows) or 1 (columns), got {axis}");
    }
    let (h, w, c) = (img.h, img.w, img.c);
    crate::layers::preprocessing::random_flip::flip_image(&mut img.data, h, w, c, axis == 1, axis == 0);
    img.into_tensor()
}

/// `random_flip`: flips horizontally and/or vertically, each with probability 1/2.
pub fn random_flip(x: &Tensor, horizontal: bool, vertical: bool, rng: &mut Rng) -> Result<Tensor> {
    let mut out = x.clone();
    if horizontal && rng.uniform_f64() < 0.5 {
        out = flip_axis(&out, 1)?;
    }
    if vertical && rng.uniform_f64() < 0.5 {
        out = flip_axis(&out, 0)?;
    }
    Ok(out)
}

/// `random_crop`: a uniformly placed `(height, width)` window of one image.
pub fn random_crop(x: &Tensor, height: usize, width: usize, rng: &mut Rng) -> Result<Tensor> {
    let img = single(x, "random_crop")?;
    if height == 0 || width == 0 || height > img.h || width > img.w {
        keras_bail!(
            InvalidArgument,
            "random_crop: crop size ({height}, {width}) must be positive and fit the image ({}, {})",
            img.h,
            img.w
        );
    }
    let h0 = rng.below((img.h - height + 1) as u64) as usize;
    let w0 = rng.below((img.w - width + 1) as u64) as usize;
    img.crop(h0, w0, height, width).into_tensor()
}

/// `random_contrast`: `(x - mean) * f + mean` per channel with `f` uniform in
/// `[lower, upper]` (no clipping, like `tf.image.random_contrast`).
pub fn random_contrast(x: &Tensor, lower: f64, upper: f64, rng: &mut Rng) -> Result<Tensor> {
    if !(lower <= upper && lower >= 0.0) {
        keras_bail!(InvalidArgument, "random_contrast: need 0 <= lower <= upper, got ({lower}, {upper})");
    }
    let mut img = single(x, "random_contrast")?;
    let f = uniform(rng, lower, upper) as f32;
    let (hw, c) = (img.h * img.w, img.c);
    let mut mean = vec![0.0f32; c];
    for p in img.data.chunks(c) {
        mean.iter_mut().zip(p).for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m /= hw.max(1) as f32);
    for p in img.data.chunks_mut(c) {
        p.iter_mut().zip(&mean).for_each(|(v, m)| *v = (*v - m) * f + m);
    }
    img.into_tensor()
}

pub(crate) fn uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.uniform_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img() -> Tensor {
        Tensor::new((0..5 * 6 * 2).map(|v| ((v * 37) % 101) as f32).collect(), [5, 6, 2]).unwrap()
    }

    #[test]
    fn identity_parameters_change_nothing() {
        let x = img();
        for mode in [FillMode::Constant, FillMode::Nearest, FillMode::Reflect, FillMode::Wrap] {
            let y = apply_affine_transform(&x, &AffineParams::default(), mode, 0.0, 1).unwrap();
            assert_eq!(y.to_f32_vec(), x.to_f32_vec());
            // A full turn is the identity up to rounding.
            let p = AffineParams { theta: 360.0, ..Default::default() };
            let y = apply_affine_transform(&x, &p, mode, 0.0, 1).unwrap();
            for (a, b) in y.to_f32_vec().iter().zip(x.to_f32_vec()) {
                assert!((a - b).abs() < 1e-3, "{mode:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn integer_shift_moves_pixels_and_fills() {
        let x = img();
        let p = AffineParams { tx: 1.0, ..Default::default() };
        let y = apply_affine_transform(&x, &p, FillMode::Constant, -1.0, 1).unwrap().to_f32_vec();
        let xv = x.to_f32_vec();
        // Output column j reads input column j + 1; the last column is outside.
        assert_eq!(y[0..2], xv[2..4]);
        assert_eq!(y[(6 - 1) * 2..6 * 2], [-1.0, -1.0]);
        let n = apply_affine_transform(&x, &p, FillMode::Nearest, 0.0, 1).unwrap().to_f32_vec();
        assert_eq!(n[10..12], xv[10..12]);
    }

    #[test]
    fn flips_brightness_and_channel_shift() {
        let x = img();
        let twice = flip_axis(&flip_axis(&x, 1).unwrap(), 1).unwrap();
        assert_eq!(twice.to_f32_vec(), x.to_f32_vec());
        assert!(flip_axis(&x, 2).is_err());
        let b = apply_brightness_shift(&x, 1.0, false).unwrap();
        assert_eq!(b.to_f32_vec(), x.to_f32_vec());
        let dark = apply_brightness_shift(&x, 0.5, false).unwrap();
        assert!(dark.to_f32_vec().iter().zip(x.to_f32_vec()).all(|(d, v)| *d == (v * 0.5).trunc()));
        let s = apply_channel_shift(&x, 1000.0).unwrap();
        assert!(s.to_f32_vec().iter().all(|&v| v == 100.0));
        let mut r = Rng::new(1);
        assert!(random_crop(&x, 6, 2, &mut r).is_err());
        assert_eq!(random_crop(&x, 3, 4, &mut r).unwrap().shape(), &[3, 4, 2]);
        assert!(apply_affine_transform(
            &Tensor::zeros([1, 2, 2, 1]),
            &AffineParams::default(),
            FillMode::Nearest,
            0.0,
            1
        )
        .is_err());
    }
}
