//! HDF5 in pure Rust (the `hdf5-pure` crate): an in-memory tree that is written in one go,
//! and a guarded reader.
//!
//! The reader never trusts the file: every call into the parser runs under
//! `catch_unwind` (a parser panic becomes an error), group walks are bounded in depth and
//! size, and a dataset is read only after its shape and dtype were checked against what the
//! caller expects, so a hostile header cannot make us allocate more than the model needs.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use hdf5_pure::{AttrValue, DType as H5DType, Datatype, DatatypeByteOrder, File as H5File, FileBuilder};
use keras_engine::dtype::{bf16_to_f32, f16_to_f32};
use keras_engine::DType;

use crate::{keras_bail, Error, Result, Tensor};

/// Largest file the loaders read into memory (Keras models beyond this are out of scope).
pub(crate) const MAX_FILE_BYTES: u64 = 8 << 30;

/// A byte limit as a `usize` for this target, saturating: `8 << 30 as usize` is 0 on 32-bit
/// targets (wasm32, armv7), which refused every file; there the limit is the address space.
pub(crate) const fn usize_limit(limit: u64) -> usize {
    limit_for_pointer_width(limit, usize::MAX as u64) as usize
}

/// [`usize_limit`] for a target whose `usize::MAX` is `usize_max` (tested for 32-bit here).
pub(crate) const fn limit_for_pointer_width(limit: u64, usize_max: u64) -> u64 {
    if limit > usize_max {
        usize_max
    } else {
        limit
    }
}
/// Deepest group path a walk follows (HDF5 hard links can form cycles).
const MAX_DEPTH: usize = 32;
/// Most links a walk visits.
const MAX_NODES: usize = 1 << 20;

/// A string attribute (h5py writes both as variable-length UTF-8, read back as `str`).
#[derive(Clone, Debug)]
pub(crate) enum Attr {
    /// One string.
    Str(String),
    /// A list of strings (an empty list is written as h5py writes `[]`: an empty float64 array).
    Strs(Vec<String>),
}

/// A group to be written: attributes, sub-groups and datasets, in insertion order.
#[derive(Default, Debug)]
pub(crate) struct Node {
    attrs: Vec<(String, Attr)>,
    groups: Vec<(String, Node)>,
    datasets: Vec<(String, Tensor)>,
}

impl Node {
    /// The group at `path` (`a/b/c`), created on the way when missing.
    pub(crate) fn group(&mut self, path: &str) -> &mut Node {
        let mut node = self;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            let i = match node.groups.iter().position(|(n, _)| n == part) {
                Some(i) => i,
                None => {
                    node.groups.push((part.to_string(), Node::default()));
                    node.groups.len() - 1
                }
            };
            node = &mut node.groups[i].1;
        }
        node
    }

    /// Sets an attribute (replacing one of the same name).
    pub(crate) fn set_attr(&mut self, name: &str, value: Attr) {
        self.attrs.retain(|(n, _)| n != name);
        self.attrs.push((name.to_string(), value));
    }

    /// Adds a dataset at `path` relative to this group; `/` in the path makes sub-groups
    /// (as h5py does for `group.create_dataset("mlp/dense/kernel", ...)`).
    pub(crate) fn dataset(&mut self, path: &str, value: &Tensor) {
        let (dir, name) = match path.rfind('/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => ("", path),
        };
        let g = self.group(dir);
        g.datasets.retain(|(n, _)| n != name);
        g.datasets.push((name.to_string(), value.detach()));
    }

    /// The serialized HDF5 file.
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut b = FileBuilder::new();
        for (name, value) in &self.attrs {
            b.set_attr(name, attr_value(value));
        }
        for (name, t) in &self.datasets {
            write_dataset(b.create_dataset(name), t)?;
        }
        for (name, child) in &self.groups {
            let mut g = b.create_group(name);
            fill_group(&mut g, child)?;
            b.add_group(g.finish());
        }
        b.finish().map_err(|e| Error::Io(format!("cannot write HDF5 data: {e}")))
    }
}

fn attr_value(a: &Attr) -> AttrValue {
    match a {
        Attr::Str(s) => AttrValue::VarLenString(s.clone()),
        Attr::Strs(v) if v.is_empty() => AttrValue::F64Array(Vec::new()),
        Attr::Strs(v) => AttrValue::VarLenStringArray(v.clone()),
    }
}

fn fill_group(g: &mut hdf5_pure::GroupBuilder, node: &Node) -> Result<()> {
    for (name, value) in &node.attrs {
        g.set_attr(name, attr_value(value));
    }
    for (name, t) in &node.datasets {
        write_dataset(g.create_dataset(name), t)?;
    }
    for (name, child) in &node.groups {
        let mut c = g.create_group(name);
        fill_group(&mut c, child)?;
        g.add_group(c.finish());
    }
    Ok(())
}

fn write_dataset(d: &mut hdf5_pure::DatasetBuilder, t: &Tensor) -> Result<()> {
    let shape: Vec<u64> = t.shape().iter().map(|&s| s as u64).collect();
    match t.dtype() {
        DType::F32 => d.with_f32_data(t.as_f32()?),
        DType::I64 => d.with_i64_data(t.as_i64()?),
        DType::I32 => d.with_i32_data(t.as_i32()?),
    };
    d.with_shape(&shape);
    Ok(())
}

/// Runs a parser call, turning a panic inside the HDF5 crate into an error.
fn guard<T>(what: &str, f: impl FnOnce() -> std::result::Result<T, hdf5_pure::Error>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Error::Io(format!("{what}: {e}"))),
        Err(_) => Err(Error::Io(format!("{what}: the HDF5 data is corrupt (the parser failed)"))),
    }
}

/// Reads a whole file, refusing ones larger than `max` bytes.
pub(crate) fn read_file_bounded(path: &Path, max: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let f =
        std::fs::File::open(path).map_err(|e| Error::Io(format!("Cannot open {}: {e}", path.display())))?;
    let mut out = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::Io(format!("Cannot read {}: {e}", path.display())))?;
    if out.len() as u64 > max {
        keras_bail!(Io, "{} is larger than the {max} bytes keras-rs loads", path.display());
    }
    Ok(out)
}

/// The element type of a stored dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stored {
    /// 32-bit float.
    F32,
    /// 64-bit float (read as float32).
    F64,
    /// IEEE 754 half precision (a `float16` variable; read as float32, exactly).
    F16,
    /// bfloat16: 2-byte opaque values with the attribute `dtype="bfloat16"`, as Keras's
    /// `.keras` writer stores them (h5py has no bfloat16 type); read as float32, exactly.
    BF16,
    /// 2-byte opaque values without that attribute: Keras's legacy `.h5` writer stores
    /// bfloat16 so, and nothing (Keras included) can tell them from other 2-byte data.
    UntypedOpaque2,
    /// An integer type, by NumPy name (`int64`); read as int64.
    Int(&'static str),
    /// Something that is not a number array.
    Other,
}

/// A read-only HDF5 file.
pub(crate) struct Reader {
    file: H5File,
    /// File size, to bound reads of uncompressed data.
    len: usize,
}

impl Reader {
    /// Parses HDF5 bytes (`what` names the file in errors).
    pub(crate) fn from_bytes(bytes: Vec<u8>, what: &str) -> Result<Reader> {
        let len = bytes.len();
        if !hdf5_pure::is_hdf5_bytes(&bytes) {
            keras_bail!(Io, "{what} is not an HDF5 file (no HDF5 signature)");
        }
        let file = guard(&format!("Cannot read {what} as HDF5"), || H5File::from_bytes(bytes))?;
        // As the HDF5 library does: a file shorter than its superblock says is truncated.
        let eof = file.superblock().eof_address;
        if eof > len as u64 {
            keras_bail!(Io, "{what} is truncated: {len} bytes, but the HDF5 superblock says {eof}");
        }
        Ok(Reader { file, len })
    }

    /// Opens an HDF5 file on disk.
    pub(crate) fn open(path: &Path) -> Result<Reader> {
        let bytes = read_file_bounded(path, MAX_FILE_BYTES)?;
        Reader::from_bytes(bytes, &path.display().to_string())
    }

    /// The file's size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn group(&self, path: &str) -> Result<Option<hdf5_pure::Group>> {
        let path = path.trim_matches('/');
        if path.is_empty() {
            return Ok(Some(self.file.root()));
        }
        // Walk one link at a time so a missing link is "absent", not an error.
        let mut g = self.file.root();
        for part in path.split('/') {
            let names = guard("Cannot list HDF5 group", || g.groups())?;
            if !names.iter().any(|n| n == part) {
                return Ok(None);
            }
            g = guard("Cannot open HDF5 group", || g.group(part))?;
        }
        Ok(Some(g))
    }

    /// Whether a group exists at `path`.
    pub(crate) fn has_group(&self, path: &str) -> Result<bool> {
        Ok(self.group(path)?.is_some())
    }

    /// Sub-group names of the group at `path` (empty when it does not exist).
    pub(crate) fn groups(&self, path: &str) -> Result<Vec<String>> {
        match self.group(path)? {
            Some(g) => {
                let v = guard("Cannot list HDF5 group", || g.groups())?;
                if v.len() > MAX_NODES {
                    keras_bail!(Io, "HDF5 group {path} has too many members ({})", v.len());
                }
                Ok(v)
            }
            None => Ok(Vec::new()),
        }
    }

    /// Dataset names of the group at `path` (empty when it does not exist).
    pub(crate) fn datasets(&self, path: &str) -> Result<Vec<String>> {
        match self.group(path)? {
            Some(g) => {
                let v = guard("Cannot list HDF5 group", || g.datasets())?;
                if v.len() > MAX_NODES {
                    keras_bail!(Io, "HDF5 group {path} has too many members ({})", v.len());
                }
                Ok(v)
            }
            None => Ok(Vec::new()),
        }
    }

    /// Every attribute of the group at `path`, strings only (other types are left out).
    pub(crate) fn string_attrs(&self, path: &str) -> Result<HashMap<String, Vec<String>>> {
        let Some(g) = self.group(path)? else {
            return Ok(HashMap::new());
        };
        let attrs = guard("Cannot read HDF5 attributes", || g.attrs())?;
        let mut out = HashMap::new();
        for (k, v) in attrs {
            match &v {
                // h5py writes an empty list as an empty float64 array.
                AttrValue::F64Array(a) if a.is_empty() => {
                    out.insert(k, Vec::new());
                }
                _ => {
                    if let Some(s) = v.as_strings() {
                        out.insert(k, s.to_vec());
                    }
                }
            }
        }
        Ok(out)
    }

    /// A string attribute of the group at `path`, joined over Keras's chunked form
    /// (`name0`, `name1`, ... when the list was too long for one HDF5 header).
    pub(crate) fn string_list_attr(&self, path: &str, name: &str) -> Result<Option<Vec<String>>> {
        let attrs = self.string_attrs(path)?;
        if let Some(v) = attrs.get(name) {
            return Ok(Some(v.clone()));
        }
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(v) = attrs.get(&format!("{name}{i}")) {
            out.extend(v.iter().cloned());
            i += 1;
        }
        Ok(if i == 0 { None } else { Some(out) })
    }

    /// Splits `a/b/c` into the group path and the dataset name.
    fn split(path: &str) -> (&str, &str) {
        let path = path.trim_start_matches('/');
        match path.rfind('/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => ("", path),
        }
    }

    fn open_dataset(&self, path: &str) -> Result<hdf5_pure::Dataset> {
        let (dir, name) = Self::split(path);
        let Some(g) = self.group(dir)? else {
            keras_bail!(Io, "No dataset at '{path}' in the HDF5 file (group '{dir}' is missing)");
        };
        let names = guard("Cannot list HDF5 group", || g.datasets())?;
        if !names.iter().any(|n| n == name) {
            keras_bail!(Io, "No dataset at '{path}' in the HDF5 file");
        }
        guard(&format!("Cannot open HDF5 dataset '{path}'"), || g.dataset(name))
    }

    /// Shape and element type of the dataset at `path`.
    pub(crate) fn dataset_info(&self, path: &str) -> Result<(Vec<usize>, Stored)> {
        let ds = self.open_dataset(path)?;
        let shape = guard(&format!("Cannot read the shape of '{path}'"), || ds.shape())?;
        if shape.len() > 32 {
            keras_bail!(Io, "Dataset '{path}' has {} dimensions", shape.len());
        }
        let mut dims = Vec::with_capacity(shape.len());
        for d in shape {
            dims.push(usize::try_from(d).map_err(|_| Error::Io(format!("Dataset '{path}' is too large")))?);
        }
        let dt = guard(&format!("Cannot read the dtype of '{path}'"), || ds.dtype())?;
        let stored = match dt {
            H5DType::Other(t) => match *t {
                Datatype::FloatingPoint { size: 2, byte_order, layout }
                    if byte_order == DatatypeByteOrder::LittleEndian
                        && (layout.exponent_size, layout.mantissa_size, layout.exponent_bias)
                            == (5, 10, 15) =>
                {
                    Stored::F16
                }
                Datatype::Opaque { size: 2, .. } => {
                    let attrs = guard(&format!("Cannot read the attributes of '{path}'"), || ds.attrs())?;
                    match attrs.get("dtype").and_then(AttrValue::as_strings) {
                        Some([d]) if d == "bfloat16" => Stored::BF16,
                        _ => Stored::UntypedOpaque2,
                    }
                }
                _ => Stored::Other,
            },
            H5DType::F32 => Stored::F32,
            H5DType::F64 => Stored::F64,
            H5DType::I8 => Stored::Int("int8"),
            H5DType::I16 => Stored::Int("int16"),
            H5DType::I32 => Stored::Int("int32"),
            H5DType::I64 => Stored::Int("int64"),
            H5DType::U8 => Stored::Int("uint8"),
            H5DType::U16 => Stored::Int("uint16"),
            H5DType::U32 => Stored::Int("uint32"),
            H5DType::U64 => Stored::Int("uint64"),
            _ => Stored::Other,
        };
        Ok((dims, stored))
    }

    /// Reads the dataset at `path` as float32 (floats) or int64 (integers). With `expected`,
    /// the stored shape must equal it (checked before anything is allocated); without it,
    /// the dataset may not hold more elements than the file has bytes (Keras never
    /// compresses weights, so a larger one is a hostile header).
    pub(crate) fn read(&self, path: &str, expected: Option<&[usize]>) -> Result<Tensor> {
        let (shape, stored) = self.dataset_info(path)?;
        if let Some(e) = expected {
            if e != shape.as_slice() {
                keras_bail!(
                    Shape,
                    "Dataset '{path}' has shape {shape:?}, expected {e:?} (the weights do not match \
                     the model architecture)"
                );
            }
        }
        let numel = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        let Some(numel) = numel.filter(|&n| n <= self.len.max(1 << 16)) else {
            keras_bail!(Io, "Dataset '{path}' declares {shape:?} elements, more than the file holds");
        };
        let ds = self.open_dataset(path)?;
        let what = format!("Cannot read dataset '{path}'");
        let t = match stored {
            Stored::F32 => Tensor::new(guard(&what, || ds.read_f32())?, shape.clone()),
            Stored::F64 => {
                let v = guard(&what, || ds.read_f64())?;
                Tensor::new(v.into_iter().map(|x| x as f32).collect(), shape.clone())
            }
            Stored::Int(_) => Tensor::from_i64(guard(&what, || ds.read_i64())?, shape.clone()),
            Stored::F16 | Stored::BF16 => {
                let raw = guard(&what, || ds.read_raw())?;
                if raw.len() != numel * 2 {
                    keras_bail!(Io, "{what}: {} bytes for shape {shape:?} of 2-byte values", raw.len());
                }
                let widen = if stored == Stored::F16 { f16_to_f32 } else { bf16_to_f32 };
                Tensor::new(
                    raw.chunks_exact(2).map(|b| widen(u16::from_le_bytes([b[0], b[1]]))).collect(),
                    shape.clone(),
                )
            }
            Stored::UntypedOpaque2 => keras_bail!(
                Io,
                "Dataset '{path}' holds 2-byte opaque values without dtype=\"bfloat16\" (a bfloat16 \
                 weight in a legacy .h5 file? Keras cannot load those either; save the model as .keras)"
            ),
            Stored::Other => keras_bail!(Io, "Dataset '{path}' does not hold numbers"),
        };
        let t = t.map_err(|e| Error::Io(format!("{what}: {e}")))?;
        if t.numel() != numel {
            keras_bail!(Io, "{what}: {} values for shape {shape:?}", t.numel());
        }
        Ok(t)
    }

    /// Every group path (`""` for the root) and dataset path under the root, depth-first
    /// and bounded (HDF5 links can form cycles).
    pub(crate) fn walk(&self) -> Result<(Vec<String>, Vec<String>)> {
        let (mut groups, mut datasets) = (vec![String::new()], Vec::new());
        self.walk_from("", 0, &mut groups, &mut datasets)?;
        Ok((groups, datasets))
    }

    fn walk_from(
        &self,
        path: &str,
        depth: usize,
        groups: &mut Vec<String>,
        out: &mut Vec<String>,
    ) -> Result<()> {
        if depth > MAX_DEPTH {
            keras_bail!(Io, "HDF5 groups nest deeper than {MAX_DEPTH} levels at '{path}'");
        }
        let join = |n: &str| if path.is_empty() { n.to_string() } else { format!("{path}/{n}") };
        for d in self.datasets(path)? {
            out.push(join(&d));
        }
        for g in self.groups(path)? {
            if groups.len() + out.len() > MAX_NODES {
                keras_bail!(Io, "The HDF5 file has more than {MAX_NODES} objects");
            }
            groups.push(join(&g));
            self.walk_from(&join(&g), depth + 1, groups, out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_round_trips_through_bytes() {
        let mut root = Node::default();
        root.group("layers/dense/vars").set_attr("name", Attr::Str("dense".into()));
        root.group("layers/dense/vars").dataset("0", &Tensor::new(vec![1.0, 2.0, 3.0, 4.0], [2, 2]).unwrap());
        root.group("optimizer/vars").dataset("0", &Tensor::from_i64(vec![7], Vec::<usize>::new()).unwrap());
        root.group("w").dataset("a/b:0", &Tensor::new(vec![5.0], [1]).unwrap());
        root.group("w").set_attr("weight_names", Attr::Strs(vec![]));
        root.group("w").set_attr("layer_names", Attr::Strs(vec!["a".into(), "b".into()]));
        let r = Reader::from_bytes(root.to_bytes().unwrap(), "test").unwrap();
        assert!(r.has_group("layers/dense/vars").unwrap());
        assert!(!r.has_group("layers/nope").unwrap());
        let t = r.read("layers/dense/vars/0", Some(&[2, 2])).unwrap();
        assert_eq!(t.to_f32_vec(), vec![1.0, 2.0, 3.0, 4.0]);
        let it = r.read("optimizer/vars/0", Some(&[])).unwrap();
        assert_eq!(it.dtype(), DType::I64);
        assert_eq!(it.to_i64_vec(), vec![7]);
        assert_eq!(r.read("w/a/b:0", None).unwrap().to_f32_vec(), vec![5.0]);
        assert_eq!(r.string_list_attr("w", "weight_names").unwrap(), Some(vec![]));
        assert_eq!(r.string_list_attr("w", "layer_names").unwrap(), Some(vec!["a".into(), "b".into()]));
        assert_eq!(r.string_list_attr("w", "missing").unwrap(), None);
        let e = r.read("layers/dense/vars/0", Some(&[4])).unwrap_err();
        assert!(e.to_string().contains("expected [4]"), "{e}");
        assert!(r.read("layers/dense/vars/9", None).is_err());
        let (groups, mut all) = r.walk().unwrap();
        assert!(groups.contains(&"layers/dense/vars".to_string()));
        all.sort();
        assert_eq!(all, vec!["layers/dense/vars/0", "optimizer/vars/0", "w/a/b:0"]);
    }

    #[test]
    fn not_hdf5_is_a_clear_error() {
        let e = Reader::from_bytes(b"PK\x03\x04garbage".to_vec(), "x.h5").err().unwrap();
        assert!(e.to_string().contains("not an HDF5 file"), "{e}");
    }
}
