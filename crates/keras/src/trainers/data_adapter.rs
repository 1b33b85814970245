//! What the training loops iterate over: in-memory tensors (batched, shuffled per epoch) or a
//! user [`Sequence`]. One seam, so `fit`/`evaluate`/`predict` have one loop each whatever the
//! data (Keras `trainers/data_adapters`).

use keras_engine::with_global_rng;

use super::data::{batch_ranges, take};
use crate::utils::{Batch, Sequence};
use crate::{keras_bail, Result, Tensor};

/// A source of batches for one pass over the data.
pub trait DataAdapter {
    /// Batches per epoch.
    fn num_batches(&self) -> usize;

    /// Calls `f(step, batch)` for each batch of one epoch, in order, stopping early when `f`
    /// returns `Ok(false)`. `shuffle` reorders samples (ignored by sources that shuffle
    /// themselves). Internal iteration lets a source run workers scoped to the epoch.
    fn for_each_batch(
        &mut self,
        shuffle: bool,
        f: &mut dyn FnMut(usize, Batch) -> Result<bool>,
    ) -> Result<()>;

    /// End-of-epoch hook (a `Sequence` reshuffles here).
    fn on_epoch_end(&mut self) {}
}

/// In-memory arrays, batched in order or in a fresh random order each epoch.
pub struct TensorAdapter {
    x: Tensor,
    y: Option<Tensor>,
    sample_weight: Option<Tensor>,
    batch_size: usize,
    order: Vec<usize>,
}

impl TensorAdapter {
    /// Batches `x` (and `y`, `sample_weight`, which the caller checked agree on length).
    pub fn new(x: Tensor, y: Option<Tensor>, sample_weight: Option<Tensor>, batch_size: usize) -> Self {
        let n = x.shape().first().copied().unwrap_or(0);
        TensorAdapter { x, y, sample_weight, batch_size, order: (0..n).collect() }
    }
}

impl DataAdapter for TensorAdapter {
    fn num_batches(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    fn for_each_batch(
        &mut self,
        shuffle: bool,
        f: &mut dyn FnMut(usize, Batch) -> Result<bool>,
    ) -> Result<()> {
        if shuffle {
            with_global_rng(|r| r.shuffle(&mut self.order));
        }
        let ranges = batch_ranges(self.order.len(), self.batch_size);
        let whole = ranges.len() == 1 && !shuffle;
        for (step, (s, e)) in ranges.into_iter().enumerate() {
            let idx = &self.order[s..e];
            let pick = |t: &Tensor| if whole { Ok(t.clone()) } else { take(t, idx) };
            let batch = Batch {
                x: pick(&self.x)?,
                y: self.y.as_ref().map(pick).transpose()?,
                sample_weight: self.sample_weight.as_ref().map(pick).transpose()?,
            };
            if !f(step, batch)? {
                break;
            }
        }
        Ok(())
    }
}

/// A user [`Sequence`], read batch by batch in index order.
pub struct SequenceAdapter<'a> {
    seq: &'a mut dyn Sequence,
}

impl<'a> SequenceAdapter<'a> {
    /// Wraps `seq`; an empty sequence is an error, as in Keras.
    pub fn new(seq: &'a mut dyn Sequence) -> Result<Self> {
        if seq.is_empty() {
            keras_bail!(Value, "The `Sequence` passed has no batches (len() == 0)");
        }
        Ok(SequenceAdapter { seq })
    }
}

impl DataAdapter for SequenceAdapter<'_> {
    fn num_batches(&self) -> usize {
        self.seq.len()
    }

    fn for_each_batch(
        &mut self,
        _shuffle: bool,
        f: &mut dyn FnMut(usize, Batch) -> Result<bool>,
    ) -> Result<()> {
        for step in 0..self.seq.len() {
            let batch = self.seq.get_batch(step)?;
            if !f(step, batch)? {
                break;
            }
        }
        Ok(())
    }

    fn on_epoch_end(&mut self) {
        self.seq.on_epoch_end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_adapter_covers_every_sample_once() {
        let x = Tensor::from_i32((0..10).collect(), [10]).unwrap();
        let mut a = TensorAdapter::new(x, None, None, 4);
        assert_eq!(a.num_batches(), 3);
        let mut seen = Vec::new();
        a.for_each_batch(true, &mut |_, b| {
            seen.extend_from_slice(b.x.as_i32()?);
            Ok(true)
        })
        .unwrap();
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn early_stop_and_empty_sequence() {
        let x = Tensor::zeros([10, 1]);
        let mut a = TensorAdapter::new(x, None, None, 2);
        let mut steps = 0;
        a.for_each_batch(false, &mut |s, _| {
            steps += 1;
            Ok(s < 1)
        })
        .unwrap();
        assert_eq!(steps, 2);

        struct Empty;
        impl Sequence for Empty {
            fn len(&self) -> usize {
                0
            }
            fn get_batch(&self, _: usize) -> Result<Batch> {
                unreachable!()
            }
        }
        let mut e = Empty;
        assert!(SequenceAdapter::new(&mut e).is_err());
    }
}
