//! The [`Tensor`]: a shape, a dtype and a shared contiguous row-major buffer, plus (while a
//! [`crate::GradientTape`] records) the op that produced it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::autodiff::{self, BackwardFn, Node};
use crate::{bail, DType, Result};

/// The element buffer of a tensor.
#[derive(Clone, Debug, PartialEq)]
pub enum Storage {
    /// float32 elements.
    F32(Vec<f32>),
    /// int32 elements.
    I32(Vec<i32>),
    /// int64 elements.
    I64(Vec<i64>),
}

impl Storage {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Storage::F32(v) => v.len(),
            Storage::I32(v) => v.len(),
            Storage::I64(v) => v.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Storage::F32(_) => DType::F32,
            Storage::I32(_) => DType::I32,
            Storage::I64(_) => DType::I64,
        }
    }
}

/// A unique tensor identity, used to key gradients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(u64);

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl TensorId {
    fn fresh() -> Self {
        TensorId(NEXT_ID.fetch_add(1, Ordering::Relaxed))
    }
}

/// Which activation produced a tensor from its logits (see [`Tensor::keras_logits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogitsKind {
    /// `softmax(logits)` over the last axis.
    Softmax,
    /// `sigmoid(logits)`.
    Sigmoid,
}

pub(crate) struct Inner {
    pub(crate) id: TensorId,
    pub(crate) shape: Vec<usize>,
    pub(crate) storage: Arc<Storage>,
    /// A leaf the tape must compute a gradient for (a variable or a watched input).
    pub(crate) requires_grad: bool,
    /// The op that made this tensor, while a tape records.
    pub(crate) node: Option<Node>,
    /// Logits this tensor was computed from by softmax/sigmoid (the TensorFlow backend's
    /// `_keras_logits`, which crossentropy losses use instead of the clipped probabilities).
    pub(crate) logits: Option<(LogitsKind, Tensor)>,
}

/// An n-dimensional array: shape + dtype + a shared, contiguous, row-major buffer.
///
/// Cloning is cheap (reference counted). Tensors are immutable values; ops return new tensors.
/// While a [`crate::GradientTape`] is alive on the current thread, ops on tensors that require
/// gradients record how to differentiate them.
///
/// ```
/// use keras_engine::Tensor;
/// let t = Tensor::new(vec![1.0, 2.0, 3.0, 4.0], [2, 2]).unwrap();
/// assert_eq!(t.shape(), &[2, 2]);
/// assert_eq!(t.as_f32().unwrap()[3], 4.0);
/// ```
#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<Inner>);

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

impl Tensor {
    pub(crate) fn from_parts(storage: Arc<Storage>, shape: Vec<usize>) -> Tensor {
        crate::parallel::tune_allocator();
        Tensor(Arc::new(Inner {
            id: TensorId::fresh(),
            shape,
            storage,
            requires_grad: false,
            node: None,
            logits: None,
        }))
    }

    fn checked(storage: Storage, shape: Vec<usize>) -> Result<Tensor> {
        let n = numel(&shape);
        if storage.len() != n {
            bail!("cannot make a tensor of shape {:?} ({} elements) from {} values", shape, n, storage.len());
        }
        Ok(Tensor::from_parts(Arc::new(storage), shape))
    }

    /// A float32 tensor. Errors when `data.len()` is not the product of `shape`.
    pub fn new(data: Vec<f32>, shape: impl Into<Vec<usize>>) -> Result<Tensor> {
        Tensor::checked(Storage::F32(data), shape.into())
    }

    /// An int32 tensor.
    pub fn from_i32(data: Vec<i32>, shape: impl Into<Vec<usize>>) -> Result<Tensor> {
        Tensor::checked(Storage::I32(data), shape.into())
    }

    /// An int64 tensor.
    pub fn from_i64(data: Vec<i64>, shape: impl Into<Vec<usize>>) -> Result<Tensor> {
        Tensor::checked(Storage::I64(data), shape.into())
    }

    /// A tensor from any storage.
    pub fn from_storage(storage: Storage, shape: impl Into<Vec<usize>>) -> Result<Tensor> {
        Tensor::checked(storage, shape.into())
    }

    /// A 0-d float32 tensor.
    pub fn scalar(v: f32) -> Tensor {
        Tensor::from_parts(Arc::new(Storage::F32(vec![v])), vec![])
    }

    /// float32 zeros.
    pub fn zeros(shape: impl Into<Vec<usize>>) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    /// float32 ones.
    pub fn ones(shape: impl Into<Vec<usize>>) -> Tensor {
        Tensor::full(shape, 1.0)
    }

    /// float32 tensor filled with `v`.
    pub fn full(shape: impl Into<Vec<usize>>, v: f32) -> Tensor {
        let shape = shape.into();
        Tensor::from_parts(Arc::new(Storage::F32(vec![v; numel(&shape)])), shape)
    }

    /// Builds a float32 tensor (used by ops) without the length check's error path.
    pub(crate) fn from_f32_unchecked(data: Vec<f32>, shape: Vec<usize>) -> Tensor {
        debug_assert_eq!(data.len(), numel(&shape));
        Tensor::from_parts(Arc::new(Storage::F32(data)), shape)
    }

    /// The identity used to look up gradients.
    pub fn id(&self) -> TensorId {
        self.0.id
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.0.shape
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.0.shape.len()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.0.storage.len()
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.0.storage.dtype()
    }

    /// The buffer.
    pub fn storage(&self) -> &Storage {
        &self.0.storage
    }

    /// The float32 elements, or an error naming the actual dtype.
    pub fn as_f32(&self) -> Result<&[f32]> {
        match &*self.0.storage {
            Storage::F32(v) => Ok(v),
            s => bail!("expected a float32 tensor, got {}", s.dtype()),
        }
    }

    /// The int32 elements.
    pub fn as_i32(&self) -> Result<&[i32]> {
        match &*self.0.storage {
            Storage::I32(v) => Ok(v),
            s => bail!("expected an int32 tensor, got {}", s.dtype()),
        }
    }

    /// The int64 elements.
    pub fn as_i64(&self) -> Result<&[i64]> {
        match &*self.0.storage {
            Storage::I64(v) => Ok(v),
            s => bail!("expected an int64 tensor, got {}", s.dtype()),
        }
    }

    /// The elements converted to f32 (copy).
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match &*self.0.storage {
            Storage::F32(v) => v.clone(),
            Storage::I32(v) => v.iter().map(|&x| x as f32).collect(),
            Storage::I64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// The elements converted to i64 (floats are truncated toward zero; NaN becomes 0).
    pub fn to_i64_vec(&self) -> Vec<i64> {
        match &*self.0.storage {
            Storage::F32(v) => v.iter().map(|&x| x as i64).collect(),
            Storage::I32(v) => v.iter().map(|&x| x as i64).collect(),
            Storage::I64(v) => v.clone(),
        }
    }

    /// A copy with another dtype (not differentiable).
    pub fn cast(&self, dtype: DType) -> Tensor {
        if dtype == self.dtype() {
            return self.detach();
        }
        let storage = match dtype {
            DType::F32 => Storage::F32(self.to_f32_vec()),
            DType::I32 => Storage::I32(self.to_i64_vec().into_iter().map(|v| v as i32).collect()),
            DType::I64 => Storage::I64(self.to_i64_vec()),
        };
        Tensor::from_parts(Arc::new(storage), self.shape().to_vec())
    }

    /// Mutable float32 elements, copying the buffer first if it is shared (copy-on-write).
    /// The tensor keeps its identity. Errors for integer tensors.
    pub fn f32_mut(&mut self) -> Result<&mut [f32]> {
        if self.dtype() != DType::F32 {
            bail!("expected a float32 tensor, got {}", self.dtype());
        }
        if Arc::get_mut(&mut self.0).is_none() {
            // Someone else (a recorded graph, a caller) holds this tensor: detach a private copy
            // with the same identity so gradients keyed by id still match.
            let inner = &self.0;
            *self = Tensor(Arc::new(Inner {
                id: inner.id,
                shape: inner.shape.clone(),
                storage: inner.storage.clone(),
                requires_grad: inner.requires_grad,
                node: None,
                logits: None,
            }));
        }
        let inner = Arc::get_mut(&mut self.0).expect("unique after copy");
        inner.node = None;
        inner.logits = None;
        match Arc::make_mut(&mut inner.storage) {
            Storage::F32(v) => Ok(v),
            _ => unreachable!("dtype checked above"),
        }
    }

    /// The same values with a new shape (shares the buffer; differentiable).
    pub fn reshape(&self, shape: impl Into<Vec<usize>>) -> Result<Tensor> {
        let shape = shape.into();
        if numel(&shape) != self.numel() {
            bail!(
                "cannot reshape a tensor of shape {:?} ({} elements) to {:?}",
                self.shape(),
                self.numel(),
                shape
            );
        }
        let from = self.shape().to_vec();
        let out = Tensor::from_parts(self.0.storage.clone(), shape);
        Ok(autodiff::record(
            out,
            &[self],
            Box::new(move |g, _out, _inputs| Ok(vec![Some(g.reshape(from.clone())?)])),
        ))
    }

    /// A tensor with the same values and no history (gradients stop here).
    pub fn detach(&self) -> Tensor {
        Tensor::from_parts(self.0.storage.clone(), self.shape().to_vec())
    }

    /// A leaf with the same values whose gradient the tape computes (a variable, or an input
    /// passed to [`crate::GradientTape::watch`]).
    pub fn requiring_grad(&self) -> Tensor {
        Tensor(Arc::new(Inner {
            id: TensorId::fresh(),
            shape: self.shape().to_vec(),
            storage: self.0.storage.clone(),
            requires_grad: true,
            node: None,
            logits: None,
        }))
    }

    /// Marks this tensor in place as a leaf requiring a gradient (keeps the id when unshared).
    pub fn set_requires_grad(&mut self, yes: bool) {
        if let Some(inner) = Arc::get_mut(&mut self.0) {
            inner.requires_grad = yes;
            inner.node = None;
        } else {
            let t = if yes { self.requiring_grad() } else { self.detach() };
            *self = t;
        }
    }

    /// True for leaves that require gradients.
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad
    }

    /// True when gradients can flow back through this tensor.
    pub fn tracks_grad(&self) -> bool {
        self.0.requires_grad || self.0.node.is_some()
    }

    /// Where this tensor came from `softmax(logits)` / `sigmoid(logits)`, the logits
    /// (Keras's TensorFlow backend uses them in crossentropy losses: oracle README note 11).
    pub fn keras_logits(&self) -> Option<(LogitsKind, &Tensor)> {
        self.0.logits.as_ref().map(|(k, t)| (*k, t))
    }

    pub(crate) fn with_logits(mut self, kind: LogitsKind, logits: &Tensor) -> Tensor {
        if let Some(inner) = Arc::get_mut(&mut self.0) {
            inner.logits = Some((kind, logits.clone()));
        }
        self
    }

    /// Builds a differentiable op result from a computed float32 buffer: when a tape records
    /// and an input tracks gradients, `backward(grad_out, out, inputs)` returns one optional
    /// gradient per input. This is how layers and losses outside the engine add fused ops.
    pub fn from_op(
        data: Vec<f32>,
        shape: impl Into<Vec<usize>>,
        inputs: &[&Tensor],
        backward: BackwardFn,
    ) -> Result<Tensor> {
        let out = Tensor::new(data, shape)?;
        Ok(autodiff::record(out, inputs, backward))
    }

    /// Rows `start..end` along axis 0 (a copy; not differentiable). Used to cut batches.
    pub fn slice_rows(&self, start: usize, end: usize) -> Result<Tensor> {
        let n = self.shape().first().copied().unwrap_or(0);
        if self.rank() == 0 || start > end || end > n {
            bail!("cannot take rows {start}..{end} of a tensor of shape {:?}", self.shape());
        }
        let row: usize = self.shape()[1..].iter().product();
        let mut shape = self.shape().to_vec();
        shape[0] = end - start;
        let storage = match &*self.0.storage {
            Storage::F32(v) => Storage::F32(v[start * row..end * row].to_vec()),
            Storage::I32(v) => Storage::I32(v[start * row..end * row].to_vec()),
            Storage::I64(v) => Storage::I64(v[start * row..end * row].to_vec()),
        };
        Ok(Tensor::from_parts(Arc::new(storage), shape))
    }

    /// The rows at `indices` along axis 0, in that order (a copy; not differentiable).
    pub fn gather_rows(&self, indices: &[usize]) -> Result<Tensor> {
        let n = self.shape().first().copied().unwrap_or(0);
        if self.rank() == 0 {
            bail!("cannot gather rows of a 0-d tensor");
        }
        if let Some(&bad) = indices.iter().find(|&&i| i >= n) {
            bail!("row index {bad} out of range for a tensor with {n} rows");
        }
        let row: usize = self.shape()[1..].iter().product();
        let mut shape = self.shape().to_vec();
        shape[0] = indices.len();
        fn gather<T: Copy>(v: &[T], idx: &[usize], row: usize) -> Vec<T> {
            let mut out = Vec::with_capacity(idx.len() * row);
            for &i in idx {
                out.extend_from_slice(&v[i * row..(i + 1) * row]);
            }
            out
        }
        let storage = match &*self.0.storage {
            Storage::F32(v) => Storage::F32(gather(v, indices, row)),
            Storage::I32(v) => Storage::I32(gather(v, indices, row)),
            Storage::I64(v) => Storage::I64(gather(v, indices, row)),
        };
        Ok(Tensor::from_parts(Arc::new(storage), shape))
    }

    /// Concatenates tensors of equal dtype and trailing shape along axis 0 (not differentiable).
    pub fn concat_rows(parts: &[Tensor]) -> Result<Tensor> {
        let Some(first) = parts.first() else {
            bail!("cannot concatenate an empty list of tensors");
        };
        let tail = &first.shape()[1.min(first.rank())..];
        let mut rows = 0;
        for p in parts {
            if p.rank() == 0 || &p.shape()[1..] != tail || p.dtype() != first.dtype() {
                bail!(
                    "cannot concatenate tensors of shapes {:?} ({}) and {:?} ({}) along axis 0",
                    first.shape(),
                    first.dtype(),
                    p.shape(),
                    p.dtype()
                );
            }
            rows += p.shape()[0];
        }
        let mut shape = first.shape().to_vec();
        shape[0] = rows;
        let storage = match first.dtype() {
            DType::F32 => {
                Storage::F32(parts.iter().flat_map(|p| p.as_f32().unwrap_or(&[]).iter().copied()).collect())
            }
            DType::I32 => {
                Storage::I32(parts.iter().flat_map(|p| p.as_i32().unwrap_or(&[]).iter().copied()).collect())
            }
            DType::I64 => {
                Storage::I64(parts.iter().flat_map(|p| p.as_i64().unwrap_or(&[]).iter().copied()).collect())
            }
        };
        Ok(Tensor::from_parts(Arc::new(storage), shape))
    }

    /// The single value of a one-element tensor, as f32.
    pub fn item(&self) -> Result<f32> {
        if self.numel() != 1 {
            bail!("item() needs a tensor with one element, got shape {:?}", self.shape());
        }
        Ok(self.to_f32_vec()[0])
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.numel().min(8);
        let head: Vec<f32> = self.to_f32_vec().into_iter().take(n).collect();
        write!(f, "Tensor(shape={:?}, dtype={}, head={:?}", self.shape(), self.dtype(), head)?;
        if self.numel() > n {
            write!(f, " ...")?;
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn construction_checks_length() {
        assert!(Tensor::new(vec![1.0; 5], [2, 3]).is_err());
        let t = Tensor::new(vec![1.0; 6], [2, 3]).unwrap();
        assert_eq!(t.numel(), 6);
        assert!(t.as_i32().is_err());
    }

    #[test]
    fn rows_slice_gather_concat() {
        let t = Tensor::from_i32((0..6).collect(), [3, 2]).unwrap();
        assert_eq!(t.slice_rows(1, 3).unwrap().as_i32().unwrap(), &[2, 3, 4, 5]);
        assert_eq!(t.gather_rows(&[2, 0]).unwrap().as_i32().unwrap(), &[4, 5, 0, 1]);
        assert!(t.gather_rows(&[3]).is_err());
        assert!(t.slice_rows(2, 4).is_err());
        let c = Tensor::concat_rows(&[t.clone(), t]).unwrap();
        assert_eq!(c.shape(), &[6, 2]);
    }

    #[test]
    fn copy_on_write_keeps_other_holders_intact() {
        let a = Tensor::new(vec![1.0, 2.0], [2]).unwrap();
        let mut b = a.clone();
        b.f32_mut().unwrap()[0] = 9.0;
        assert_eq!(a.as_f32().unwrap(), &[1.0, 2.0]);
        assert_eq!(b.as_f32().unwrap(), &[9.0, 2.0]);
    }
}
