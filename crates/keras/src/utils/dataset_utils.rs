//! Indexing a folder of class sub-folders (Keras `keras/src/utils/dataset_utils.py`): the
//! file listing, label inference, the seeded shuffle and the training/validation split shared
//! by `image_dataset_from_directory` and `text_dataset_from_directory`.

use std::path::{Path, PathBuf};

use keras_engine::Rng;

use crate::preprocessing::image::iterators::mix;
use crate::{keras_bail, Error, Result, Tensor};

/// Where labels come from (Keras's `labels` argument).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Labels {
    /// From the sub-folder names, in sorted order (the default).
    Inferred,
    /// No labels.
    None,
    /// One integer label per file, in the sorted order of the files found.
    Given(Vec<i32>),
}

/// Encoding of the labels (Keras's `label_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelMode {
    /// int32 class indices `(batch,)` (the default).
    Int,
    /// One-hot float32 `(batch, classes)`.
    Categorical,
    /// float32 `(batch, 1)` for two classes.
    Binary,
    /// No labels.
    None,
}

/// Which part of a validation split to return (Keras's `subset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetSubset {
    /// The first `1 - validation_split` of the shuffled files.
    Training,
    /// The last `validation_split` of the shuffled files.
    Validation,
}

/// Files under `dir` (recursively, folders and files in sorted order) whose lower-cased
/// extension is one of `exts` (Keras's `iter_valid_files`).
pub fn walk_files(dir: &Path, exts: &[&str], follow_links: bool) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut dirs = Vec::new();
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .map_err(|e| Error::Io(format!("cannot read directory {}: {e}", d.display())))?;
        let mut files = Vec::new();
        for e in entries {
            let e = e.map_err(|e| Error::Io(format!("cannot read directory {}: {e}", d.display())))?;
            let p = e.path();
            let ft = e.file_type().map_err(|e| Error::Io(format!("{}: {e}", p.display())))?;
            let is_dir = ft.is_dir() || (follow_links && ft.is_symlink() && p.is_dir());
            if is_dir {
                stack.push(p);
            } else if p.is_file() {
                let ext = p.extension().map(|x| x.to_string_lossy().to_lowercase()).unwrap_or_default();
                if exts.contains(&ext.as_str()) {
                    files.push(p);
                }
            }
        }
        files.sort();
        dirs.push((d, files));
    }
    dirs.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, files) in dirs {
        out.extend(files);
    }
    Ok(out)
}

/// The indexed folder: file paths, labels (`None` when there are none) and class names.
pub(crate) struct Index {
    pub paths: Vec<PathBuf>,
    pub labels: Option<Vec<i32>>,
    pub class_names: Vec<String>,
}

/// Keras's `index_directory`: lists the files, infers or checks labels, and shuffles paths and
/// labels together with `seed` when `shuffle`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn index_directory(
    directory: &Path,
    labels: &Labels,
    exts: &[&str],
    class_names: Option<&[&str]>,
    shuffle: bool,
    seed: u64,
    follow_links: bool,
    verbose: bool,
) -> Result<Index> {
    if !directory.is_dir() {
        keras_bail!(Io, "Could not find directory {}", directory.display());
    }
    let subdirs: Vec<String> = if *labels == Labels::Inferred {
        let mut found = Vec::new();
        for e in
            std::fs::read_dir(directory).map_err(|e| Error::Io(format!("{}: {e}", directory.display())))?
        {
            let e = e.map_err(|e| Error::Io(format!("{}: {e}", directory.display())))?;
            if e.path().is_dir() {
                found.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        found.sort();
        match class_names {
            Some(names) => {
                if let Some(bad) = names.iter().find(|n| !found.iter().any(|f| f == *n)) {
                    keras_bail!(
                        Value,
                        "The `class_names` passed did not match the names of the subdirectories of the target \
                         directory. Expected: {found:?} (or a subset of it), but received: class_names={names:?} \
                         ('{bad}' is not a subdirectory)"
                    );
                }
                names.iter().map(|s| s.to_string()).collect()
            }
            None => found,
        }
    } else {
        if class_names.is_some() {
            keras_bail!(InvalidArgument, "You can only pass `class_names` if `labels=\"inferred\"`.");
        }
        vec![String::new()]
    };
    let mut paths = Vec::new();
    let mut inferred = Vec::new();
    for (i, sub) in subdirs.iter().enumerate() {
        let d = if sub.is_empty() { directory.to_path_buf() } else { directory.join(sub) };
        for f in walk_files(&d, exts, follow_links)? {
            paths.push(f);
            inferred.push(i as i32);
        }
    }
    let mut labels = match labels {
        Labels::Inferred => Some(inferred),
        Labels::None => None,
        Labels::Given(v) => {
            if v.len() != paths.len() {
                keras_bail!(
                    Value,
                    "Expected the lengths of `labels` to match the number of files in the target directory. \
                     len(labels) is {} while we found {} files in directory {}.",
                    v.len(),
                    paths.len(),
                    directory.display()
                );
            }
            Some(v.clone())
        }
    };
    let class_names = if labels.is_some() { subdirs } else { Vec::new() };
    if verbose {
        if labels.is_some() && !class_names.is_empty() && !class_names[0].is_empty() {
            println!("Found {} files belonging to {} classes.", paths.len(), class_names.len());
        } else {
            println!("Found {} files.", paths.len());
        }
    }
    if shuffle {
        let mut order: Vec<usize> = (0..paths.len()).collect();
        Rng::new(seed).shuffle(&mut order);
        paths = order.iter().map(|&i| paths[i].clone()).collect();
        if let Some(l) = labels.as_mut() {
            *l = order.iter().map(|&i| l[i]).collect();
        }
    }
    Ok(Index { paths, labels, class_names })
}

/// Keras's `check_validation_split_arg`.
pub(crate) fn check_validation_split(
    validation_split: Option<f64>,
    subset: Option<DatasetSubset>,
    shuffle: bool,
    seed: Option<u64>,
) -> Result<()> {
    if let Some(v) = validation_split {
        if !(v > 0.0 && v < 1.0) {
            keras_bail!(InvalidArgument, "`validation_split` must be between 0 and 1, received: {v}");
        }
    }
    if validation_split.is_some() != subset.is_some() {
        keras_bail!(InvalidArgument, "If `subset` is set, `validation_split` must be set, and inversely.");
    }
    if validation_split.is_some() && shuffle && seed.is_none() {
        keras_bail!(
            InvalidArgument,
            "If using `validation_split` and shuffling the data, you must provide a `seed` argument, to make sure \
             that there is no overlap between the training and validation subset."
        );
    }
    Ok(())
}

/// Keras's `get_training_or_validation_split`: the last `int(split * n)` items are validation.
pub(crate) fn split<T: Clone>(
    items: &[T],
    validation_split: Option<f64>,
    subset: Option<DatasetSubset>,
    verbose: bool,
) -> Vec<T> {
    let (Some(v), Some(subset)) = (validation_split, subset) else {
        return items.to_vec();
    };
    let num_val = (v * items.len() as f64) as usize;
    let cut = items.len() - num_val;
    match subset {
        DatasetSubset::Training => {
            if verbose {
                println!("Using {cut} files for training.");
            }
            items[..cut].to_vec()
        }
        DatasetSubset::Validation => {
            if verbose {
                println!("Using {num_val} files for validation.");
            }
            items[cut..].to_vec()
        }
    }
}

/// The arguments that `image_dataset_from_directory` and `text_dataset_from_directory` share,
/// borrowed from either's argument struct by [`directory_args!`].
pub(crate) struct DirectoryArgs<'a> {
    pub labels: &'a Labels,
    pub label_mode: LabelMode,
    pub class_names: Option<&'a [String]>,
    pub batch_size: usize,
    pub shuffle: bool,
    pub seed: Option<u64>,
    pub validation_split: Option<f64>,
    pub subset: Option<DatasetSubset>,
    pub follow_links: bool,
    pub verbose: bool,
}

/// The [`DirectoryArgs`] of an `ImageDatasetArgs` or `TextDatasetArgs` (their shared fields
/// have the same names).
macro_rules! directory_args {
    ($o:expr) => {
        $crate::utils::dataset_utils::DirectoryArgs {
            labels: &$o.labels,
            label_mode: $o.label_mode,
            class_names: $o.class_names.as_deref(),
            batch_size: $o.batch_size,
            shuffle: $o.shuffle,
            seed: $o.seed,
            validation_split: $o.validation_split,
            subset: $o.subset,
            follow_links: $o.follow_links,
            verbose: $o.verbose,
        }
    };
}
pub(crate) use directory_args;

/// The files of a directory dataset (after the split), their labels, and the batch order of
/// the current epoch: what the image and text datasets share.
pub(crate) struct DirectoryFiles {
    /// The files, in dataset order (after the indexing shuffle).
    pub paths: Vec<PathBuf>,
    /// The label of each file, when there are labels.
    pub labels: Option<Vec<i32>>,
    /// Class names (sub-folder names) in label order.
    pub class_names: Vec<String>,
    /// The label encoding (`None` when `labels` is `Labels::None`).
    pub label_mode: LabelMode,
    batch_size: usize,
    shuffle: bool,
    seed: u64,
    epoch: u64,
    order: Vec<usize>,
}

impl DirectoryFiles {
    /// Checks the shared arguments, indexes `directory` for files ending in one of `exts` and
    /// keeps the requested part of the validation split (possibly no file: the caller names
    /// what it looked for).
    pub fn open(directory: &Path, exts: &[&str], a: DirectoryArgs<'_>) -> Result<Self> {
        if a.batch_size == 0 {
            keras_bail!(InvalidArgument, "`batch_size` must be positive, received: 0");
        }
        check_validation_split(a.validation_split, a.subset, a.shuffle, a.seed)?;
        let label_mode = if *a.labels == Labels::None { LabelMode::None } else { a.label_mode };
        let seed = a.seed.unwrap_or_else(|| keras_engine::with_global_rng(|r| r.below(1_000_000)));
        let names: Option<Vec<&str>> = a.class_names.map(|v| v.iter().map(String::as_str).collect());
        let index = index_directory(
            directory,
            a.labels,
            exts,
            names.as_deref(),
            a.shuffle,
            seed,
            a.follow_links,
            a.verbose,
        )?;
        if label_mode == LabelMode::Binary && index.class_names.len() != 2 {
            keras_bail!(
                Value,
                "When passing `label_mode=\"binary\"`, there must be exactly 2 class_names. Received: class_names={:?}",
                index.class_names
            );
        }
        let paths = split(&index.paths, a.validation_split, a.subset, a.verbose);
        let labels = index.labels.map(|l| split(&l, a.validation_split, a.subset, false));
        let order = (0..paths.len()).collect();
        let (batch_size, shuffle) = (a.batch_size, a.shuffle);
        let class_names = index.class_names;
        Ok(DirectoryFiles {
            paths,
            labels,
            class_names,
            label_mode,
            batch_size,
            shuffle,
            seed,
            epoch: 0,
            order,
        })
    }

    /// Number of batches per epoch.
    pub fn num_batches(&self) -> usize {
        self.paths.len().div_ceil(self.batch_size)
    }

    /// The file indices of batch `index` of this epoch.
    pub fn batch(&self, index: usize) -> Result<&[usize]> {
        if index >= self.num_batches() {
            keras_bail!(
                Value,
                "Asked to retrieve batch {index}, but the dataset has {} batches",
                self.num_batches()
            );
        }
        let bs = self.batch_size;
        Ok(&self.order[index * bs..((index + 1) * bs).min(self.paths.len())])
    }

    /// Labels of the files at `idx` encoded per `label_mode`.
    pub fn labels_of(&self, idx: &[usize]) -> Result<Option<Tensor>> {
        let Some(labels) = self.labels.as_deref() else { return Ok(None) };
        let b = idx.len();
        Ok(match self.label_mode {
            LabelMode::None => None,
            LabelMode::Int => Some(Tensor::from_i32(idx.iter().map(|&j| labels[j]).collect(), [b])?),
            LabelMode::Binary => Some(Tensor::new(idx.iter().map(|&j| labels[j] as f32).collect(), [b, 1])?),
            LabelMode::Categorical => {
                let k = self
                    .class_names
                    .len()
                    .max(idx.iter().map(|&j| labels[j] as usize + 1).max().unwrap_or(0));
                let mut y = vec![0.0f32; b * k];
                for (i, &j) in idx.iter().enumerate() {
                    y[i * k + labels[j] as usize] = 1.0;
                }
                Some(Tensor::new(y, [b, k])?)
            }
        })
    }

    /// Advances to the next epoch: the files were shuffled once when indexed; later epochs
    /// reshuffle the batch order when `shuffle` (Keras's `dataset.shuffle` reshuffles each
    /// iteration).
    pub fn next_epoch(&mut self) {
        self.epoch += 1;
        self.order = (0..self.paths.len()).collect();
        if self.shuffle {
            Rng::new(mix(self.seed, self.epoch, u64::MAX)).shuffle(&mut self.order);
        }
    }
}
