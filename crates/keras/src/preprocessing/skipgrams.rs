//! Word2vec-style sampling (tf-keras `keras.preprocessing.sequence`): `make_sampling_table`
//! and `skipgrams`, drawing from Python's `random` generator exactly as tf-keras does.

use crate::utils::python_random::PyRandom;
use crate::{keras_bail, Result};

/// tf-keras `make_sampling_table(size, sampling_factor=1e-5)`: the probability of keeping the
/// `i`-th most frequent word, from a Zipf approximation of word frequencies
/// (`min(1, sqrt(sampling_factor * inv_fq))`, as in word2vec).
///
/// ```
/// let t = keras::preprocessing::make_sampling_table(5, 1e-5);
/// assert_eq!(t.len(), 5);
/// assert!(t.iter().all(|&p| p > 0.0 && p <= 1.0));
/// ```
pub fn make_sampling_table(size: usize, sampling_factor: f64) -> Vec<f64> {
    let gamma = 0.577;
    (0..size)
        .map(|i| {
            let rank = if i == 0 { 1.0 } else { i as f64 };
            let inv_fq = rank * (rank.ln() + gamma) + 0.5 - 1.0 / (12.0 * rank);
            let f = sampling_factor * inv_fq;
            (f / f.sqrt()).min(1.0)
        })
        .collect()
}

/// Arguments of [`skipgrams`], with tf-keras's defaults (`window_size=4`,
/// `negative_samples=1.0`, `shuffle=True`, `categorical=False`, no sampling table, no seed).
#[derive(Clone, Debug, PartialEq)]
pub struct SkipgramsArgs {
    /// Words at most this far apart make a positive pair.
    pub window_size: usize,
    /// Negative pairs per positive pair (0 for none).
    pub negative_samples: f64,
    /// Shuffle the pairs (couples and labels with the same permutation).
    pub shuffle: bool,
    /// `sampling_table[i]`: the probability of keeping word `i` as a pair's first word.
    pub sampling_table: Option<Vec<f64>>,
    /// The seed of the final shuffle (`None`: drawn from the generator, as Python's
    /// `random.randint(0, 10e6)`).
    pub seed: Option<u64>,
}

impl Default for SkipgramsArgs {
    fn default() -> Self {
        SkipgramsArgs {
            window_size: 4,
            negative_samples: 1.0,
            shuffle: true,
            sampling_table: None,
            seed: None,
        }
    }
}

/// The pairs [`skipgrams`] makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipgrams {
    /// `[word, context]` pairs.
    pub couples: Vec<[usize; 2]>,
    /// 1 for a pair from the window, 0 for a negative sample.
    pub labels: Vec<u8>,
}

impl Skipgrams {
    /// The labels as tf-keras's `categorical=True` gives them: `[0, 1]` positive, `[1, 0]`
    /// negative.
    pub fn categorical_labels(&self) -> Vec<[u8; 2]> {
        self.labels.iter().map(|&l| if l == 1 { [0, 1] } else { [1, 0] }).collect()
    }
}

/// tf-keras `skipgrams(sequence, vocabulary_size, ...)`: positive `(word, context)` pairs
/// from the window around each non-zero word (0 is padding), negative pairs with random
/// context words in `[1, vocabulary_size)`, optionally shuffled. `rng` plays Python's global
/// `random` state: `PyRandom::new(s)` then this call gives what `random.seed(s)` then
/// `skipgrams(...)` gives in Python.
///
/// ```
/// use keras::preprocessing::{skipgrams, SkipgramsArgs};
/// use keras::utils::python_random::PyRandom;
/// let args = SkipgramsArgs { window_size: 1, shuffle: false, ..Default::default() };
/// let s = skipgrams(&[1, 2, 3], 4, &args, &mut PyRandom::new(0)).unwrap();
/// assert_eq!(&s.couples[..4], &[[1, 2], [2, 1], [2, 3], [3, 2]]);
/// assert_eq!(s.labels, vec![1, 1, 1, 1, 0, 0, 0, 0]);
/// ```
pub fn skipgrams(
    sequence: &[usize],
    vocabulary_size: usize,
    args: &SkipgramsArgs,
    rng: &mut PyRandom,
) -> Result<Skipgrams> {
    if args.negative_samples < 0.0 || !args.negative_samples.is_finite() {
        keras_bail!(
            InvalidArgument,
            "`negative_samples` must be a non-negative number. Received: {}",
            args.negative_samples
        );
    }
    let mut couples: Vec<[usize; 2]> = Vec::new();
    let mut labels: Vec<u8> = Vec::new();
    for (i, &wi) in sequence.iter().enumerate() {
        if wi == 0 {
            continue;
        }
        if let Some(table) = &args.sampling_table {
            let Some(&p) = table.get(wi) else {
                keras_bail!(
                    InvalidArgument,
                    "word index {wi} is outside the sampling table of size {}",
                    table.len()
                );
            };
            if p < rng.random() {
                continue;
            }
        }
        let start = i.saturating_sub(args.window_size);
        let end = (i + args.window_size + 1).min(sequence.len());
        for (j, &wj) in sequence.iter().enumerate().take(end).skip(start) {
            if j != i && wj != 0 {
                couples.push([wi, wj]);
                labels.push(1);
            }
        }
    }
    if args.negative_samples > 0.0 {
        let num_negative = (labels.len() as f64 * args.negative_samples) as usize;
        let mut words: Vec<usize> = couples.iter().map(|c| c[0]).collect();
        rng.shuffle(&mut words);
        if num_negative > 0 && vocabulary_size < 2 {
            keras_bail!(
                InvalidArgument,
                "`vocabulary_size` must be at least 2 to draw negative samples. Received: {vocabulary_size}"
            );
        }
        for i in 0..num_negative {
            let ctx = rng.randint(1, vocabulary_size as i64 - 1) as usize;
            couples.push([words[i % words.len()], ctx]);
        }
        labels.extend(std::iter::repeat_n(0, num_negative));
    }
    if args.shuffle {
        let seed = match args.seed {
            Some(s) => s,
            None => rng.randint(0, 10_000_000) as u64,
        };
        PyRandom::new(seed).shuffle(&mut couples);
        PyRandom::new(seed).shuffle(&mut labels);
    }
    Ok(Skipgrams { couples, labels })
}
