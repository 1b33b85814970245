//! `keras.utils.text_dataset_from_directory`: batches of texts (one `.txt` file each) and
//! labels from a folder of class sub-folders.

use std::path::{Path, PathBuf};

use keras_engine::Rng;

use super::dataset_utils::{
    check_validation_split, index_directory, split, DatasetSubset, LabelMode, Labels,
};
use super::image_dataset_utils::label_batch;
use crate::preprocessing::image::iterators::mix;
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
    paths: Vec<PathBuf>,
    labels: Option<Vec<i32>>,
    class_names: Vec<String>,
    opts: TextDatasetArgs,
    seed: u64,
    epoch: u64,
    order: Vec<usize>,
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
    if opts.batch_size == 0 {
        keras_bail!(InvalidArgument, "`batch_size` must be positive, received: 0");
    }
    check_validation_split(opts.validation_split, opts.subset, opts.shuffle, opts.seed)?;
    let mut opts = opts;
    if opts.labels == Labels::None {
        opts.label_mode = LabelMode::None;
    }
    let seed = opts.seed.unwrap_or_else(|| keras_engine::with_global_rng(|r| r.below(1_000_000)));
    let names: Option<Vec<&str>> = opts.class_names.as_ref().map(|v| v.iter().map(String::as_str).collect());
    let index = index_directory(
        directory,
        &opts.labels,
        &["txt"],
        names.as_deref(),
        opts.shuffle,
        seed,
        opts.follow_links,
        opts.verbose,
    )?;
    if opts.label_mode == LabelMode::Binary && index.class_names.len() != 2 {
        keras_bail!(
            Value,
            "When passing `label_mode=\"binary\"`, there must be exactly 2 class_names. Received: class_names={:?}",
            index.class_names
        );
    }
    let paths = split(&index.paths, opts.validation_split, opts.subset, opts.verbose);
    let labels = index.labels.map(|l| split(&l, opts.validation_split, opts.subset, false));
    if paths.is_empty() {
        keras_bail!(Value, "No text files found in directory {}. Allowed format: .txt", directory.display());
    }
    let n = paths.len();
    let mut ds = TextDataset {
        paths,
        labels,
        class_names: index.class_names,
        opts,
        seed,
        epoch: 0,
        order: (0..n).collect(),
    };
    ds.reorder();
    Ok(ds)
}

impl TextDataset {
    fn reorder(&mut self) {
        self.order = (0..self.paths.len()).collect();
        if self.opts.shuffle && self.epoch > 0 {
            Rng::new(mix(self.seed, self.epoch, u64::MAX)).shuffle(&mut self.order);
        }
    }

    /// Number of batches per epoch.
    pub fn len(&self) -> usize {
        self.paths.len().div_ceil(self.opts.batch_size)
    }

    /// Whether there are no batches.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Class names (sub-folder names) in label order.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// The text files, in dataset order.
    pub fn file_paths(&self) -> &[PathBuf] {
        &self.paths
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

    /// The batch at `index`: texts and labels.
    pub fn get_batch(&self, index: usize) -> Result<TextBatch> {
        if index >= self.len() {
            keras_bail!(Value, "Asked to retrieve batch {index}, but the dataset has {} batches", self.len());
        }
        let bs = self.opts.batch_size;
        let idx = &self.order[index * bs..((index + 1) * bs).min(self.paths.len())];
        let texts = idx.iter().map(|&j| self.read(&self.paths[j])).collect::<Result<Vec<_>>>()?;
        let labels = label_batch(self.labels.as_deref(), idx, self.opts.label_mode, self.class_names.len())?;
        Ok(TextBatch { texts, labels })
    }

    /// Every text and label, in dataset order (for `adapt`-style uses).
    pub fn all(&self) -> Result<TextBatch> {
        let idx: Vec<usize> = (0..self.paths.len()).collect();
        let texts = idx.iter().map(|&j| self.read(&self.paths[j])).collect::<Result<Vec<_>>>()?;
        let labels = label_batch(self.labels.as_deref(), &idx, self.opts.label_mode, self.class_names.len())?;
        Ok(TextBatch { texts, labels })
    }

    /// Advances to the next epoch (reshuffles when `shuffle`).
    pub fn on_epoch_end(&mut self) {
        self.epoch += 1;
        self.reorder();
    }
}
