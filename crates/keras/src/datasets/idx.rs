//! The IDX format of MNIST (optionally gzipped): a big-endian header (two zero bytes, type
//! 0x08 = uint8, number of dims, each dim as u32), then the raw bytes.

use std::io::Read;
use std::path::Path;

use crate::{keras_bail, Error, Result, Tensor};

/// Largest decompressed file accepted (guards against zip bombs).
const MAX_BYTES: u64 = 1 << 30;

/// Parses IDX bytes (uint8 data) into a tensor: float32 pixel values 0..255 when
/// `as_labels` is false, int32 when true.
pub fn parse(bytes: &[u8], as_labels: bool) -> Result<Tensor> {
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        keras_bail!(Value, "not an IDX file (bad magic)");
    }
    if bytes[2] != 0x08 {
        keras_bail!(
            Value,
            "IDX element type 0x{:02x} is not supported (only 0x08, unsigned bytes)",
            bytes[2]
        );
    }
    let ndims = bytes[3] as usize;
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        keras_bail!(Value, "truncated IDX header");
    }
    let dims: Vec<usize> = (0..ndims)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize)
        .collect();
    let n = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| Error::Value("IDX dims overflow".into()))?;
    let data = &bytes[header..];
    if data.len() < n {
        keras_bail!(Value, "truncated IDX data: dims {:?} need {n} bytes, file has {}", dims, data.len());
    }
    let data = &data[..n];
    Ok(if as_labels {
        Tensor::from_i32(data.iter().map(|&b| b as i32).collect(), dims)?
    } else {
        Tensor::new(data.iter().map(|&b| b as f32).collect(), dims)?
    })
}

/// Reads an IDX file, gunzipping it when the name ends in `.gz`.
pub fn read(path: &Path, as_labels: bool) -> Result<Tensor> {
    let raw = std::fs::read(path).map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .take(MAX_BYTES)
            .read_to_end(&mut out)
            .map_err(|e| Error::Io(format!("cannot decompress {}: {e}", path.display())))?;
        out
    } else {
        raw
    };
    parse(&bytes, as_labels).map_err(|e| Error::Value(format!("{}: {e}", path.display())))
}

/// Reads a pair of gzipped IDX files (images, labels) and splits them as the bundled Keras
/// datasets do: the first `train_size` samples (or all, if fewer) for training, the rest for
/// testing. Both parts are `((x_train, y_train), (x_test, y_test))`.
pub fn load_split(
    images: &Path,
    labels: &Path,
    train_size: usize,
) -> Result<((Tensor, Tensor), (Tensor, Tensor))> {
    let x = read(images, false)?;
    let y = read(labels, true)?;
    let n = x.shape()[0].min(y.shape()[0]);
    let split = train_size.min(n);
    Ok((
        (x.slice_rows(0, split)?, y.slice_rows(0, split)?),
        (x.slice_rows(split, n)?, y.slice_rows(split, n)?),
    ))
}

/// A bundled IDX dataset: `data_dir()/{folder}/{prefix}-images-idx3-ubyte.gz` and
/// `...-labels-idx1-ubyte.gz`, split by [`load_split`].
pub(crate) fn load_bundled(
    folder: &str,
    prefix: &str,
    train_size: usize,
) -> Result<((Tensor, Tensor), (Tensor, Tensor))> {
    let dir = super::data_dir().join(folder);
    load_split(
        &dir.join(format!("{prefix}-images-idx3-ubyte.gz")),
        &dir.join(format!("{prefix}-labels-idx1-ubyte.gz")),
        train_size,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let mut b = vec![0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3];
        b.extend([1, 2, 3, 4, 5, 6]);
        let t = parse(&b, false).unwrap();
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(parse(&b, true).unwrap().as_i32().unwrap()[5], 6);
        assert!(parse(&b[..10], false).is_err());
        assert!(parse(&b[..15], false).is_err());
        assert!(parse(&[1, 2, 3, 4], false).is_err());
    }
}
