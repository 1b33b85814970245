//! `keras.utils.timeseries_dataset_from_array`: sliding windows over an array, batched, as a
//! [`Sequence`] that `fit_sequence` / `evaluate_sequence` / `predict_sequence` consume.

use crate::setters::setters;
use keras_engine::{with_global_rng, Rng};

use super::sequence::gather_first_axis;
use crate::utils::{Batch, Sequence};
use crate::{keras_bail, Result, Tensor};

/// Arguments of [`timeseries_dataset_from_array`] with Keras's defaults: sequence_stride 1,
/// sampling_rate 1, batch_size 128, no shuffle, the whole array.
#[derive(Clone, Debug)]
pub struct TimeseriesDatasetArgs {
    /// Period between the starts of successive windows.
    pub sequence_stride: usize,
    /// Period between successive rows inside a window.
    pub sampling_rate: usize,
    /// Windows per batch; `None` yields single windows without a batch axis.
    pub batch_size: Option<usize>,
    /// Shuffle the windows (once, when the dataset is made).
    pub shuffle: bool,
    /// Seed of the shuffle (None: drawn from the keras-rs random stream).
    pub seed: Option<u64>,
    /// First row used (None: 0).
    pub start_index: Option<usize>,
    /// Row after the last one used (None: the length of the data).
    pub end_index: Option<usize>,
}

impl Default for TimeseriesDatasetArgs {
    fn default() -> Self {
        TimeseriesDatasetArgs {
            sequence_stride: 1,
            sampling_rate: 1,
            batch_size: Some(128),
            shuffle: false,
            seed: None,
            start_index: None,
            end_index: None,
        }
    }
}

impl TimeseriesDatasetArgs {
    setters! {
        /// Period between window starts.
        sequence_stride: usize,
        /// Period between rows inside a window.
        sampling_rate: usize,
        /// Windows per batch (`None`: unbatched).
        batch_size: Option<usize>,
        /// Shuffle the windows.
        shuffle: bool,
        /// Shuffle seed.
        seed: u64 => Some,
        /// First row used.
        start_index: usize => Some,
        /// Row after the last one used.
        end_index: usize => Some,
    }
}

/// Windows over an array, made by [`timeseries_dataset_from_array`].
#[derive(Clone, Debug)]
pub struct TimeseriesDataset {
    data: Tensor,
    targets: Option<Tensor>,
    sequence_length: usize,
    sampling_rate: usize,
    batch_size: Option<usize>,
    start_index: usize,
    /// Window start positions relative to `start_index`, in delivery order.
    starts: Vec<usize>,
}

/// Windows of `sequence_length` rows over `data` (rows first), like Keras
/// `keras.utils.timeseries_dataset_from_array`.
///
/// Window `i` starts at row `start_index + p_i` with `p_i` in `0, stride, 2*stride, ...` and holds
/// rows `start + k * sampling_rate` for `k < sequence_length`, all before `end_index`. Its
/// target, when `targets` is given, is `targets[start_index + p_i]` (the row where the window
/// starts, as in Keras; pass targets shifted by the horizon you want to predict). Keras shuffles
/// with NumPy's generator and a tf.data shuffle buffer; here a seeded permutation of the windows
/// is used, so shuffled orders differ from Keras's while the windows are the same.
///
/// ```
/// use keras::preprocessing::{timeseries_dataset_from_array, TimeseriesDatasetArgs};
/// use keras::utils::Sequence;
/// let data = keras::Tensor::new((0..10).map(|v| v as f32).collect(), [10]).unwrap();
/// let ds = timeseries_dataset_from_array(&data, None, 3, TimeseriesDatasetArgs::default().batch_size(Some(4)))
///     .unwrap();
/// assert_eq!(ds.len(), 2); // 8 windows
/// assert_eq!(ds.get_batch(1).unwrap().x.as_tensor().unwrap().as_f32().unwrap(), &[4., 5., 6., 5., 6., 7., 6., 7., 8., 7., 8., 9.]);
/// ```
pub fn timeseries_dataset_from_array(
    data: &Tensor,
    targets: Option<&Tensor>,
    sequence_length: usize,
    args: TimeseriesDatasetArgs,
) -> Result<TimeseriesDataset> {
    if data.rank() == 0 {
        keras_bail!(Shape, "timeseries_dataset_from_array: `data` must have a first (time) axis");
    }
    let n = data.shape()[0];
    if let Some(s) = args.start_index.filter(|&s| s > 0) {
        if s >= n {
            keras_bail!(
                InvalidArgument,
                "`start_index` must be lower than the length of the data. Received: start_index={s}, for \
                 data of length {n}"
            );
        }
    }
    if let Some(e) = args.end_index {
        if let Some(s) = args.start_index.filter(|&s| s > 0) {
            if e <= s {
                keras_bail!(
                    InvalidArgument,
                    "`end_index` must be higher than `start_index`. Received: start_index={s}, and end_index={e}"
                );
            }
        }
        if e >= n {
            keras_bail!(
                InvalidArgument,
                "`end_index` must be lower than the length of the data. Received: end_index={e}, for data of \
                 length {n}"
            );
        }
        if e == 0 {
            keras_bail!(InvalidArgument, "`end_index` must be higher than 0. Received: end_index={e}");
        }
    }
    if args.sampling_rate == 0 {
        keras_bail!(InvalidArgument, "`sampling_rate` must be higher than 0. Received: sampling_rate=0");
    }
    if args.sampling_rate >= n {
        keras_bail!(
            InvalidArgument,
            "`sampling_rate` must be lower than the length of the data. Received: sampling_rate={}, for data \
             of length {n}",
            args.sampling_rate
        );
    }
    if args.sequence_stride == 0 {
        keras_bail!(InvalidArgument, "`sequence_stride` must be higher than 0. Received: sequence_stride=0");
    }
    if args.sequence_stride >= n {
        keras_bail!(
            InvalidArgument,
            "`sequence_stride` must be lower than the length of the data. Received: sequence_stride={}, for \
             data of length {n}",
            args.sequence_stride
        );
    }
    if sequence_length == 0 {
        keras_bail!(InvalidArgument, "`sequence_length` must be at least 1");
    }
    if args.batch_size == Some(0) {
        keras_bail!(InvalidArgument, "`batch_size` must be at least 1 (or None for unbatched windows)");
    }
    if let Some(t) = targets {
        if t.rank() == 0 {
            keras_bail!(Shape, "timeseries_dataset_from_array: `targets` must have a first axis");
        }
    }
    let start_index = args.start_index.unwrap_or(0);
    let end_index = args.end_index.unwrap_or(n);
    let span = (sequence_length - 1) * args.sampling_rate;
    let mut num_seqs = (end_index - start_index).saturating_sub(span);
    if let Some(t) = targets {
        num_seqs = num_seqs.min(t.shape()[0].saturating_sub(start_index));
    }
    let mut starts: Vec<usize> = (0..num_seqs).step_by(args.sequence_stride).collect();
    if starts.is_empty() {
        keras_bail!(
            Value,
            "timeseries_dataset_from_array: no window of {sequence_length} rows (sampling_rate {}) fits in \
             rows {start_index}..{end_index}",
            args.sampling_rate
        );
    }
    if args.shuffle {
        let seed = args.seed.unwrap_or_else(|| with_global_rng(|r| r.next_u64()));
        Rng::new(seed).shuffle(&mut starts);
    }
    Ok(TimeseriesDataset {
        data: data.clone(),
        targets: targets.cloned(),
        sequence_length,
        sampling_rate: args.sampling_rate,
        batch_size: args.batch_size,
        start_index,
        starts,
    })
}

impl TimeseriesDataset {
    /// Number of windows.
    pub fn num_windows(&self) -> usize {
        self.starts.len()
    }
}

impl Sequence for TimeseriesDataset {
    fn len(&self) -> usize {
        match self.batch_size {
            Some(b) => self.starts.len().div_ceil(b),
            None => self.starts.len(),
        }
    }

    fn get_batch(&self, index: usize) -> Result<Batch> {
        let b = self.batch_size.unwrap_or(1);
        let lo = index * b;
        if lo >= self.starts.len() {
            keras_bail!(Value, "timeseries dataset: batch {index} is out of range (len {})", self.len());
        }
        let starts = &self.starts[lo..(lo + b).min(self.starts.len())];
        let mut rows = Vec::with_capacity(starts.len() * self.sequence_length);
        for &p in starts {
            let first = self.start_index + p;
            rows.extend((0..self.sequence_length).map(|k| first + k * self.sampling_rate));
        }
        let x = gather_first_axis(&self.data, &rows)?;
        let mut shape = vec![self.sequence_length];
        shape.extend_from_slice(&self.data.shape()[1..]);
        let target_rows: Vec<usize> = starts.iter().map(|p| self.start_index + p).collect();
        let mut y = self.targets.as_ref().map(|t| gather_first_axis(t, &target_rows)).transpose()?;
        if self.batch_size.is_some() {
            shape.insert(0, starts.len());
        } else if let Some(t) = &y {
            y = Some(t.reshape(t.shape()[1..].to_vec())?);
        }
        let x = x.reshape(shape)?;
        Ok(match y {
            Some(y) => Batch::new(x, y),
            None => Batch::inputs(x),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arange(n: usize) -> Tensor {
        Tensor::new((0..n).map(|v| v as f32).collect(), [n]).unwrap()
    }

    #[test]
    fn windows_targets_and_arguments_match_keras() {
        // Keras: timeseries_dataset_from_array(arange(20), arange(20)*10, sequence_length=3,
        // sequence_stride=2, sampling_rate=2, batch_size=3, start_index=2, end_index=17)
        // gives windows starting at 2, 4, ..., 12 with targets 20, 40, ..., 120.
        let t = Tensor::from_i32((0..20).map(|v| v * 10).collect(), [20]).unwrap();
        let args = TimeseriesDatasetArgs::default()
            .sequence_stride(2)
            .sampling_rate(2)
            .batch_size(Some(3))
            .start_index(2)
            .end_index(17);
        let ds = timeseries_dataset_from_array(&arange(20), Some(&t), 3, args).unwrap();
        assert_eq!(ds.num_windows(), 6);
        assert_eq!(ds.len(), 2);
        let b = ds.get_batch(0).unwrap();
        assert_eq!(b.x.as_tensor().unwrap().shape(), &[3, 3]);
        assert_eq!(b.x.as_tensor().unwrap().as_f32().unwrap(), &[2., 4., 6., 4., 6., 8., 6., 8., 10.]);
        assert_eq!(b.y.unwrap().as_tensor().unwrap().as_i32().unwrap(), &[20, 40, 60]);
        let last = ds.get_batch(1).unwrap();
        assert_eq!(&last.x.as_tensor().unwrap().as_f32().unwrap()[6..], &[12., 14., 16.]);
        assert!(ds.get_batch(2).is_err());

        let unbatched = timeseries_dataset_from_array(
            &arange(5),
            Some(&arange(5)),
            2,
            TimeseriesDatasetArgs::default().batch_size(None),
        )
        .unwrap();
        assert_eq!(unbatched.len(), 4);
        let s = unbatched.get_batch(3).unwrap();
        assert_eq!(s.x.as_tensor().unwrap().shape(), &[2]);
        assert_eq!(s.y.unwrap().as_tensor().unwrap().shape(), &[] as &[usize]);
    }

    #[test]
    fn shuffle_is_a_seeded_permutation() {
        let a = TimeseriesDatasetArgs::default().shuffle(true).seed(7).batch_size(Some(100));
        // The first value of each window of the first batch.
        let firsts = |a: TimeseriesDatasetArgs| -> Vec<f32> {
            let ds = timeseries_dataset_from_array(&arange(30), None, 4, a).unwrap();
            let x = ds.get_batch(0).unwrap().x;
            x.as_tensor().unwrap().as_f32().unwrap().chunks(4).map(|w| w[0]).collect()
        };
        let (firsts, again) = (firsts(a.clone()), firsts(a));
        assert_eq!(firsts, again);
        let mut sorted = firsts.clone();
        sorted.sort_by(f32::total_cmp);
        assert_eq!(sorted, (0..27).map(|v| v as f32).collect::<Vec<_>>());
        assert_ne!(firsts, sorted);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let d = arange(10);
        let go = |a: TimeseriesDatasetArgs, len: usize| timeseries_dataset_from_array(&d, None, len, a);
        assert!(go(TimeseriesDatasetArgs::default().start_index(10), 2).is_err());
        assert!(go(TimeseriesDatasetArgs::default().start_index(5).end_index(5), 2).is_err());
        assert!(go(TimeseriesDatasetArgs::default().end_index(10), 2).is_err());
        assert!(go(TimeseriesDatasetArgs::default().sampling_rate(0), 2).is_err());
        assert!(go(TimeseriesDatasetArgs::default().sampling_rate(10), 2).is_err());
        assert!(go(TimeseriesDatasetArgs::default().sequence_stride(0), 2).is_err());
        assert!(go(TimeseriesDatasetArgs::default().batch_size(Some(0)), 2).is_err());
        assert!(go(TimeseriesDatasetArgs::default(), 0).is_err());
        assert!(go(TimeseriesDatasetArgs::default(), 11).is_err());
    }
}
