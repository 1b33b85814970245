//! `keras.utils.image_dataset_from_directory`: a batched image dataset from a folder of
//! class sub-folders, usable directly by `fit_sequence`.

use std::path::{Path, PathBuf};

use super::dataset_utils::{directory_args, DatasetSubset, DirectoryFiles, LabelMode, Labels};
use super::{Batch, Sequence};
use crate::preprocessing::image::images::Images;
use crate::preprocessing::image::io::{img_to_array, load_img, ColorMode, LoadImgArgs};
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
    files: DirectoryFiles,
    opts: ImageDatasetArgs,
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
    if opts.crop_to_aspect_ratio && opts.pad_to_aspect_ratio {
        keras_bail!(
            InvalidArgument,
            "Only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio` can be set to `True`."
        );
    }
    let files = DirectoryFiles::open(directory, FORMATS, directory_args!(opts))?;
    if files.paths.is_empty() {
        keras_bail!(
            Value,
            "No images found in directory {}. Allowed formats: {:?}",
            directory.display(),
            FORMATS.iter().map(|f| format!(".{f}")).collect::<Vec<_>>()
        );
    }
    Ok(ImageDataset { files, opts })
}

impl ImageDataset {
    /// Class names (sub-folder names) in label order.
    pub fn class_names(&self) -> &[String] {
        &self.files.class_names
    }

    /// The image files, in dataset order (after the indexing shuffle).
    pub fn file_paths(&self) -> &[PathBuf] {
        &self.files.paths
    }

    /// The label of each file, in dataset order.
    pub fn labels(&self) -> Option<&[i32]> {
        self.files.labels.as_deref()
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
        self.files.num_batches()
    }

    fn get_batch(&self, index: usize) -> Result<Batch> {
        let idx = self.files.batch(index)?;
        let (h, w) = self.opts.image_size;
        let c = self.opts.color_mode.channels();
        let mut data = Vec::with_capacity(idx.len() * h * w * c);
        for &j in idx {
            data.extend(self.load(&self.files.paths[j])?);
        }
        let x = Tensor::new(data, [idx.len(), h, w, c])?;
        let y = self.files.labels_of(idx)?;
        Ok(Batch { x: x.into(), y: y.map(Into::into), sample_weight: None })
    }

    fn on_epoch_end(&mut self) {
        self.files.next_epoch();
    }
}
