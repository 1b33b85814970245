//! Element types.

use std::fmt;

/// The element type of a [`crate::Tensor`]. `F32` is the compute type; integer types carry
/// labels, token ids and indices (never smuggled through floats).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit float.
    F32,
    /// 32-bit signed integer.
    I32,
    /// 64-bit signed integer.
    I64,
}

impl DType {
    /// The Keras / NumPy name: `float32`, `int32`, `int64`.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::I32 => "int32",
            DType::I64 => "int64",
        }
    }

    /// Parses a Keras / NumPy dtype name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "float32" => Some(DType::F32),
            "int32" => Some(DType::I32),
            "int64" => Some(DType::I64),
            _ => None,
        }
    }

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 4,
            DType::I64 => 8,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An IEEE 754 half-precision value (NumPy `float16`, given by its bits) widened to float32.
/// Exact: every half-precision value is a float32 value. Tensors have no 16-bit dtype, so
/// half-precision data (weights in Keras files, `.npy` arrays) is widened on read.
///
/// ```
/// use keras_engine::dtype::f16_to_f32;
/// assert_eq!(f16_to_f32(0x3c00), 1.0);
/// assert_eq!(f16_to_f32(0x7bff), 65504.0); // the largest float16
/// assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24)); // the smallest subnormal
/// ```
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    let bits = match (exp, man) {
        (0, 0) => sign,
        // Subnormal: man * 2^-24, renormalized (shift the leading 1 into the implicit bit).
        (0, _) => {
            let shift = man.leading_zeros() - 21;
            sign | ((113 - shift) << 23) | (((man << shift) & 0x3ff) << 13)
        }
        (0x1f, _) => sign | 0x7f80_0000 | (man << 13),
        _ => sign | ((exp + 112) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

/// A bfloat16 value (given by its bits) widened to float32: bfloat16 is the upper half of a
/// float32, so this is exact.
///
/// ```
/// use keras_engine::dtype::bf16_to_f32;
/// assert_eq!(bf16_to_f32(0x3f80), 1.0);
/// assert_eq!(bf16_to_f32(0xc049), -3.140625);
/// ```
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits(u32::from(h) << 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every half-precision bit pattern against the format's definition evaluated in f64.
    #[test]
    fn every_half_widens_to_its_value() {
        for h in 0..=u16::MAX {
            let (sign, exp, man) = (if h >> 15 == 1 { -1.0f64 } else { 1.0 }, (h >> 10) & 0x1f, h & 0x3ff);
            let got = f16_to_f32(h);
            match exp {
                0x1f if man == 0 => assert_eq!(f64::from(got), sign * f64::INFINITY, "{h:#06x}"),
                0x1f => assert!(got.is_nan() && got.is_sign_negative() == (sign < 0.0), "{h:#06x}"),
                _ => {
                    let want = if exp == 0 {
                        sign * f64::from(man) * 2f64.powi(-24)
                    } else {
                        sign * (1.0 + f64::from(man) / 1024.0) * 2f64.powi(i32::from(exp) - 15)
                    };
                    assert_eq!(f64::from(got), want, "{h:#06x}");
                    assert_eq!(got.is_sign_negative(), sign < 0.0, "{h:#06x}: the sign of zero");
                }
            }
        }
        assert_eq!(bf16_to_f32(0x3f80), 1.0);
        assert_eq!(bf16_to_f32(0xc049), -3.140625);
        assert_eq!(bf16_to_f32(0x0001), f32::from_bits(0x0001_0000));
    }
}
