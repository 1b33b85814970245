//! The [`Tensor`]: a shape, a dtype and a shared contiguous row-major buffer, plus (while a
//! [`crate::GradientTape`] records) the op that produced it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::autodiff::{self, BackwardFn, Node};
use crate::device::Device;
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

/// The shared element buffer of one or more tensors (views made by `reshape`/`detach` share
/// it). A tensor has a home [`Device`]; `host` and (with CUDA) `dev` are copies of the data in
/// host and device memory. At least one is present; the other is made on demand (and counted
/// by [`crate::device::transfer_stats`]). CPU tensors always have `host`.
pub(crate) struct Data {
    pub(crate) device: Device,
    pub(crate) dtype: DType,
    pub(crate) len: usize,
    pub(crate) host: OnceLock<Storage>,
    #[cfg(feature = "cuda")]
    pub(crate) dev: OnceLock<crate::cuda::DevBuf>,
    /// Copies of a 2-D float32 leaf packed for the AMX unit ([`Tensor::amx_packed`]).
    pub(crate) amx: crate::kernels::amx::prepacked::Cache,
}

impl Data {
    fn host_only(storage: Storage, device: Device) -> Data {
        let (dtype, len) = (storage.dtype(), storage.len());
        let host = OnceLock::new();
        let _ = host.set(storage);
        Data {
            device,
            dtype,
            len,
            host,
            #[cfg(feature = "cuda")]
            dev: OnceLock::new(),
            amx: Default::default(),
        }
    }

    /// The host copy, downloading it first when only the device copy exists.
    #[inline]
    pub(crate) fn host(&self) -> Result<&Storage> {
        if let Some(s) = self.host.get() {
            return Ok(s);
        }
        self.download()
    }

    #[cold]
    fn download(&self) -> Result<&Storage> {
        #[cfg(feature = "cuda")]
        if let Some(buf) = self.dev.get() {
            let s = crate::cuda::download(buf, self.dtype, self.len)?;
            let _ = self.host.set(s);
            return Ok(self.host.get().expect("just set"));
        }
        bail!("internal error: a tensor without data")
    }
}

pub(crate) struct Inner {
    pub(crate) id: TensorId,
    pub(crate) shape: Vec<usize>,
    pub(crate) data: Arc<Data>,
    /// A leaf the tape must compute a gradient for (a variable or a watched input).
    pub(crate) requires_grad: bool,
    /// The op that made this tensor, while a tape records (shared with the tensor's graph
    /// aliases, [`Tensor::graph_alias`]).
    pub(crate) node: Option<Arc<Node>>,
    /// Logits this tensor was computed from by softmax/sigmoid (the TensorFlow backend's
    /// `_keras_logits`, which crossentropy losses use instead of the clipped probabilities).
    pub(crate) logits: Option<(LogitsKind, Tensor)>,
}

/// An n-dimensional array: shape + dtype + a shared, contiguous, row-major buffer on a
/// [`Device`].
///
/// Cloning is cheap (reference counted). Tensors are immutable values; ops return new tensors.
/// While a [`crate::GradientTape`] is alive on the current thread, ops on tensors that require
/// gradients record how to differentiate them. Tensors made from host data live on the
/// default device ([`crate::device::default_device`]); reading the values of a GPU tensor
/// (`as_f32`, `to_f32_vec`, ...) copies them to the host once and keeps that copy.
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
    pub(crate) fn with_data(data: Arc<Data>, shape: Vec<usize>) -> Tensor {
        Tensor(Arc::new(Inner {
            id: TensorId::fresh(),
            shape,
            data,
            requires_grad: false,
            node: None,
            logits: None,
        }))
    }

    /// A tensor on the CPU over `storage` (ops build their results this way).
    pub(crate) fn from_parts(storage: Storage, shape: Vec<usize>) -> Tensor {
        crate::parallel::tune_allocator();
        Tensor::with_data(Arc::new(Data::host_only(storage, Device::Cpu)), shape)
    }

    /// A tensor over host `storage` whose home is `device` (the device copy is made when a
    /// device op first needs it).
    pub(crate) fn placed(storage: Storage, shape: Vec<usize>, device: Device) -> Tensor {
        crate::parallel::tune_allocator();
        Tensor::with_data(Arc::new(Data::host_only(storage, device)), shape)
    }

    /// A tensor whose data is a device buffer.
    #[cfg(feature = "cuda")]
    pub(crate) fn from_dev(buf: crate::cuda::DevBuf, dtype: DType, shape: Vec<usize>) -> Tensor {
        let len = numel(&shape);
        let dev = OnceLock::new();
        let device = Device::Cuda(buf.device());
        let _ = dev.set(buf);
        Tensor::with_data(
            Arc::new(Data { device, dtype, len, host: OnceLock::new(), dev, amx: Default::default() }),
            shape,
        )
    }

    fn checked(storage: Storage, shape: Vec<usize>) -> Result<Tensor> {
        let n = crate::alloc::checked_numel(&shape, 1)?;
        if storage.len() != n {
            bail!("cannot make a tensor of shape {:?} ({} elements) from {} values", shape, n, storage.len());
        }
        Ok(Tensor::placed(storage, shape, crate::device::default_device()))
    }

    /// A float32 tensor on the default device. Errors when `data.len()` is not the product of
    /// `shape`.
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
        Tensor::placed(Storage::F32(vec![v]), vec![], crate::device::default_device())
    }

    /// float32 zeros. Like `vec!`, aborts when the memory cannot be allocated: use
    /// [`Tensor::try_zeros`] for shapes from untrusted input.
    pub fn zeros(shape: impl Into<Vec<usize>>) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    /// float32 ones.
    pub fn ones(shape: impl Into<Vec<usize>>) -> Tensor {
        Tensor::full(shape, 1.0)
    }

    /// float32 tensor filled with `v` (aborts when the memory cannot be allocated; see
    /// [`Tensor::try_full`]).
    pub fn full(shape: impl Into<Vec<usize>>, v: f32) -> Tensor {
        let shape = shape.into();
        Tensor::placed(Storage::F32(vec![v; numel(&shape)]), shape, crate::device::default_device())
    }

    /// float32 zeros, or an error when `shape` is too large to allocate (for shapes from
    /// untrusted input, where [`Tensor::zeros`] would abort the process).
    ///
    /// ```
    /// use keras_engine::Tensor;
    /// assert_eq!(Tensor::try_zeros([2, 3]).unwrap().numel(), 6);
    /// assert!(Tensor::try_zeros([1 << 40, 1 << 40]).is_err());
    /// ```
    pub fn try_zeros(shape: impl Into<Vec<usize>>) -> Result<Tensor> {
        Tensor::try_full(shape, 0.0)
    }

    /// float32 tensor filled with `v`, or an error when `shape` is too large to allocate.
    pub fn try_full(shape: impl Into<Vec<usize>>, v: f32) -> Result<Tensor> {
        let shape = shape.into();
        let n = crate::alloc::checked_numel(&shape, 4)?;
        let data = crate::alloc::try_filled(n, v)?;
        Ok(Tensor::placed(Storage::F32(data), shape, crate::device::default_device()))
    }

    /// float32 tensor filled with `v` on `device` (filled there, no copy).
    pub fn full_on(shape: impl Into<Vec<usize>>, v: f32, device: Device) -> Result<Tensor> {
        let shape = shape.into();
        match device {
            Device::Cpu => Ok(Tensor::from_parts(Storage::F32(vec![v; numel(&shape)]), shape)),
            #[cfg(feature = "cuda")]
            Device::Cuda(d) => crate::cuda::ops::full(d, shape, v),
            #[cfg(not(feature = "cuda"))]
            d => {
                crate::device::check_available(d)?;
                bail!("{d} is not available")
            }
        }
    }

    /// Builds a float32 tensor (used by ops) without the length check's error path.
    pub(crate) fn from_f32_unchecked(data: Vec<f32>, shape: Vec<usize>) -> Tensor {
        debug_assert_eq!(data.len(), numel(&shape));
        Tensor::from_parts(Storage::F32(data), shape)
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
        self.0.data.len
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.0.data.dtype
    }

    /// The device this tensor lives on.
    #[inline]
    pub fn device(&self) -> Device {
        self.0.data.device
    }

    /// True when the values are in host memory already (reading them copies nothing).
    pub fn is_on_host(&self) -> bool {
        self.0.data.host.get().is_some()
    }

    /// A one-element tensor whose value is on the host: it joins ops on any device as a plain
    /// number (PyTorch's rule for CPU scalars).
    #[inline]
    pub(crate) fn is_host_scalar(&self) -> bool {
        self.0.data.len == 1 && self.is_on_host()
    }

    /// The buffer (copied from the device first for a GPU tensor).
    ///
    /// # Panics
    /// When the device fails while copying (a lost GPU); use [`Tensor::as_f32`] and friends to
    /// get an error instead.
    pub fn storage(&self) -> &Storage {
        match self.0.data.host() {
            Ok(s) => s,
            Err(e) => panic!("could not read a tensor's values from {}: {e}", self.device()),
        }
    }

    /// The float32 elements, or an error naming the actual dtype.
    #[inline]
    pub fn as_f32(&self) -> Result<&[f32]> {
        match self.0.data.host()? {
            Storage::F32(v) => Ok(v),
            s => bail!("expected a float32 tensor, got {}", s.dtype()),
        }
    }

    /// The int32 elements.
    pub fn as_i32(&self) -> Result<&[i32]> {
        match self.0.data.host()? {
            Storage::I32(v) => Ok(v),
            s => bail!("expected an int32 tensor, got {}", s.dtype()),
        }
    }

    /// The int64 elements.
    pub fn as_i64(&self) -> Result<&[i64]> {
        match self.0.data.host()? {
            Storage::I64(v) => Ok(v),
            s => bail!("expected an int64 tensor, got {}", s.dtype()),
        }
    }

    /// The elements converted to f32 (copy).
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match self.storage() {
            Storage::F32(v) => v.clone(),
            Storage::I32(v) => v.iter().map(|&x| x as f32).collect(),
            Storage::I64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// The elements converted to i64 (floats are truncated toward zero; NaN becomes 0).
    pub fn to_i64_vec(&self) -> Vec<i64> {
        match self.storage() {
            Storage::F32(v) => v.iter().map(|&x| x as i64).collect(),
            Storage::I32(v) => v.iter().map(|&x| x as i64).collect(),
            Storage::I64(v) => v.clone(),
        }
    }

    /// A copy with another dtype (not differentiable), on the same device.
    pub fn cast(&self, dtype: DType) -> Tensor {
        if dtype == self.dtype() {
            return self.detach();
        }
        #[cfg(feature = "cuda")]
        if let (Device::Cuda(_), DType::F32) = (self.device(), dtype) {
            if !self.is_on_host() {
                if let Ok(t) = crate::cuda::ops::cast_to_f32(self) {
                    return t;
                }
            }
        }
        let storage = match dtype {
            DType::F32 => Storage::F32(self.to_f32_vec()),
            DType::I32 => Storage::I32(self.to_i64_vec().into_iter().map(|v| v as i32).collect()),
            DType::I64 => Storage::I64(self.to_i64_vec()),
        };
        Tensor::placed(storage, self.shape().to_vec(), self.device())
    }

    /// The same values on `device` (a copy when the device differs; gradients flow back to
    /// this tensor's device). Keras users rarely need it: tensors are created on the default
    /// device and ops keep them there.
    pub fn to_device(&self, device: Device) -> Result<Tensor> {
        if device == self.device() {
            return Ok(self.clone());
        }
        crate::device::check_available(device)?;
        let out = match device {
            Device::Cpu => Tensor::from_parts(self.0.data.host()?.clone(), self.shape().to_vec()),
            #[cfg(feature = "cuda")]
            Device::Cuda(d) => match self.0.data.host.get() {
                Some(s) if self.device().is_cpu() => {
                    Tensor::from_dev(crate::cuda::upload(d, s)?, self.dtype(), self.shape().to_vec())
                }
                _ => {
                    let s = self.0.data.host()?;
                    Tensor::from_dev(crate::cuda::upload(d, s)?, self.dtype(), self.shape().to_vec())
                }
            },
            #[cfg(not(feature = "cuda"))]
            Device::Cuda(_) => bail!("{device} is not available"),
        };
        // Differentiable move: the gradient goes back to the source device.
        let from = self.device();
        autodiff::record_unchecked(
            out,
            &[self],
            Box::new(move |g, _o, _i| Ok(vec![Some(g.to_device(from)?)])),
        )
    }

    /// A copy with its own buffer on the same device (not differentiable).
    pub fn duplicate(&self) -> Result<Tensor> {
        match self.device() {
            #[cfg(feature = "cuda")]
            Device::Cuda(_) => crate::cuda::ops::duplicate(self),
            d => Ok(Tensor::placed(self.0.data.host()?.clone(), self.shape().to_vec(), d)),
        }
    }

    /// Overwrites this tensor's values with `src`'s (same shape and dtype), in place: the
    /// tensor keeps its identity and, on a GPU, its buffer address (what a captured CUDA graph
    /// reads). A host `src` is copied to the device.
    pub fn copy_from(&mut self, src: &Tensor) -> Result<()> {
        if src.shape() != self.shape() || src.dtype() != self.dtype() {
            bail!(
                "copy_from: a {} tensor of shape {:?} into a {} tensor of shape {:?}",
                src.dtype(),
                src.shape(),
                self.dtype(),
                self.shape()
            );
        }
        match self.device() {
            #[cfg(feature = "cuda")]
            Device::Cuda(_) => crate::cuda::ops::copy_into(self, src),
            _ => {
                let s = src.0.data.host()?.clone();
                self.make_unique_inner();
                let inner = Arc::get_mut(&mut self.0).expect("unique");
                inner.node = None;
                inner.logits = None;
                inner.data = Arc::new(Data::host_only(s, Device::Cpu));
                Ok(())
            }
        }
    }

    /// Forgets the host copy of a GPU tensor whose device buffer was rewritten behind its back
    /// (by a CUDA graph replay), so the next read downloads the new values. Errors when the
    /// buffer is shared with other tensors.
    pub fn invalidate_host_copy(&mut self) -> Result<()> {
        if self.device().is_cpu() {
            return Ok(());
        }
        self.make_unique_inner();
        let inner = Arc::get_mut(&mut self.0).expect("unique");
        let Some(data) = Arc::get_mut(&mut inner.data) else {
            bail!("invalidate_host_copy: the buffer is shared")
        };
        #[cfg(feature = "cuda")]
        if data.dev.get().is_some() {
            data.host.take();
        }
        #[cfg(not(feature = "cuda"))]
        let _ = data;
        Ok(())
    }

    /// The device address of a GPU tensor's data when its device copy exists (graph capture
    /// checks that the buffers it recorded are still the ones in use).
    pub fn device_address(&self) -> Option<u64> {
        #[cfg(feature = "cuda")]
        {
            self.0.data.dev.get().map(|b| b.ptr())
        }
        #[cfg(not(feature = "cuda"))]
        None
    }

    /// Makes sure the device copy exists (uploading the host copy if needed); a no-op on the
    /// CPU. Data loaders call it to send a batch ahead of the step.
    pub fn prefetch(&self) -> Result<()> {
        #[cfg(feature = "cuda")]
        if let Device::Cuda(_) = self.device() {
            crate::cuda::dev_buf(self)?;
        }
        Ok(())
    }

    /// Mutable float32 elements, copying the buffer first if it is shared (copy-on-write).
    /// The tensor keeps its identity and its device (a GPU tensor's device copy is dropped and
    /// made again from the host values when a device op next needs it), and its copies
    /// packed for the AMX unit are dropped ([`Tensor::f32_mut_keeping_packed`] keeps them).
    /// Errors for integer tensors.
    pub fn f32_mut(&mut self) -> Result<&mut [f32]> {
        Ok(self.f32_mut_taking_packed(false)?.0)
    }

    /// [`Tensor::f32_mut`] for a writer that keeps the tensor's copies packed for the AMX
    /// unit current as it writes (the optimizers' element-wise pass): besides the elements,
    /// the copies taken out of the tensor, where it has any. Call
    /// [`PackedRefresh::refresh`](crate::kernels::amx::prepacked::PackedRefresh::refresh)
    /// on every part after its last write, then hand them back with
    /// [`Tensor::restore_packed`]; otherwise they are dropped, as by [`Tensor::f32_mut`].
    /// Errors for integer tensors.
    ///
    /// ```
    /// use keras_engine::Tensor;
    /// let mut w = Tensor::new(vec![1.0f32; 64 * 32], [64, 32])?;
    /// let (values, refresh) = w.f32_mut_keeping_packed()?;
    /// values[0] = 2.0;
    /// if let Some(r) = refresh {
    ///     r.refresh(0, values);
    ///     w.restore_packed(r);
    /// }
    /// assert_eq!(w.as_f32()?[0], 2.0);
    /// # Ok::<(), keras_engine::EngineError>(())
    /// ```
    pub fn f32_mut_keeping_packed(
        &mut self,
    ) -> Result<(&mut [f32], Option<crate::kernels::amx::prepacked::PackedRefresh>)> {
        self.f32_mut_taking_packed(true)
    }

    /// Puts back the packed copies [`Tensor::f32_mut_keeping_packed`] took out, where every
    /// part was refreshed once and the tensor was not written again since (otherwise they are
    /// dropped: the next product packs the current values).
    pub fn restore_packed(&mut self, refresh: crate::kernels::amx::prepacked::PackedRefresh) {
        if !refresh.complete() || refresh.len != self.numel() {
            return;
        }
        let Some(inner) = Arc::get_mut(&mut self.0) else {
            return;
        };
        let Some(data) = Arc::get_mut(&mut inner.data) else {
            return;
        };
        if data.amx.write != refresh.write || data.amx.any() {
            return;
        }
        for p in refresh.packs {
            let _ = data.amx.slot(p.layout()).set(p);
        }
    }

    /// This 2-D float32 leaf's copy packed for the AMX unit as `layout`, made on first use
    /// and kept until the values are written; `None` where there is none to keep (no AMX, a
    /// tensor another op produced or one that requires no gradient, not 2-D host float32,
    /// switched off). Only leaves that require gradients (trainable variables) keep copies: a
    /// kernel computed afresh for every call (a leaf too where nothing records) would pay a
    /// new buffer each time instead of the driver's kept one.
    pub(crate) fn amx_packed(
        &self,
        layout: crate::kernels::amx::prepacked::Layout,
    ) -> Option<&crate::kernels::amx::prepacked::Packed> {
        use crate::kernels::amx::prepacked;
        if self.0.node.is_some()
            || !self.0.requires_grad
            || self.rank() != 2
            || self.dtype() != DType::F32
            || !self.device().is_cpu()
            || !prepacked::enabled()
        {
            return None;
        }
        let slot = self.0.data.amx.slot(layout);
        if let Some(p) = slot.get() {
            return Some(p);
        }
        let (rows, cols) = (self.shape()[0], self.shape()[1]);
        let w = self.as_f32().ok()?;
        let parallel = !crate::parallel::in_worker();
        let p = prepacked::Packed::new(layout, w, rows, cols, parallel)?;
        let _ = slot.set(p);
        slot.get()
    }

    fn f32_mut_taking_packed(
        &mut self,
        keep: bool,
    ) -> Result<(&mut [f32], Option<crate::kernels::amx::prepacked::PackedRefresh>)> {
        if self.dtype() != DType::F32 {
            bail!("expected a float32 tensor, got {}", self.dtype());
        }
        self.make_unique_inner();
        let inner = Arc::get_mut(&mut self.0).expect("unique after copy");
        inner.node = None;
        inner.logits = None;
        if Arc::get_mut(&mut inner.data).is_none() {
            let host = inner.data.host()?.clone();
            inner.data = Arc::new(Data::host_only(host, inner.data.device));
        }
        let data = Arc::get_mut(&mut inner.data).expect("unique data");
        data.host()?;
        #[cfg(feature = "cuda")]
        {
            data.dev.take();
        }
        // Every write gets a new number and drops the packed copies (or hands them out).
        let write = crate::kernels::amx::prepacked::next_write();
        data.amx.write = write;
        let refresh = if data.amx.any() {
            let packs: Vec<_> = data.amx.packs.iter_mut().filter_map(|p| p.take()).collect();
            keep.then(|| crate::kernels::amx::prepacked::PackedRefresh::new(packs, write, data.len))
        } else {
            None
        };
        match data.host.get_mut() {
            Some(Storage::F32(v)) => Ok((v, refresh)),
            _ => unreachable!("dtype checked above"),
        }
    }

    /// Detaches a private `Inner` with the same identity when someone else holds this one.
    pub(crate) fn make_unique_inner(&mut self) {
        if Arc::get_mut(&mut self.0).is_none() {
            // Someone else (a recorded graph, a caller) holds this tensor: detach a private copy
            // with the same identity so gradients keyed by id still match.
            let inner = &self.0;
            *self = Tensor(Arc::new(Inner {
                id: inner.id,
                shape: inner.shape.clone(),
                data: inner.data.clone(),
                requires_grad: inner.requires_grad,
                node: None,
                logits: None,
            }));
        }
    }

    /// The same values with a new shape (shares the buffer; differentiable).
    pub fn reshape(&self, shape: impl Into<Vec<usize>>) -> Result<Tensor> {
        let shape = shape.into();
        if crate::alloc::checked_numel(&shape, 1).ok() != Some(self.numel()) {
            bail!(
                "cannot reshape a tensor of shape {:?} ({} elements) to {:?}",
                self.shape(),
                self.numel(),
                shape
            );
        }
        let from = self.shape().to_vec();
        let out = Tensor::with_data(self.0.data.clone(), shape);
        autodiff::record_unchecked(
            out,
            &[self],
            Box::new(move |g, _out, _inputs| Ok(vec![Some(g.reshape(from.clone())?)])),
        )
    }

    /// A tensor with the same values and no history (gradients stop here).
    pub fn detach(&self) -> Tensor {
        Tensor::with_data(self.0.data.clone(), self.shape().to_vec())
    }

    /// A leaf with the same values whose gradient the tape computes (a variable, or an input
    /// passed to [`crate::GradientTape::watch`]).
    pub fn requiring_grad(&self) -> Tensor {
        Tensor(Arc::new(Inner {
            id: TensorId::fresh(),
            shape: self.shape().to_vec(),
            data: self.0.data.clone(),
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

    /// A handle on this tensor's place in the recorded graph without its values: the same
    /// identity, shape and producing op, and no buffer (reading its values is an error). Only
    /// for a host tensor whose op does not read its output in the backward pass
    /// ([`Node::reads_output`]); `None` otherwise.
    pub(crate) fn graph_alias(&self) -> Option<Tensor> {
        let node = self.0.node.as_ref()?;
        if node.reads_output || !self.device().is_cpu() {
            return None;
        }
        let data = Data {
            device: self.device(),
            dtype: self.dtype(),
            len: self.numel(),
            host: OnceLock::new(),
            #[cfg(feature = "cuda")]
            dev: OnceLock::new(),
            amx: Default::default(),
        };
        Some(Tensor(Arc::new(Inner {
            id: self.0.id,
            shape: self.0.shape.clone(),
            data: Arc::new(data),
            requires_grad: self.0.requires_grad,
            node: Some(node.clone()),
            logits: None,
        })))
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

    /// This freshly computed tensor with `device` as its home (its values stay on the host
    /// until a device op needs them). Used for results of host code on device tensors.
    pub(crate) fn relabel(mut self, device: Device) -> Tensor {
        if self.device() == device {
            return self;
        }
        if let Some(inner) = Arc::get_mut(&mut self.0) {
            if let Some(data) = Arc::get_mut(&mut inner.data) {
                if data.host.get().is_some() {
                    #[cfg(feature = "cuda")]
                    data.dev.take();
                    data.device = device;
                    return self;
                }
            }
        }
        match self.0.data.host() {
            Ok(s) => Tensor::placed(s.clone(), self.shape().to_vec(), device),
            Err(_) => self,
        }
    }

    /// Builds a differentiable op result from a computed float32 buffer: when a tape records
    /// and an input tracks gradients, `backward(grad_out, out, inputs)` returns one optional
    /// gradient per input. This is how layers and losses outside the engine add fused ops.
    /// The result lives on the inputs' device (an error when they are on different devices),
    /// and so do the gradients the tape hands to the inputs.
    pub fn from_op(
        data: Vec<f32>,
        shape: impl Into<Vec<usize>>,
        inputs: &[&Tensor],
        backward: BackwardFn,
    ) -> Result<Tensor> {
        let shape = shape.into();
        if data.len() != numel(&shape) {
            bail!(
                "cannot make a tensor of shape {:?} ({} elements) from {} values",
                shape,
                numel(&shape),
                data.len()
            );
        }
        autodiff::record(Tensor::from_parts(Storage::F32(data), shape), inputs, backward)
    }

    /// Rows `start..end` along axis 0 (a copy; not differentiable). Used to cut batches:
    /// copies of 128 KiB and more are split over the engine threads by rows.
    pub fn slice_rows(&self, start: usize, end: usize) -> Result<Tensor> {
        let n = self.shape().first().copied().unwrap_or(0);
        if self.rank() == 0 || start > end || end > n {
            bail!("cannot take rows {start}..{end} of a tensor of shape {:?}", self.shape());
        }
        let row: usize = self.shape()[1..].iter().product();
        let mut shape = self.shape().to_vec();
        shape[0] = end - start;
        #[cfg(feature = "cuda")]
        if self.device().is_cuda() && !self.is_on_host() {
            return crate::cuda::ops::slice_flat(self, start * row, end * row, shape);
        }
        let rows = start..end;
        let storage = match self.0.data.host()? {
            Storage::F32(v) => Storage::F32(crate::parallel::gather_rows(v, row, rows)),
            Storage::I32(v) => Storage::I32(crate::parallel::gather_rows(v, row, rows)),
            Storage::I64(v) => Storage::I64(crate::parallel::gather_rows(v, row, rows)),
        };
        Ok(Tensor::placed(storage, shape, self.device()))
    }

    /// The rows at `indices` along axis 0, in that order (a copy, split over the engine
    /// threads from 128 KiB on, as [`Tensor::slice_rows`]; not differentiable).
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
        fn gather<T: Copy + Send + Sync>(v: &[T], idx: &[usize], row: usize) -> Vec<T> {
            crate::parallel::gather_rows(v, row, idx.iter().copied())
        }
        let storage = match self.0.data.host()? {
            Storage::F32(v) => Storage::F32(gather(v, indices, row)),
            Storage::I32(v) => Storage::I32(gather(v, indices, row)),
            Storage::I64(v) => Storage::I64(gather(v, indices, row)),
        };
        Ok(Tensor::placed(storage, shape, self.device()))
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
        Ok(Tensor::placed(storage, shape, first.device()))
    }

    /// The single value of a one-element tensor, as f32.
    pub fn item(&self) -> Result<f32> {
        if self.numel() != 1 {
            bail!("item() needs a tensor with one element, got shape {:?}", self.shape());
        }
        Ok(match self.0.data.host()? {
            Storage::F32(v) => v[0],
            Storage::I32(v) => v[0] as f32,
            Storage::I64(v) => v[0] as f32,
        })
    }
}

/// The GPU an op on `inputs` runs on, or `None` for the CPU path: the inputs' common device
/// when it is a GPU and some input is more than a host scalar.
#[cfg(feature = "cuda")]
#[inline]
pub(crate) fn cuda_of(op: &str, inputs: &[&Tensor]) -> Result<Option<usize>> {
    match op_device(op, inputs)? {
        Device::Cuda(d) if inputs.iter().any(|t| !t.is_host_scalar()) => Ok(Some(d)),
        _ => Ok(None),
    }
}

/// The device an op on `inputs` runs on: the common device of the inputs, where one-element
/// tensors with host values join any device. Errors when inputs sit on different devices.
#[inline]
pub fn op_device(op: &str, inputs: &[&Tensor]) -> Result<Device> {
    let mut found: Option<Device> = None;
    for t in inputs {
        let d = t.device();
        if found == Some(d) {
            continue;
        }
        if t.is_host_scalar() {
            continue;
        }
        match found {
            None => found = Some(d),
            Some(f) => bail!(
                "{op}: expected all tensors to be on the same device, but found tensors on {f} and {d} (move one with Tensor::to_device)"
            ),
        }
    }
    Ok(found.or_else(|| inputs.first().map(|t| t.device())).unwrap_or(Device::Cpu))
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
