//! Sequence preprocessing: `pad_sequences` (Keras `keras.utils.pad_sequences`) and the legacy
//! `TimeseriesGenerator` (`keras.preprocessing.sequence.TimeseriesGenerator`).

use crate::setters::setters;
use keras_engine::{with_global_rng, DType, Rng};

use crate::utils::{Batch, Sequence};
use crate::{keras_bail, Result, Tensor};

/// A value a sequence passed to [`pad_sequences`] may hold (token ids or floats).
pub trait SequenceValue: Copy {
    /// The value as f64 (converted to the output dtype the way NumPy casts).
    fn to_f64(self) -> f64;
}

macro_rules! sequence_value {
    ($($t:ty),*) => {$(
        impl SequenceValue for $t {
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}
sequence_value!(i32, i64, u32, u64, usize, f32, f64);

/// Arguments of [`pad_sequences`], with Keras's defaults: `maxlen` None (the longest
/// sequence), `dtype` int32, `padding` and `truncating` `"pre"`, `value` 0.
///
/// ```
/// let args = keras::preprocessing::PadSequencesArgs::default().maxlen(4).padding("post");
/// assert_eq!(args.maxlen, Some(4));
/// ```
#[derive(Clone, Debug)]
pub struct PadSequencesArgs {
    /// Length of every output row (None: the longest sequence).
    pub maxlen: Option<usize>,
    /// Output dtype: int32 (default), int64 or float32.
    pub dtype: DType,
    /// `"pre"` pads before each sequence, `"post"` after.
    pub padding: String,
    /// `"pre"` drops values from the start of sequences longer than `maxlen`, `"post"` from the end.
    pub truncating: String,
    /// The padding value.
    pub value: f64,
}

impl Default for PadSequencesArgs {
    fn default() -> Self {
        PadSequencesArgs {
            maxlen: None,
            dtype: DType::I32,
            padding: "pre".into(),
            truncating: "pre".into(),
            value: 0.0,
        }
    }
}

impl PadSequencesArgs {
    /// `(padding == "post", truncating == "post")`, with Keras's error for any value but
    /// `"pre"` or `"post"`.
    fn post_flags(&self) -> Result<(bool, bool)> {
        let post = |value: &str, what: &str| match value {
            "pre" => Ok(false),
            "post" => Ok(true),
            other => Err(crate::Error::InvalidArgument(format!("{what} type \"{other}\" not understood"))),
        };
        Ok((post(&self.padding, "Padding")?, post(&self.truncating, "Truncating")?))
    }

    setters! {
        /// Length of every output row.
        maxlen: usize => Some,
        /// Output dtype.
        dtype: DType,
    }
    /// `"pre"` or `"post"`.
    pub fn padding(mut self, p: &str) -> Self {
        self.padding = p.to_string();
        self
    }
    /// `"pre"` or `"post"`.
    pub fn truncating(mut self, t: &str) -> Self {
        self.truncating = t.to_string();
        self
    }
    crate::setters::setters! {
        /// The padding value.
        value: f64,
    }
}

/// Pads (and truncates) sequences of different lengths to one `[num_sequences, maxlen]` tensor
/// (Keras `keras.utils.pad_sequences`). Empty sequences become all-padding rows. Values are
/// converted to `args.dtype` as NumPy does (floats truncate toward zero for integer dtypes).
///
/// ```
/// use keras::preprocessing::{pad_sequences, PadSequencesArgs};
/// let seqs = vec![vec![1, 2, 3], vec![4]];
/// let x = pad_sequences(&seqs, &PadSequencesArgs::default()).unwrap();
/// assert_eq!(x.as_i32().unwrap(), &[1, 2, 3, 0, 0, 4]);
/// let x = pad_sequences(&seqs, &PadSequencesArgs::default().maxlen(2).truncating("post").padding("post")).unwrap();
/// assert_eq!(x.as_i32().unwrap(), &[1, 2, 4, 0]);
/// ```
pub fn pad_sequences<S, T>(sequences: &[S], args: &PadSequencesArgs) -> Result<Tensor>
where
    S: AsRef<[T]>,
    T: SequenceValue,
{
    // Keras checks these lazily (only when a non-empty sequence needs them); checking up front
    // reports a typo even for inputs that happen not to need it.
    let (pad_post, trunc_post) = args.post_flags()?;
    let maxlen = match args.maxlen {
        Some(m) => m,
        None => match sequences.iter().map(|s| s.as_ref().len()).max() {
            Some(m) => m,
            None => keras_bail!(
                Value,
                "pad_sequences: cannot infer `maxlen` from an empty list of sequences; pass `maxlen`"
            ),
        },
    };
    let n = sequences.len();
    // `maxlen` is an argument: an overflowing or unallocatable size is an error.
    let len = keras_engine::alloc::checked_numel(&[n, maxlen], 8)?;
    let mut out = keras_engine::alloc::try_filled(len, args.value)?;
    for (row, s) in sequences.iter().enumerate() {
        let s = s.as_ref();
        let kept = if s.len() <= maxlen {
            s
        } else if trunc_post {
            &s[..maxlen]
        } else {
            &s[s.len() - maxlen..]
        };
        let start = if pad_post { 0 } else { maxlen - kept.len() };
        for (k, v) in kept.iter().enumerate() {
            out[row * maxlen + start + k] = v.to_f64();
        }
    }
    let shape = [n, maxlen];
    Ok(match args.dtype {
        DType::F32 => Tensor::new(out.into_iter().map(|v| v as f32).collect(), shape)?,
        DType::I32 => Tensor::from_i32(out.into_iter().map(|v| v as i32).collect(), shape)?,
        DType::I64 => Tensor::from_i64(out.into_iter().map(|v| v as i64).collect(), shape)?,
    })
}

/// [`pad_sequences`] on sequences of vectors (Keras accepts any sequence whose elements share
/// a shape): each tensor is `(length, *sample_shape)`; the result is
/// `(num_sequences, maxlen, *sample_shape)`. The sample shape comes from the first non-empty
/// sequence, and every other must match it, with Keras's error otherwise.
///
/// ```
/// use keras::preprocessing::{pad_sequences_nd, PadSequencesArgs};
/// use keras::{DType, Tensor};
/// let a = Tensor::new(vec![1.0, 2.0, 3.0, 4.0], [2, 2]).unwrap();
/// let b = Tensor::new(vec![5.0, 6.0], [1, 2]).unwrap();
/// let x = pad_sequences_nd(&[a, b], &PadSequencesArgs::default().dtype(DType::F32)).unwrap();
/// assert_eq!(x.shape(), &[2, 2, 2]);
/// assert_eq!(x.to_f32_vec(), vec![1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 5.0, 6.0]);
/// ```
pub fn pad_sequences_nd(sequences: &[Tensor], args: &PadSequencesArgs) -> Result<Tensor> {
    let (pad_post, trunc_post) = args.post_flags()?;
    if let Some(s) = sequences.iter().find(|s| s.rank() == 0) {
        keras_bail!(
            InvalidArgument,
            "`sequences` must be iterable: a sequence of shape {:?} has no length",
            s.shape()
        );
    }
    let sample_shape: Vec<usize> =
        sequences.iter().find(|s| s.shape()[0] > 0).map(|s| s.shape()[1..].to_vec()).unwrap_or_default();
    let maxlen = match args.maxlen {
        Some(m) => m,
        None => match sequences.iter().map(|s| s.shape()[0]).max() {
            Some(m) => m,
            None => keras_bail!(
                Value,
                "pad_sequences: cannot infer `maxlen` from an empty list of sequences; pass `maxlen`"
            ),
        },
    };
    let inner: usize = sample_shape.iter().product();
    let n = sequences.len();
    let len = keras_engine::alloc::checked_numel(&[n, maxlen, inner], 8)?;
    let mut out = keras_engine::alloc::try_filled(len, args.value)?;
    for (row, s) in sequences.iter().enumerate() {
        let len = s.shape()[0];
        if len == 0 {
            continue;
        }
        if s.shape()[1..] != sample_shape[..] {
            keras_bail!(
                Value,
                "Shape of sample {:?} of sequence at position {row} is different from expected shape {:?}",
                &s.shape()[1..],
                sample_shape
            );
        }
        let v = s.to_f32_vec();
        let keep = len.min(maxlen);
        let from = if len <= maxlen || trunc_post { 0 } else { len - maxlen };
        let start = if pad_post { 0 } else { maxlen - keep };
        for k in 0..keep {
            for e in 0..inner {
                out[(row * maxlen + start + k) * inner + e] = v[(from + k) * inner + e] as f64;
            }
        }
    }
    let mut shape = vec![n, maxlen];
    shape.extend(&sample_shape);
    Ok(match args.dtype {
        DType::F32 => Tensor::new(out.into_iter().map(|v| v as f32).collect(), shape)?,
        DType::I32 => Tensor::from_i32(out.into_iter().map(|v| v as i32).collect(), shape)?,
        DType::I64 => Tensor::from_i64(out.into_iter().map(|v| v as i64).collect(), shape)?,
    })
}

/// Rows `0..len` of `t` as a flat index list of its first axis, gathered into one tensor
/// `[rows.len(), ...]`; the caller reshapes.
pub(crate) fn gather_first_axis(t: &Tensor, rows: &[usize]) -> Result<Tensor> {
    Ok(t.gather_rows(rows)?)
}

/// Keras's legacy `TimeseriesGenerator`: batches of windows over `data` with the target that
/// follows each window. A [`Sequence`], so `fit_sequence` / `evaluate_sequence` /
/// `predict_sequence` consume it.
///
/// Window `j` ends just before row `t = start_index + length + j * stride` (up to `end_index`,
/// inclusive) and holds rows `t - length, t - length + sampling_rate, ... < t`; its target is
/// `targets[t]`. With `shuffle`, each batch draws `batch_size` rows at random (with
/// replacement, as Keras does). The draws come from a seed taken from the keras-rs random
/// stream at `build` (see `set_random_seed`), the batch index and the epoch, so they do not
/// depend on which worker thread builds a batch; they differ from NumPy's draws.
///
/// ```
/// use keras::preprocessing::TimeseriesGenerator;
/// use keras::utils::Sequence;
/// let data = keras::Tensor::new((0..10).map(|v| v as f32).collect(), [10, 1]).unwrap();
/// let g = TimeseriesGenerator::new(&data, &data, 3).batch_size(2).build().unwrap();
/// assert_eq!(g.len(), 4); // targets at rows 3..=9 in batches of 2
/// let b = g.get_batch(0).unwrap();
/// assert_eq!(b.x.as_tensor().unwrap().shape(), &[2, 3, 1]);
/// assert_eq!(b.x.as_tensor().unwrap().as_f32().unwrap(), &[0., 1., 2., 1., 2., 3.]);
/// assert_eq!(b.y.unwrap().as_tensor().unwrap().as_f32().unwrap(), &[3., 4.]);
/// ```
#[derive(Clone, Debug)]
pub struct TimeseriesGenerator {
    data: Tensor,
    targets: Tensor,
    length: usize,
    sampling_rate: usize,
    stride: usize,
    start_index: usize,
    end_index: Option<usize>,
    shuffle: bool,
    reverse: bool,
    batch_size: usize,
    /// `start_index + length` and the resolved end (set by `build`).
    first: usize,
    last: usize,
    seed: u64,
    epoch: u64,
}

impl TimeseriesGenerator {
    /// Windows of `length` rows over `data` (rows first) with targets `targets` (same number of
    /// rows). Defaults as Keras: sampling_rate 1, stride 1, start_index 0, end_index the last
    /// row, no shuffle, no reverse, batch_size 128. Call [`build`](Self::build) to validate.
    pub fn new(data: &Tensor, targets: &Tensor, length: usize) -> Self {
        TimeseriesGenerator {
            data: data.clone(),
            targets: targets.clone(),
            length,
            sampling_rate: 1,
            stride: 1,
            start_index: 0,
            end_index: None,
            shuffle: false,
            reverse: false,
            batch_size: 128,
            first: 0,
            last: 0,
            seed: 0,
            epoch: 0,
        }
    }
    setters! {
        /// Period between successive rows inside a window.
        sampling_rate: usize,
        /// Period between successive windows.
        stride: usize,
        /// First row usable as the start of a window.
        start_index: usize,
        /// Last row usable as a target (inclusive).
        end_index: usize => Some,
        /// Draw random rows for each batch instead of walking in order.
        shuffle: bool,
        /// Windows in reverse chronological order.
        reverse: bool,
        /// Windows per batch.
        batch_size: usize,
    }

    /// Checks the arguments (Keras's errors) and returns the ready generator.
    pub fn build(mut self) -> Result<Self> {
        let n = self.data.shape().first().copied().unwrap_or(0);
        let nt = self.targets.shape().first().copied().unwrap_or(0);
        if self.data.rank() == 0 || self.targets.rank() == 0 {
            keras_bail!(Shape, "TimeseriesGenerator: data and targets must have a first (time) axis");
        }
        if n != nt {
            keras_bail!(
                Shape,
                "Data and targets have to be of same length. Data length is {n} while target length is {nt}"
            );
        }
        for (what, v) in
            [("length", self.length), ("sampling_rate", self.sampling_rate), ("stride", self.stride)]
        {
            if v == 0 {
                keras_bail!(InvalidArgument, "TimeseriesGenerator: `{what}` must be at least 1");
            }
        }
        if self.batch_size == 0 {
            keras_bail!(InvalidArgument, "TimeseriesGenerator: `batch_size` must be at least 1");
        }
        if n == 0 {
            keras_bail!(Value, "TimeseriesGenerator: the data has no rows");
        }
        self.first = self.start_index + self.length;
        self.last = self.end_index.unwrap_or(n - 1);
        if self.last >= n {
            keras_bail!(
                InvalidArgument,
                "TimeseriesGenerator: `end_index={}` is past the last row ({})",
                self.last,
                n - 1
            );
        }
        if self.first > self.last {
            keras_bail!(
                InvalidArgument,
                "`start_index+length={} > end_index={}` is disallowed, as no part of the sequence would be \
                 left to be used as current step.",
                self.first,
                self.last
            );
        }
        self.seed = with_global_rng(|r| r.next_u64());
        Ok(self)
    }

    fn window_rows(&self, row: usize) -> impl Iterator<Item = usize> {
        (row - self.length..row).step_by(self.sampling_rate)
    }
}

impl Sequence for TimeseriesGenerator {
    fn len(&self) -> usize {
        let span = self.batch_size * self.stride;
        (self.last - self.first + span) / span
    }

    fn get_batch(&self, index: usize) -> Result<Batch> {
        if index >= self.len() {
            keras_bail!(Value, "TimeseriesGenerator: batch {index} is out of range (len {})", self.len());
        }
        let rows: Vec<usize> = if self.shuffle {
            let span = (self.last - self.first + 1) as u64;
            let mut r = Rng::new(self.seed ^ (self.epoch << 32) ^ index as u64);
            (0..self.batch_size).map(|_| self.first + r.below(span) as usize).collect()
        } else {
            let i = self.first + self.batch_size * self.stride * index;
            (i..(i + self.batch_size * self.stride).min(self.last + 1)).step_by(self.stride).collect()
        };
        let steps = self.window_rows(rows[0]).count();
        let mut picks = Vec::with_capacity(rows.len() * steps);
        for &row in &rows {
            let mut w: Vec<usize> = self.window_rows(row).collect();
            if self.reverse {
                w.reverse();
            }
            picks.extend(w);
        }
        let x = gather_first_axis(&self.data, &picks)?;
        let mut shape = vec![rows.len(), steps];
        shape.extend_from_slice(&self.data.shape()[1..]);
        let y = gather_first_axis(&self.targets, &rows)?;
        Ok(Batch::new(x.reshape(shape)?, y))
    }

    fn on_epoch_end(&mut self) {
        self.epoch += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_sequences_modes_and_errors() {
        let seqs: Vec<Vec<i32>> = vec![vec![], vec![1, 2, 3, 4, 5], vec![6]];
        let d = pad_sequences(&seqs, &PadSequencesArgs::default()).unwrap();
        assert_eq!(d.shape(), &[3, 5]);
        assert_eq!(d.as_i32().unwrap(), &[0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 0, 0, 0, 0, 6]);
        let a = PadSequencesArgs::default().maxlen(3).padding("post").truncating("pre").value(-1.0);
        assert_eq!(pad_sequences(&seqs, &a).unwrap().as_i32().unwrap(), &[-1, -1, -1, 3, 4, 5, 6, -1, -1]);
        let f = pad_sequences(&[vec![0.5f32, 1.5]], &PadSequencesArgs::default().dtype(DType::F32).maxlen(3))
            .unwrap();
        assert_eq!(f.as_f32().unwrap(), &[0.0, 0.5, 1.5]);
        let i = pad_sequences(&[vec![1.7f64, -2.5]], &PadSequencesArgs::default()).unwrap();
        assert_eq!(i.as_i32().unwrap(), &[1, -2]);
        let bad = PadSequencesArgs::default().padding("middle");
        assert!(
            matches!(pad_sequences(&seqs, &bad), Err(crate::Error::InvalidArgument(m)) if m.contains("middle"))
        );
        assert!(pad_sequences(&seqs, &PadSequencesArgs::default().truncating("x")).is_err());
        assert!(pad_sequences::<Vec<i32>, i32>(&[], &PadSequencesArgs::default()).is_err());
        assert_eq!(
            pad_sequences::<Vec<i32>, i32>(&[], &PadSequencesArgs::default().maxlen(2)).unwrap().shape(),
            &[0, 2]
        );
    }

    #[test]
    fn timeseries_generator_matches_keras_windows() {
        // Keras: TimeseriesGenerator(data, targets, length=4, sampling_rate=2, stride=3,
        // start_index=1, end_index=18, batch_size=2, reverse=True) over data = arange(20).
        let data = Tensor::new((0..20).map(|v| v as f32).collect(), [20, 1]).unwrap();
        let t = Tensor::from_i32((100..120).collect(), [20]).unwrap();
        let g = TimeseriesGenerator::new(&data, &t, 4)
            .sampling_rate(2)
            .stride(3)
            .start_index(1)
            .end_index(18)
            .batch_size(2)
            .reverse(true)
            .build()
            .unwrap();
        // targets at rows 5, 8, 11, 14, 17 -> 3 batches.
        assert_eq!(g.len(), 3);
        let b = g.get_batch(0).unwrap();
        assert_eq!(b.x.as_tensor().unwrap().shape(), &[2, 2, 1]);
        assert_eq!(b.x.as_tensor().unwrap().as_f32().unwrap(), &[3., 1., 6., 4.]);
        assert_eq!(b.y.unwrap().as_tensor().unwrap().as_i32().unwrap(), &[105, 108]);
        let last = g.get_batch(2).unwrap();
        assert_eq!(last.x.as_tensor().unwrap().as_f32().unwrap(), &[15., 13.]);
        assert!(g.get_batch(3).is_err());

        let s = TimeseriesGenerator::new(&data, &t, 4).shuffle(true).batch_size(5).build().unwrap();
        let b = s.get_batch(0).unwrap();
        for (w, y) in
            b.x.as_tensor()
                .unwrap()
                .as_f32()
                .unwrap()
                .chunks(4)
                .zip(b.y.unwrap().as_tensor().unwrap().as_i32().unwrap())
        {
            assert_eq!(w[3] as i32 + 101, *y);
        }
    }

    #[test]
    fn timeseries_generator_errors() {
        let data = Tensor::zeros([10, 2]);
        assert!(TimeseriesGenerator::new(&data, &Tensor::zeros([9]), 2).build().is_err());
        assert!(TimeseriesGenerator::new(&data, &Tensor::zeros([10]), 10).build().is_err());
        assert!(TimeseriesGenerator::new(&data, &Tensor::zeros([10]), 0).build().is_err());
        assert!(TimeseriesGenerator::new(&data, &Tensor::zeros([10]), 2).end_index(10).build().is_err());
        assert!(TimeseriesGenerator::new(&data, &Tensor::zeros([10]), 2).batch_size(0).build().is_err());
    }
}
