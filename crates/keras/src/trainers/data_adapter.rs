//! What the training loops iterate over: in-memory tensors (batched, shuffled per epoch) or a
//! user [`Sequence`]. One seam, so `fit`/`evaluate`/`predict` have one loop each whatever the
//! data (Keras `trainers/data_adapters`).

use keras_engine::with_global_rng;

use super::arrays::{check_cardinality, Arrays};
use super::data::{batch_ranges, take};
use crate::utils::{Batch, Sequence};
use crate::{keras_bail, Result};

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

/// In-memory arrays, batched in order or in a fresh random order each epoch. Every array of
/// `x`, `y` and `sample_weight` (each one array, a list or a map) is batched along its first
/// axis with the same rows.
pub struct TensorAdapter {
    x: Arrays,
    y: Option<Arrays>,
    sample_weight: Option<Arrays>,
    batch_size: usize,
    order: Vec<usize>,
}

impl TensorAdapter {
    /// Batches `x` (and `y`, `sample_weight`); an error when the arrays disagree on the number
    /// of samples (Keras's data cardinality check).
    pub fn new(
        x: impl Into<Arrays>,
        y: Option<Arrays>,
        sample_weight: Option<Arrays>,
        batch_size: usize,
    ) -> Result<Self> {
        let x = x.into();
        let n = check_cardinality(&[
            ("x", Some(&x)),
            ("y", y.as_ref()),
            ("sample_weight", sample_weight.as_ref()),
        ])?;
        Ok(TensorAdapter { x, y, sample_weight, batch_size, order: (0..n).collect() })
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
            let pick = |a: &Arrays| if whole { Ok(a.clone()) } else { a.map(|t| take(t, idx)) };
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

/// A user [`Sequence`], delivered batch by batch in index order. With `workers() > 1` the
/// batches are made on that many scoped threads ahead of the consumer (Keras's
/// `PyDataset` thread pool), at most `max_queue_size()` ahead of the batch being consumed.
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

/// Scheduling state shared by the consumer and the workers of one epoch.
struct Schedule {
    /// Next batch index a worker may take.
    next: usize,
    /// Batches the consumer has taken out so far.
    consumed: usize,
    /// Set when the consumer stops early (or failed): workers take no new batch.
    stop: bool,
}

/// Runs `get_batch` and turns a panic in user code into an error, so a panicking batch cannot
/// leave the consumer waiting for an index that never arrives.
fn produce(seq: &dyn Sequence, index: usize) -> Result<Batch> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| seq.get_batch(index))) {
        Ok(r) => r,
        Err(p) => {
            let why = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(crate::Error::State(format!("Sequence::get_batch({index}) panicked: {why}")))
        }
    }
}

/// Stops the workers when the consumer leaves the epoch by any path (end, early stop, error, or
/// a panic in the training step), so the scope can join them.
struct StopOnDrop<'a>(&'a std::sync::Mutex<Schedule>, &'a std::sync::Condvar);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        self.1.notify_all();
    }
}

fn prefetch(
    seq: &dyn Sequence,
    workers: usize,
    window: usize,
    f: &mut dyn FnMut(usize, Batch) -> Result<bool>,
) -> Result<()> {
    use std::collections::BTreeMap;
    use std::sync::{mpsc, Condvar, Mutex};

    let n = seq.len();
    let sched = Mutex::new(Schedule { next: 0, consumed: 0, stop: false });
    let wake = Condvar::new();
    let lock = || sched.lock().unwrap_or_else(|e| e.into_inner());
    let (tx, rx) = mpsc::channel::<(usize, Result<Batch>)>();
    std::thread::scope(|scope| {
        for _ in 0..workers.min(n) {
            let tx = tx.clone();
            let (sched, wake) = (&sched, &wake);
            scope.spawn(move || loop {
                let index = {
                    let mut s = sched.lock().unwrap_or_else(|e| e.into_inner());
                    while !s.stop && s.next < n && s.next >= s.consumed.saturating_add(window) {
                        s = wake.wait(s).unwrap_or_else(|e| e.into_inner());
                    }
                    if s.stop || s.next >= n {
                        return;
                    }
                    s.next += 1;
                    s.next - 1
                };
                if tx.send((index, produce(seq, index))).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        let _stop = StopOnDrop(&sched, &wake);
        // Batches finished out of order wait here until their turn.
        let mut ready: BTreeMap<usize, Result<Batch>> = BTreeMap::new();
        for step in 0..n {
            let batch = loop {
                if let Some(b) = ready.remove(&step) {
                    break b;
                }
                match rx.recv() {
                    Ok((i, b)) => {
                        ready.insert(i, b);
                    }
                    Err(_) => {
                        keras_bail!(State, "Sequence workers stopped before producing batch {step}")
                    }
                }
            };
            lock().consumed = step + 1;
            wake.notify_all();
            if !f(step, batch?)? {
                break;
            }
        }
        Ok(())
    })
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
        let workers = self.seq.workers();
        if workers > 1 {
            let window = match self.seq.max_queue_size() {
                0 => usize::MAX,
                q => q,
            };
            return prefetch(&*self.seq, workers, window, f);
        }
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
    use crate::Tensor;

    #[test]
    fn tensor_adapter_covers_every_sample_once() {
        let x = Tensor::from_i32((0..10).collect(), [10]).unwrap();
        let mut a = TensorAdapter::new(x, None, None, 4).unwrap();
        assert_eq!(a.num_batches(), 3);
        let mut seen = Vec::new();
        a.for_each_batch(true, &mut |_, b| {
            seen.extend_from_slice(b.x.as_tensor()?.as_i32()?);
            Ok(true)
        })
        .unwrap();
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn early_stop_and_empty_sequence() {
        let x = Tensor::zeros([10, 1]);
        let mut a = TensorAdapter::new(x, None, None, 2).unwrap();
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

    /// Batch `i` holds `[i]`; optional failure or panic at one index, a per-batch delay that
    /// makes early indices finish last, and a count of get_batch calls.
    struct Probe {
        n: usize,
        workers: usize,
        queue: usize,
        fail_at: Option<usize>,
        panic_at: Option<usize>,
        calls: std::sync::atomic::AtomicUsize,
    }

    impl Probe {
        fn new(n: usize, workers: usize, queue: usize) -> Self {
            Probe { n, workers, queue, fail_at: None, panic_at: None, calls: Default::default() }
        }
    }

    impl Sequence for Probe {
        fn len(&self) -> usize {
            self.n
        }
        fn get_batch(&self, i: usize) -> Result<Batch> {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            // Earlier batches take longer, so workers finish them out of order.
            std::thread::sleep(std::time::Duration::from_millis(((self.n - i) % 4) as u64));
            if self.fail_at == Some(i) {
                keras_bail!(Value, "batch {i} is broken");
            }
            if self.panic_at == Some(i) {
                panic!("boom at {i}");
            }
            Ok(Batch::inputs(Tensor::from_i32(vec![i as i32], [1])?))
        }
        fn workers(&self) -> usize {
            self.workers
        }
        fn max_queue_size(&self) -> usize {
            self.queue
        }
    }

    fn run(p: &mut Probe, stop_after: Option<usize>) -> (Result<()>, Vec<(usize, i32)>) {
        let mut got = Vec::new();
        let mut a = SequenceAdapter::new(p).unwrap();
        let r = a.for_each_batch(false, &mut |step, b| {
            got.push((step, b.x.as_tensor()?.as_i32()?[0]));
            Ok(stop_after.is_none_or(|s| step + 1 < s))
        });
        (r, got)
    }

    #[test]
    fn workers_deliver_batches_in_index_order() {
        for (workers, queue) in [(1, 10), (3, 10), (4, 2), (8, 0), (2, 1)] {
            let mut p = Probe::new(23, workers, queue);
            let (r, got) = run(&mut p, None);
            r.unwrap();
            let want: Vec<(usize, i32)> = (0..23).map(|i| (i, i as i32)).collect();
            assert_eq!(got, want, "workers={workers} queue={queue}");
            assert_eq!(p.calls.load(std::sync::atomic::Ordering::SeqCst), 23);
        }
    }

    #[test]
    fn worker_errors_and_panics_surface_in_order() {
        let mut p = Probe::new(20, 4, 5);
        p.fail_at = Some(6);
        let (r, got) = run(&mut p, None);
        assert!(matches!(r, Err(crate::Error::Value(m)) if m.contains("batch 6 is broken")));
        assert_eq!(got.len(), 6);
        // The queue bound: no more than 5 batches beyond the consumed ones were started.
        assert!(p.calls.load(std::sync::atomic::Ordering::SeqCst) <= 6 + 5 + 1);

        let mut p = Probe::new(10, 3, 4);
        p.panic_at = Some(2);
        let (r, got) = run(&mut p, None);
        assert!(
            matches!(r, Err(crate::Error::State(m)) if m.contains("panicked") && m.contains("boom at 2"))
        );
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn early_stop_with_workers_drains_and_stops_producing() {
        let mut p = Probe::new(50, 4, 3);
        let (r, got) = run(&mut p, Some(5));
        r.unwrap();
        assert_eq!(got, (0..5).map(|i| (i, i as i32)).collect::<Vec<_>>());
        // Workers never run more than the queue bound past the last consumed batch.
        assert!(p.calls.load(std::sync::atomic::Ordering::SeqCst) <= 5 + 3);
        // A panic in the training step stops the workers instead of leaving them waiting.
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut a = SequenceAdapter::new(&mut p).unwrap();
            let _ = a.for_each_batch(false, &mut |step, _| {
                if step == 2 {
                    panic!("step failed")
                } else {
                    Ok(true)
                }
            });
        }));
        assert!(caught.is_err());
        // The adapter is reusable for the next epoch.
        let (r, got) = run(&mut p, None);
        r.unwrap();
        assert_eq!(got.len(), 50);
    }
}
