//! `keras.utils.Sequence` / `PyDataset`: a data source that produces whole batches by index,
//! which `fit`, `evaluate` and `predict` consume (`Sequential::fit_sequence`, ...).

use crate::trainers::Arrays;
use crate::Result;

/// One batch a [`Sequence`] produces: inputs, optional targets and optional per-sample weights
/// (Keras's `(x, y, sample_weight)` tuple). Each part is one array, a list (one per model
/// input or output) or a map keyed by input or output name, as [`Arrays`].
#[derive(Clone, Debug)]
pub struct Batch {
    /// Inputs, batch first.
    pub x: Arrays,
    /// Targets (none for `predict`).
    pub y: Option<Arrays>,
    /// Per-sample weights, shape `[batch]` (one array for every output, or one per output).
    pub sample_weight: Option<Arrays>,
}

impl Batch {
    /// A batch of inputs and targets.
    pub fn new(x: impl Into<Arrays>, y: impl Into<Arrays>) -> Self {
        Batch { x: x.into(), y: Some(y.into()), sample_weight: None }
    }

    /// A batch of inputs only (for `predict`).
    pub fn inputs(x: impl Into<Arrays>) -> Self {
        Batch { x: x.into(), y: None, sample_weight: None }
    }

    /// The same batch with per-sample weights.
    pub fn with_sample_weight(mut self, w: impl Into<Arrays>) -> Self {
        self.sample_weight = Some(w.into());
        self
    }
}

/// A data source indexed by batch (Keras `PyDataset` / `keras.utils.Sequence`).
///
/// `get_batch` takes `&self`. With [`workers`](Sequence::workers) above 1 (Keras's default is
/// 1: batches are made on the training thread), that many threads call it ahead of the training
/// step, in any order, keeping at most [`max_queue_size`](Sequence::max_queue_size) batches
/// in flight; the loop still receives them in index order and stops at the first error; implementations that randomize (augmentation) should derive their randomness
/// from the batch index and an epoch counter advanced in `on_epoch_end`, not from shared mutable
/// state, so results do not depend on thread timing. `fit` ignores its `shuffle` argument for
/// a `Sequence`, as Keras does: reshuffle in `on_epoch_end`.
///
/// ```
/// use keras::utils::{Batch, Sequence};
/// use keras::{Result, Tensor};
///
/// struct Squares { n: usize, batch: usize }
/// impl Sequence for Squares {
///     fn len(&self) -> usize { self.n.div_ceil(self.batch) }
///     fn get_batch(&self, i: usize) -> Result<Batch> {
///         let rows: Vec<f32> = (i * self.batch..((i + 1) * self.batch).min(self.n)).map(|v| v as f32).collect();
///         let b = rows.len();
///         let y: Vec<f32> = rows.iter().map(|v| v * v).collect();
///         Ok(Batch::new(Tensor::new(rows, [b, 1])?, Tensor::new(y, [b, 1])?))
///     }
/// }
/// let s = Squares { n: 10, batch: 4 };
/// assert_eq!(s.len(), 3);
/// assert_eq!(s.get_batch(2).unwrap().x.as_tensor().unwrap().shape(), &[2, 1]);
/// ```
pub trait Sequence: Send + Sync {
    /// Number of batches in an epoch.
    fn len(&self) -> usize;

    /// Whether the sequence has no batches.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch at `index` (`0..len()`).
    fn get_batch(&self, index: usize) -> Result<Batch>;

    /// Called after every epoch (Keras `on_epoch_end`): reshuffle or advance augmentation here.
    fn on_epoch_end(&mut self) {}

    /// Threads producing batches ahead of the training step (Keras `PyDataset(workers=1)`).
    /// 0 or 1: batches are made on the calling thread when needed, as in Keras.
    fn workers(&self) -> usize {
        1
    }

    /// Most batches made ahead of the one being consumed (Keras `max_queue_size=10`); 0 means
    /// no limit, as for Python's `queue.Queue(0)`.
    fn max_queue_size(&self) -> usize {
        10
    }
}

/// Any [`Sequence`] with its batches made on `workers` threads ahead of the training step
/// (Keras's `PyDataset(workers=..., max_queue_size=...)` arguments, for sources that do not take
/// them themselves, such as `ImageDataGenerator::flow_from_directory`). Batches still arrive in
/// index order and are the same as without workers, because `get_batch` depends only on the
/// index and the epoch.
///
/// ```
/// use keras::utils::{Batch, Sequence, SequenceExt};
/// # struct Ones;
/// # impl Sequence for Ones {
/// #     fn len(&self) -> usize { 4 }
/// #     fn get_batch(&self, _: usize) -> keras::Result<Batch> {
/// #         Ok(Batch::inputs(keras::Tensor::ones([2, 3])))
/// #     }
/// # }
/// let data = Ones.with_workers(2).queue_size(4);
/// assert_eq!((data.workers(), data.max_queue_size(), data.len()), (2, 4, 4));
/// ```
pub struct WithWorkers<S> {
    inner: S,
    workers: usize,
    max_queue_size: usize,
}

impl<S: Sequence> WithWorkers<S> {
    crate::setters::setters! {
        /// Most batches made ahead of the one being consumed (default 10; 0 = no limit).
        queue_size(max_queue_size): usize,
    }

    /// The wrapped sequence.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The wrapped sequence, mutably.
    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the sequence.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Sequence> Sequence for WithWorkers<S> {
    fn len(&self) -> usize {
        self.inner.len()
    }

    fn get_batch(&self, index: usize) -> Result<Batch> {
        self.inner.get_batch(index)
    }

    fn on_epoch_end(&mut self) {
        self.inner.on_epoch_end();
    }

    fn workers(&self) -> usize {
        self.workers
    }

    fn max_queue_size(&self) -> usize {
        self.max_queue_size
    }
}

/// Adapters available on every [`Sequence`].
pub trait SequenceExt: Sequence + Sized {
    /// Makes batches on `workers` threads ahead of the training step (see [`WithWorkers`]).
    fn with_workers(self, workers: usize) -> WithWorkers<Self> {
        WithWorkers { inner: self, workers, max_queue_size: 10 }
    }
}

impl<S: Sequence> SequenceExt for S {}
