//! `keras.utils.text_dataset_from_directory`: batches of texts (one `.txt` file each) and
//! labels from a folder of class sub-folders.

use std::path::{Path, PathBuf};

use super::dataset_utils::{directory_args, DatasetSubset, DirectoryFiles, LabelMode, Labels};
use crate::{keras_bail, Error, Result, Tensor};

/// Arguments of [`text_dataset_from_directory`] (Keras's names and defaults).
#[derive(Clone, Debug)]
pub struct TextDatasetArgs {
    /// Label source (default inferred from sub-folders).
    pub labels: Labels,
    /// Label encoding (default int).
    pub label_mode: LabelMode,
    /// Explicit class sub-folders and their order.
    pub class_names: Option<Vec<String>>,
    /// Texts per batch (default 32).
    pub batch_size: usize,
    /// Keep at most this many bytes of each text (cut back to a character boundary).
    pub max_length: Option<usize>,
    /// Shuffle the files (and reshuffle every epoch) (default true).
    pub shuffle: bool,
    /// Seed of the shuffles (needed with a validation split).
    pub seed: Option<u64>,
    /// Fraction held out for validation.
    pub validation_split: Option<f64>,
    /// Which part of the split to return.
    pub subset: Option<DatasetSubset>,
    /// Follow symbolic links to folders.
    pub follow_links: bool,
    /// Print what was found (default true).
    pub verbose: bool,
}

impl Default for TextDatasetArgs {
    fn default() -> Self {
        TextDatasetArgs {
            labels: Labels::Inferred,
            label_mode: LabelMode::Int,
            class_names: None,
            batch_size: 32,
            max_length: None,
            shuffle: true,
            seed: None,
            validation_split: None,
            subset: None,
            follow_links: false,
            verbose: true,
        }
    }
}

/// One batch of a [`TextDataset`].
#[derive(Clone, Debug)]
pub struct TextBatch {
    /// The texts.
    pub texts: Vec<String>,
    /// The labels (per `label_mode`), if any.
    pub labels: Option<Tensor>,
}

/// Batches of texts read from disk when asked for.
pub struct TextDataset {
    files: DirectoryFiles,
    opts: TextDatasetArgs,
}

/// Keras `keras.utils.text_dataset_from_directory`.
///
/// ```no_run
/// use keras::utils::{text_dataset_from_directory, TextDatasetArgs};
/// let ds = text_dataset_from_directory("reviews/", TextDatasetArgs { seed: Some(1), ..Default::default() })?;
/// let first = ds.get_batch(0)?;
/// println!("{} texts, classes {:?}", first.texts.len(), ds.class_names());
/// # Ok::<(), keras::Error>(())
/// ```
pub fn text_dataset_from_directory(
    directory: impl AsRef<Path>,
    opts: TextDatasetArgs,
) -> Result<TextDataset> {
    let directory = directory.as_ref();
    let files = DirectoryFiles::open(directory, &["txt"], directory_args!(opts))?;
    if files.paths.is_empty() {
        keras_bail!(Value, "No text files found in directory {}. Allowed format: .txt", directory.display());
    }
    Ok(TextDataset { files, opts })
}

impl TextDataset {
    /// Number of batches per epoch.
    pub fn len(&self) -> usize {
        self.files.num_batches()
    }

    /// Whether there are no batches.
    pub fn is_empty(&self) -> bool {
        self.files.paths.is_empty()
    }

    /// Class names (sub-folder names) in label order.
    pub fn class_names(&self) -> &[String] {
        &self.files.class_names
    }

    /// The text files, in dataset order.
    pub fn file_paths(&self) -> &[PathBuf] {
        &self.files.paths
    }

    /// Reads one text; invalid UTF-8 is an error naming the file.
    fn read(&self, path: &Path) -> Result<String> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Io(format!("cannot read text file {}: {e}", path.display())))?;
        let mut text = String::from_utf8(bytes)
            .map_err(|e| Error::Value(format!("text file {} is not valid UTF-8: {e}", path.display())))?;
        if let Some(max) = self.opts.max_length {
            if text.len() > max {
                let mut cut = max;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
            }
        }
        Ok(text)
    }

    /// The texts and labels of the files at `idx`.
    fn read_batch(&self, idx: &[usize]) -> Result<TextBatch> {
        let texts = idx.iter().map(|&j| self.read(&self.files.paths[j])).collect::<Result<Vec<_>>>()?;
        Ok(TextBatch { texts, labels: self.files.labels_of(idx)? })
    }

    /// The batch at `index`: texts and labels.
    pub fn get_batch(&self, index: usize) -> Result<TextBatch> {
        self.read_batch(self.files.batch(index)?)
    }

    /// Every text and label, in dataset order (for `adapt`-style uses).
    pub fn all(&self) -> Result<TextBatch> {
        self.read_batch(&(0..self.files.paths.len()).collect::<Vec<_>>())
    }

    /// Advances to the next epoch (reshuffles when `shuffle`).
    pub fn on_epoch_end(&mut self) {
        self.files.next_epoch();
    }
}
