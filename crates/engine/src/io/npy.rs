//! NumPy `.npy` files (format 1.0-3.0, little-endian, C order). Reads `<f4`, `<f8` and `<f2`
//! (float64 and float16 as float32), `<i4`, `<i8`, `|u1` and `|i1`; writes `<f4`, `<i4`, `<i8`.
//!
//! Reading validates the header and the data length before allocating, so a corrupt or
//! hostile file gives an error, never a panic or an unbounded allocation.

use std::path::Path;

use crate::dtype::f16_to_f32;
use crate::{bail, EngineError, Result, Storage, Tensor};

const MAGIC: &[u8] = b"\x93NUMPY";

fn parse_header(header: &str) -> Result<(String, bool, Vec<usize>)> {
    let get = |key: &str| -> Result<&str> {
        let pat = format!("'{key}':");
        let at = header.find(&pat).ok_or_else(|| EngineError::new(format!("npy header has no '{key}'")))?;
        Ok(header[at + pat.len()..].trim_start())
    };
    let descr = get("descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .ok_or_else(|| EngineError::new("npy header has a malformed 'descr'"))?
        .to_string();
    let fortran = get("fortran_order")?.starts_with("True");
    let shape_s = get("shape")?;
    let inner = shape_s
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| EngineError::new("npy header has a malformed 'shape'"))?;
    let mut shape = Vec::new();
    for part in inner.split(',') {
        let p = part.trim();
        if p.is_empty() {
            continue;
        }
        shape.push(
            p.parse::<usize>()
                .map_err(|_| EngineError::new(format!("npy shape entry '{p}' is not a size")))?,
        );
    }
    Ok((descr, fortran, shape))
}

/// Parses `.npy` bytes into a tensor. `uint8` data becomes float32 (image pixels);
/// `float64` becomes float32.
pub fn from_bytes(bytes: &[u8]) -> Result<Tensor> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        bail!("not a .npy file (bad magic)");
    }
    let major = bytes[6];
    let (hlen, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 => {
            if bytes.len() < 12 {
                bail!("truncated .npy header");
            }
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        v => bail!("unsupported .npy version {v}"),
    };
    let end = start
        .checked_add(hlen)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| EngineError::new("truncated .npy header"))?;
    let header =
        std::str::from_utf8(&bytes[start..end]).map_err(|_| EngineError::new("npy header is not text"))?;
    let (descr, fortran, shape) = parse_header(header)?;
    if fortran {
        bail!("Fortran-ordered .npy arrays are not supported");
    }
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| EngineError::new("npy shape overflows"))?;
    let data = &bytes[end..];
    let item = match descr.as_str() {
        "<f4" | "<i4" => 4,
        "<f8" | "<i8" => 8,
        "<f2" => 2,
        "|u1" | "<u1" | "|i1" => 1,
        d => bail!("unsupported .npy dtype '{d}' (expected <f4, <f8, <f2, <i4, <i8 or |u1)"),
    };
    let need = n.checked_mul(item).ok_or_else(|| EngineError::new("npy shape overflows"))?;
    if data.len() < need {
        bail!("truncated .npy data: shape {:?} needs {need} bytes, file has {}", shape, data.len());
    }
    let data = &data[..need];
    let storage = match descr.as_str() {
        "<f4" => {
            Storage::F32(data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        }
        "<f8" => Storage::F32(
            data.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32).collect(),
        ),
        "<f2" => {
            Storage::F32(data.chunks_exact(2).map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]]))).collect())
        }
        "<i4" => {
            Storage::I32(data.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        }
        "<i8" => Storage::I64(
            data.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))).collect(),
        ),
        "|i1" => Storage::I32(data.iter().map(|&b| b as i8 as i32).collect()),
        _ => Storage::F32(data.iter().map(|&b| b as f32).collect()),
    };
    Tensor::from_storage(storage, shape)
}

/// Reads a `.npy` file.
pub fn read(path: impl AsRef<Path>) -> Result<Tensor> {
    let path = path.as_ref();
    let bytes =
        std::fs::read(path).map_err(|e| EngineError::new(format!("cannot read {}: {e}", path.display())))?;
    from_bytes(&bytes).map_err(|e| EngineError::new(format!("{}: {e}", path.display())))
}

/// Serialises a tensor as `.npy` (version 1.0) bytes.
pub fn to_bytes(t: &Tensor) -> Vec<u8> {
    let descr = match t.storage() {
        Storage::F32(_) => "<f4",
        Storage::I32(_) => "<i4",
        Storage::I64(_) => "<i8",
    };
    let shape = match t.shape() {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        s => format!("({})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Pad so that data starts on a 64-byte boundary, ending with '\n'.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + t.numel() * 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    match t.storage() {
        Storage::F32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Storage::I32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Storage::I64(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
    }
    out
}

/// Writes a `.npy` file.
pub fn write(path: impl AsRef<Path>, t: &Tensor) -> Result<()> {
    let path = path.as_ref();
    std::fs::write(path, to_bytes(t))
        .map_err(|e| EngineError::new(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_all_dtypes() {
        for t in [
            Tensor::new(vec![1.5, -2.0, 3.25, 0.0, 1.0, 2.0], [2, 3]).unwrap(),
            Tensor::from_i32(vec![1, -2, 3], [3]).unwrap(),
            Tensor::from_i64(vec![7], []).unwrap(),
        ] {
            let back = from_bytes(&to_bytes(&t)).unwrap();
            assert_eq!(back.shape(), t.shape());
            assert_eq!(back.storage(), t.storage());
        }
    }

    /// The bytes NumPy 2 writes for `np.save(f, np.array([[1, -2.5, 65504], [6e-8, inf, 0.1]],
    /// dtype=np.float16))`, read as NumPy's `astype(np.float32)` gives them.
    #[test]
    fn float16_arrays_are_widened() {
        let mut bytes =
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }".to_vec();
        bytes.resize(127, b' ');
        bytes.push(b'\n');
        bytes.extend([0x00, 0x3c, 0x00, 0xc1, 0xff, 0x7b, 0x01, 0x00, 0x00, 0x7c, 0x66, 0x2e]);
        let t = from_bytes(&bytes).unwrap();
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(t.to_f32_vec(), vec![1.0, -2.5, 65504.0, 5.960_464_5e-8, f32::INFINITY, 0.099_975_586]);
        let e = from_bytes(&bytes[..bytes.len() - 1]).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
    }

    #[test]
    fn corrupt_files_are_errors() {
        let good = to_bytes(&Tensor::new(vec![1.0; 4], [4]).unwrap());
        assert!(from_bytes(b"hello").is_err());
        assert!(from_bytes(&good[..good.len() - 1]).is_err());
        let mut huge = good.clone();
        let s = String::from_utf8_lossy(&huge).replace("(4,)", "(9999999999999,)");
        huge = s.into_bytes();
        assert!(from_bytes(&huge).is_err());
    }
}
