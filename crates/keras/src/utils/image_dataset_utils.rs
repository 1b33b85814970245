//! `keras.utils.image_dataset_from_directory`: a batched image dataset from a folder of
//! class sub-folders, usable directly by `fit_sequence`.

use std::path::{Path, PathBuf};

use keras_engine::Rng;

use super::dataset_utils::{
    check_validation_split, index_directory, split, DatasetSubset, LabelMode, Labels,
};
use super::{Batch, Sequence};
use crate::preprocessing::image::images::Images;
use crate::preprocessing::image::io::{img_to_array, load_img, ColorMode, LoadImgArgs};
use crate::preprocessing::image::iterators::mix;
use crate::preprocessing::image::resize::{resize_images, smart_resize_images, Interpolation, ResizeArgs};
use crate::{keras_bail, Result, Tensor};

/// Keras's `ALLOWLIST_FORMATS` (keras-rs decodes PNG and JPEG; a BMP or GIF file found is
/// reported with its path when its batch is read).
const FORMATS: &[&str] = &["bmp", "gif", "jpeg", "jpg", "png"];

/// Arguments of [`image_dataset_from_directory`] (Keras's names and defaults).
#[derive(Clone, Debug)]
pub struct ImageDatasetArgs {
    /// Label source (default inferred from sub-folders).
    pub labels: Labels,
    /// Label encoding (default int).
    pub label_mode: LabelMode,
    /// Explicit class sub-folders and their order.
    pub class_names: Option<Vec<String>>,
    /// Colour mode (default RGB).
    pub color_mode: ColorMode,
    /// Images per batch (default 32).
    pub batch_size: usize,
    /// `(height, width)` of the images (default 256 x 256).
    pub image_size: (usize, usize),
    /// Shuffle the files (and reshuffle every epoch) (default true).
    pub shuffle: bool,
    /// Seed of the shuffles (needed with a validation split).
    pub seed: Option<u64>,
    /// Fraction held out for validation.
    pub validation_split: Option<f64>,
    /// Which part of the split to return.
    pub subset: Option<DatasetSubset>,
    /// Resize interpolation (default bilinear).
    pub interpolation: Interpolation,
    /// Follow symbolic links to folders.
    pub follow_links: bool,
    /// Centre-crop to the target aspect ratio before resizing.
    pub crop_to_aspect_ratio: bool,
    /// Pad to the target aspect ratio before resizing.
    pub pad_to_aspect_ratio: bool,
    /// Print what was found (default true).
    pub verbose: bool,
}

impl Default for ImageDatasetArgs {
    fn default() -> Self {
        ImageDatasetArgs {
            labels: Labels::Inferred,
            label_mode: LabelMode::Int,
            class_names: None,
            color_mode: ColorMode::Rgb,
            batch_size: 32,
            image_size: (256, 256),
            shuffle: true,
            seed: None,
            validation_split: None,
            subset: None,
            interpolation: Interpolation::Bilinear,
            follow_links: false,
            crop_to_aspect_ratio: false,
            pad_to_aspect_ratio: false,
            verbose: true,
        }
    }
}

/// The dataset: batches of `(batch, height, width, channels)` float32 images (0..255) and
/// labels, read from disk when a batch is asked for.
pub struct ImageDataset {
    paths: Vec<PathBuf>,
    labels: Option<Vec<i32>>,
    class_names: Vec<String>,
    opts: ImageDatasetArgs,
    seed: u64,
    epoch: u64,
    order: Vec<usize>,
}

/// Keras `keras.utils.image_dataset_from_directory`.
///
/// ```no_run
/// use keras::utils::{image_dataset_from_directory, DatasetSubset, ImageDatasetArgs};
/// let opts = ImageDatasetArgs {
///     image_size: (28, 28), validation_split: Some(0.2), subset: Some(DatasetSubset::Training),
///     seed: Some(1), ..Default::default()
/// };
/// let train = image_dataset_from_directory("photos/", opts)?;
/// println!("classes: {:?}", train.class_names());
/// # Ok::<(), keras::Error>(())
/// ```
pub fn image_dataset_from_directory(
    directory: impl AsRef<Path>,
    opts: ImageDatasetArgs,
) -> Result<ImageDataset> {
    let directory = directory.as_ref();
    if opts.image_size.0 == 0 || opts.image_size.1 == 0 {
        keras_bail!(InvalidArgument, "`image_size` must be positive, received: {:?}", opts.image_size);
    }
    if opts.batch_size == 0 {
        keras_bail!(InvalidArgument, "`batch_size` must be positive, received: 0");
    }
    if opts.crop_to_aspect_ratio && opts.pad_to_aspect_ratio {
        keras_bail!(
            InvalidArgument,
            "Only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio` can be set to `True`."
        );
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
        FORMATS,
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
        keras_bail!(
            Value,
            "No images found in directory {}. Allowed formats: {:?}",
            directory.display(),
            FORMATS.iter().map(|f| format!(".{f}")).collect::<Vec<_>>()
        );
    }
    let n = paths.len();
    let mut ds = ImageDataset {
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

impl ImageDataset {
    fn reorder(&mut self) {
        self.order = (0..self.paths.len()).collect();
        // The files were shuffled once when indexed; later epochs reshuffle (Keras's
        // `dataset.shuffle` reshuffles each iteration).
        if self.opts.shuffle && self.epoch > 0 {
            Rng::new(mix(self.seed, self.epoch, u64::MAX)).shuffle(&mut self.order);
        }
    }

    /// Class names (sub-folder names) in label order.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// The image files, in dataset order (after the indexing shuffle).
    pub fn file_paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// The label of each file, in dataset order.
    pub fn labels(&self) -> Option<&[i32]> {
        self.labels.as_deref()
    }

    fn load(&self, path: &Path) -> Result<Vec<f32>> {
        let img = load_img(path, LoadImgArgs { color_mode: self.opts.color_mode, ..Default::default() })?;
        let img = Images::from_tensor(&img_to_array(&img)?, &path.display().to_string())?;
        let size = self.opts.image_size;
        let out = if self.opts.crop_to_aspect_ratio {
            smart_resize_images(&img, size, self.opts.interpolation)?
        } else {
            let o = ResizeArgs {
                interpolation: self.opts.interpolation,
                pad_to_aspect_ratio: self.opts.pad_to_aspect_ratio,
                ..Default::default()
            };
            resize_images(&img, size, o)?
        };
        Ok(out.data)
    }
}

impl Sequence for ImageDataset {
    fn len(&self) -> usize {
        self.paths.len().div_ceil(self.opts.batch_size)
    }

    fn get_batch(&self, index: usize) -> Result<Batch> {
        if index >= self.len() {
            keras_bail!(Value, "Asked to retrieve batch {index}, but the dataset has {} batches", self.len());
        }
        let bs = self.opts.batch_size;
        let idx = &self.order[index * bs..((index + 1) * bs).min(self.paths.len())];
        let (h, w) = self.opts.image_size;
        let c = self.opts.color_mode.channels();
        let mut data = Vec::with_capacity(idx.len() * h * w * c);
        for &j in idx {
            data.extend(self.load(&self.paths[j])?);
        }
        let b = idx.len();
        let x = Tensor::new(data, [b, h, w, c])?;
        let y = label_batch(self.labels.as_deref(), idx, self.opts.label_mode, self.class_names.len())?;
        Ok(Batch { x: x.into(), y: y.map(Into::into), sample_weight: None })
    }

    fn on_epoch_end(&mut self) {
        self.epoch += 1;
        self.reorder();
    }
}

/// Labels of the files at `idx` encoded per `mode`.
pub(crate) fn label_batch(
    labels: Option<&[i32]>,
    idx: &[usize],
    mode: LabelMode,
    classes: usize,
) -> Result<Option<Tensor>> {
    let Some(labels) = labels else { return Ok(None) };
    let b = idx.len();
    Ok(match mode {
        LabelMode::None => None,
        LabelMode::Int => Some(Tensor::from_i32(idx.iter().map(|&j| labels[j]).collect(), [b])?),
        LabelMode::Binary => Some(Tensor::new(idx.iter().map(|&j| labels[j] as f32).collect(), [b, 1])?),
        LabelMode::Categorical => {
            let k = classes.max(idx.iter().map(|&j| labels[j] as usize + 1).max().unwrap_or(0));
            let mut y = vec![0.0f32; b * k];
            for (i, &j) in idx.iter().enumerate() {
                y[i * k + labels[j] as usize] = 1.0;
            }
            Some(Tensor::new(y, [b, k])?)
        }
    })
}
