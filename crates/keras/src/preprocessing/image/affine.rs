//! `keras.ops.image.affine_transform` with TensorFlow's numerics (`ImageProjectiveTransformV3`):
//! each output pixel `(x, y)` samples the input at
//! `((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)` with `k = c0 x + c1 y + 1`.

use std::str::FromStr;

use super::images::Images;
use crate::{keras_bail, Error, Result, Tensor};

/// How points outside the input are filled (Keras `fill_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FillMode {
    /// `(d c b a | a b c d | d c b a)`: reflect about the edge of the last pixel.
    Reflect,
    /// `(a b c d | a b c d | a b c d)`: wrap around.
    Wrap,
    /// `(k k k k | a b c d | k k k k)`: the constant `fill_value`.
    Constant,
    /// `(a a a a | a b c d | d d d d)`: the nearest edge pixel.
    Nearest,
}

impl FillMode {
    /// The Keras name.
    pub fn name(self) -> &'static str {
        match self {
            FillMode::Reflect => "reflect",
            FillMode::Wrap => "wrap",
            FillMode::Constant => "constant",
            FillMode::Nearest => "nearest",
        }
    }
}

impl FromStr for FillMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "reflect" => FillMode::Reflect,
            "wrap" => FillMode::Wrap,
            "constant" => FillMode::Constant,
            "nearest" => FillMode::Nearest,
            _ => keras_bail!(
                InvalidArgument,
                "Unknown `fill_mode` {s}. Expected of one ('reflect', 'wrap', 'constant', 'nearest')."
            ),
        })
    }
}

/// Interpolation of [`affine_transform`]: `nearest` or `bilinear`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AffineInterpolation {
    /// Nearest pixel (coordinates rounded half away from zero).
    Nearest,
    /// Bilinear.
    Bilinear,
}

impl AffineInterpolation {
    /// The Keras name.
    pub fn name(self) -> &'static str {
        match self {
            AffineInterpolation::Nearest => "nearest",
            AffineInterpolation::Bilinear => "bilinear",
        }
    }
}

impl FromStr for AffineInterpolation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "nearest" => AffineInterpolation::Nearest,
            "bilinear" => AffineInterpolation::Bilinear,
            _ => keras_bail!(
                InvalidArgument,
                "Unknown `interpolation` {s}. Expected of one ('nearest', 'bilinear')."
            ),
        })
    }
}

/// TF's `MapCoordinate`: a continuous input coordinate moved inside `[0, len - 1]`.
fn map_coordinate(x: f32, len: usize, mode: FillMode) -> f32 {
    let lenf = len as f32;
    let mut c = x;
    match mode {
        FillMode::Constant => return x,
        FillMode::Nearest => {}
        FillMode::Reflect => {
            if c < 0.0 {
                if len <= 1 {
                    c = 0.0;
                } else {
                    let sz2 = 2.0 * lenf;
                    if c < sz2 {
                        c += sz2 * ((-c / sz2) as i64) as f32;
                    }
                    c = if c < -lenf { c + sz2 } else { -c - 1.0 };
                }
            } else if c > lenf - 1.0 {
                if len <= 1 {
                    c = 0.0;
                } else {
                    let sz2 = 2.0 * lenf;
                    c -= sz2 * ((c / sz2) as i64) as f32;
                    if c >= lenf {
                        c = sz2 - c - 1.0;
                    }
                }
            }
        }
        FillMode::Wrap => {
            if c < 0.0 {
                if len <= 1 {
                    c = 0.0;
                } else {
                    let sz = lenf - 1.0;
                    c += lenf * (((-c / sz) as i64) + 1) as f32;
                }
            } else if c > lenf - 1.0 {
                if len <= 1 {
                    c = 0.0;
                } else {
                    let sz = lenf - 1.0;
                    c -= lenf * ((c / sz) as i64) as f32;
                }
            }
        }
    }
    c.clamp(0.0, lenf - 1.0)
}

/// Samples image `src` (h, w, c) with one transform into `dst` (oh, ow, c).
#[allow(clippy::too_many_arguments)]
pub(crate) fn transform_one(
    src: &[f32],
    (h, w, c): (usize, usize, usize),
    dst: &mut [f32],
    (oh, ow): (usize, usize),
    t: &[f32; 8],
    interp: AffineInterpolation,
    mode: FillMode,
    fill: f32,
) {
    let read = |y: i64, x: i64, k: usize| -> f32 {
        if y >= 0 && (y as usize) < h && x >= 0 && (x as usize) < w {
            src[(y as usize * w + x as usize) * c + k]
        } else {
            fill
        }
    };
    for oy in 0..oh {
        for ox in 0..ow {
            let (xo, yo) = (ox as f32, oy as f32);
            let o = (oy * ow + ox) * c;
            let k = t[6] * xo + t[7] * yo + 1.0;
            if k == 0.0 {
                dst[o..o + c].fill(fill);
                continue;
            }
            let xi = (t[0] * xo + t[1] * yo + t[2]) / k;
            let yi = (t[3] * xo + t[4] * yo + t[5]) / k;
            let x = map_coordinate(xi, w, mode);
            let y = map_coordinate(yi, h, mode);
            match interp {
                AffineInterpolation::Nearest => {
                    let (yr, xr) = (y.round() as i64, x.round() as i64);
                    for ch in 0..c {
                        dst[o + ch] = read(yr, xr, ch);
                    }
                }
                AffineInterpolation::Bilinear => {
                    let (yf, xf) = (y.floor(), x.floor());
                    let (yc, xc) = (yf + 1.0, xf + 1.0);
                    for ch in 0..c {
                        let v_yf = (xc - x) * read(yf as i64, xf as i64, ch)
                            + (x - xf) * read(yf as i64, xc as i64, ch);
                        let v_yc = (xc - x) * read(yc as i64, xf as i64, ch)
                            + (x - xf) * read(yc as i64, xc as i64, ch);
                        dst[o + ch] = (yc - y) * v_yf + (y - yf) * v_yc;
                    }
                }
            }
        }
    }
}

pub(crate) fn transform_images(
    img: &Images,
    transforms: &[[f32; 8]],
    interp: AffineInterpolation,
    mode: FillMode,
    fill: f32,
) -> Result<Images> {
    if transforms.len() != 1 && transforms.len() != img.n {
        keras_bail!(
            Shape,
            "affine_transform: {} transforms for a batch of {} images (give one, or one per image)",
            transforms.len(),
            img.n
        );
    }
    let mut out = Images::zeros(img.n, img.h, img.w, img.c, img.batched);
    for b in 0..img.n {
        let t = &transforms[if transforms.len() == 1 { 0 } else { b }];
        let dims = (img.h, img.w, img.c);
        transform_one(img.image(b), dims, out.image_mut(b), (img.h, img.w), t, interp, mode, fill);
    }
    Ok(out)
}

/// `keras.ops.image.affine_transform(images, transform, interpolation, fill_mode, fill_value)`
/// for `(h, w, c)` or `(n, h, w, c)` images and one transform `[a0, a1, a2, b0, b1, b2, c0, c1]`
/// or one per image.
pub fn affine_transform(
    images: &Tensor,
    transforms: &[[f32; 8]],
    interpolation: AffineInterpolation,
    fill_mode: FillMode,
    fill_value: f32,
) -> Result<Tensor> {
    let img = Images::from_tensor(images, "affine_transform")?;
    transform_images(&img, transforms, interpolation, fill_mode, fill_value)?.into_tensor()
}

/// Keras's `_compute_affine_matrix`: scale, shear and rotation (degrees) about the point
/// `(center_x, center_y)` given as fractions of `(width - 1, height - 1)`, then translation.
#[allow(clippy::too_many_arguments)]
pub fn compute_affine_matrix(
    center: (f32, f32),
    angle_deg: f32,
    translate: (f32, f32),
    scale: f32,
    shear_deg: (f32, f32),
    height: usize,
    width: usize,
) -> [f32; 8] {
    let d2r = std::f32::consts::PI / 180.0;
    let angle = angle_deg * d2r;
    let shx = (shear_deg.0 * d2r).tan();
    let shy = (shear_deg.1 * d2r).tan();
    let cx = center.0 * (width as f32 - 1.0);
    let cy = center.1 * (height as f32 - 1.0);
    let (s, c) = angle.sin_cos();
    let a0 = scale * (c + shx * s);
    let a1 = scale * (-s + shx * c);
    let a2 = translate.0 + cx - cx * a0 - cy * a1;
    let b0 = scale * (shy * c + s);
    let b1 = scale * (shy * -s + c);
    let b2 = translate.1 + cy - cx * b0 - cy * b1;
    [a0, a1, a2, b0, b1, b2, 0.0, 0.0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_modes_map_like_tensorflow() {
        // len 4: reflect -1 -> 0, -2 -> 1, 4 -> 3, 5 -> 2; wrap -1 -> 3 (TF's `len - 1` period quirk
        // aside, integer points wrap by len); nearest clamps.
        assert_eq!(map_coordinate(-1.0, 4, FillMode::Reflect), 0.0);
        assert_eq!(map_coordinate(-2.0, 4, FillMode::Reflect), 1.0);
        assert_eq!(map_coordinate(4.0, 4, FillMode::Reflect), 3.0);
        assert_eq!(map_coordinate(5.0, 4, FillMode::Reflect), 2.0);
        assert_eq!(map_coordinate(-7.0, 4, FillMode::Nearest), 0.0);
        assert_eq!(map_coordinate(9.0, 4, FillMode::Nearest), 3.0);
        assert_eq!(map_coordinate(-9.0, 4, FillMode::Constant), -9.0);
        assert_eq!(map_coordinate(4.0, 4, FillMode::Wrap), 0.0);
    }

    #[test]
    fn identity_transform_is_identity() {
        let x = Tensor::new((0..24).map(|v| v as f32).collect(), [1, 3, 4, 2]).unwrap();
        let id = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0];
        for interp in [AffineInterpolation::Nearest, AffineInterpolation::Bilinear] {
            let y = affine_transform(&x, &[id], interp, FillMode::Constant, 0.0).unwrap();
            assert_eq!(y.to_f32_vec(), x.to_f32_vec());
        }
        let m = compute_affine_matrix((0.5, 0.5), 0.0, (0.0, 0.0), 1.0, (0.0, 0.0), 3, 4);
        assert_eq!(m, id);
        assert!("mirror".parse::<FillMode>().is_err());
        assert!("bicubic".parse::<AffineInterpolation>().is_err());
        assert!(
            affine_transform(&x, &[id, id], AffineInterpolation::Nearest, FillMode::Constant, 0.0).is_err()
        );
    }
}
