//! `keras.utils.Sequence` / `PyDataset`: a data source that produces whole batches by index,
//! which `fit`, `evaluate` and `predict` consume (`Sequential::fit_sequence`, ...).

use crate::{Result, Tensor};

/// One batch a [`Sequence`] produces: inputs, optional targets and optional per-sample weights
/// (Keras's `(x, y, sample_weight)` tuple).
#[derive(Clone, Debug)]
pub struct Batch {
    /// Inputs, batch first.
    pub x: Tensor,
    /// Targets (none for `predict`).
    pub y: Option<Tensor>,
    /// Per-sample weights, shape `[batch]`.
    pub sample_weight: Option<Tensor>,
}

impl Batch {
    /// A batch of inputs and targets.
    pub fn new(x: Tensor, y: Tensor) -> Self {
        Batch { x, y: Some(y), sample_weight: None }
    }

    /// A batch of inputs only (for `predict`).
    pub fn inputs(x: Tensor) -> Self {
        Batch { x, y: None, sample_weight: None }
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
/// assert_eq!(s.get_batch(2).unwrap().x.shape(), &[2, 1]);
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
