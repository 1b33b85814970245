//! The batch sources of `ImageDataGenerator`: `NumpyArrayIterator` (`flow`) and
//! `DirectoryIterator` (`flow_from_directory`). Both implement [`Sequence`], so
//! `Sequential::fit_sequence` consumes them directly.
//!
//! Batches may be built on worker threads in any order, so every random choice is a function
//! of `(seed, epoch, batch index)`: the epoch's shuffle order and each batch's augmentations
//! are reproducible whatever the thread timing. Without a seed, one is drawn from the global
//! generator when the iterator is made (so `set_random_seed` makes runs repeatable).

use crate::setters::setters;
use std::path::{Path, PathBuf};

use keras_engine::Rng;

use super::image_data_generator::ImageDataGenerator;
use super::images::Images;
use super::io::{img_to_array, load_img, ColorMode, LoadImgArgs, PilInterpolation};
use crate::utils::dataset_utils::walk_files;
use crate::utils::{Batch, Sequence};
use crate::{keras_bail, Error, Result, Tensor};

/// Which part of a `validation_split` an iterator serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subset {
    /// The part after the validation fraction.
    Training,
    /// The first `validation_split` fraction.
    Validation,
}

/// Options shared by `flow` and `flow_from_directory` (Keras's defaults).
#[derive(Clone, Debug)]
pub struct FlowArgs {
    /// Images per batch (default 32).
    pub batch_size: usize,
    /// Reshuffle the order every epoch (default true).
    pub shuffle: bool,
    /// Seed of the shuffles and augmentations.
    pub seed: Option<u64>,
    /// Training or validation part of the generator's `validation_split`.
    pub subset: Option<Subset>,
    /// `flow`: allow a split whose parts have different class sets.
    pub ignore_class_split: bool,
    /// `flow`: per-sample weights, one per image.
    pub sample_weight: Option<Tensor>,
    /// `flow_from_directory`: crop to the target aspect ratio before resizing.
    pub keep_aspect_ratio: bool,
    /// `flow_from_directory`: follow symbolic links to folders.
    pub follow_links: bool,
    /// `flow_from_directory`: the `(height, width)` images are resized to (default 256x256).
    pub target_size: (usize, usize),
    /// `flow_from_directory`: the colour mode images are converted to (default RGB).
    pub color_mode: ColorMode,
    /// `flow_from_directory`: the class sub-folders, in label order (default: every
    /// sub-folder, sorted).
    pub classes: Option<Vec<String>>,
    /// `flow_from_directory`: what the batches hold as targets (default one-hot).
    pub class_mode: ClassMode,
    /// `flow_from_directory`: the resampling filter of the resize (default nearest).
    pub interpolation: PilInterpolation,
}

impl Default for FlowArgs {
    fn default() -> Self {
        FlowArgs {
            batch_size: 32,
            shuffle: true,
            seed: None,
            subset: None,
            ignore_class_split: false,
            sample_weight: None,
            keep_aspect_ratio: false,
            follow_links: false,
            target_size: (256, 256),
            color_mode: ColorMode::Rgb,
            classes: None,
            class_mode: ClassMode::Categorical,
            interpolation: PilInterpolation::Nearest,
        }
    }
}

impl FlowArgs {
    setters! {
        /// Sets `batch_size`.
        batch_size: usize,
        /// Sets `shuffle`.
        shuffle: bool,
        /// Sets `seed`.
        seed: u64 => Some,
        /// Sets `subset`.
        subset: Subset => Some,
        /// Sets `sample_weight`.
        sample_weight: Tensor => Some,
        /// Sets `keep_aspect_ratio`.
        keep_aspect_ratio: bool,
        /// Sets `follow_links`.
        follow_links: bool,
    }
    /// Sets `target_size` as `(height, width)`.
    pub fn target_size(mut self, height: usize, width: usize) -> Self {
        self.target_size = (height, width);
        self
    }
    crate::setters::setters! {
        /// Sets `color_mode`.
        color_mode: ColorMode,
    }
    /// Sets `classes`: the class sub-folders, in label order.
    pub fn classes(mut self, classes: &[&str]) -> Self {
        self.classes = Some(classes.iter().map(|s| s.to_string()).collect());
        self
    }
    setters! {
        /// Sets `class_mode`.
        class_mode: ClassMode,
        /// Sets `interpolation`.
        interpolation: PilInterpolation,
    }
}

/// What `flow_from_directory` yields as targets (Keras `class_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassMode {
    /// One-hot float32 `(batch, classes)` (the default).
    Categorical,
    /// Float32 class index `(batch,)` for two classes.
    Binary,
    /// Float32 class index `(batch,)`.
    Sparse,
    /// The images themselves (autoencoders).
    Input,
    /// No targets.
    None,
}

/// SplitMix-style mixing of the seed with the epoch and a stream index.
pub(crate) fn mix(seed: u64, epoch: u64, index: u64) -> u64 {
    let mut z = seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Batch order of an epoch, derived from `(seed, epoch)`.
#[derive(Clone, Debug)]
pub(crate) struct Order {
    pub n: usize,
    pub batch_size: usize,
    pub shuffle: bool,
    pub seed: u64,
    pub epoch: u64,
    pub order: Vec<usize>,
}

impl Order {
    pub fn new(n: usize, batch_size: usize, shuffle: bool, seed: Option<u64>) -> Result<Order> {
        if batch_size == 0 {
            keras_bail!(InvalidArgument, "batch_size must be positive, got 0");
        }
        let seed = seed.unwrap_or_else(|| keras_engine::with_global_rng(|r| r.next_u64()));
        let mut o = Order { n, batch_size, shuffle, seed, epoch: 0, order: (0..n).collect() };
        o.reorder();
        Ok(o)
    }

    fn reorder(&mut self) {
        self.order = (0..self.n).collect();
        if self.shuffle {
            Rng::new(mix(self.seed, self.epoch, u64::MAX)).shuffle(&mut self.order);
        }
    }

    pub fn next_epoch(&mut self) {
        self.epoch += 1;
        self.reorder();
    }

    pub fn len(&self) -> usize {
        self.n.div_ceil(self.batch_size)
    }

    pub fn batch(&self, i: usize) -> Result<&[usize]> {
        if i >= self.len() {
            keras_bail!(Value, "Asked to retrieve element {i}, but the Sequence has length {}", self.len());
        }
        Ok(&self.order[i * self.batch_size..((i + 1) * self.batch_size).min(self.n)])
    }

    pub fn rng(&self, i: usize) -> Rng {
        Rng::new(mix(self.seed, self.epoch, i as u64))
    }
}

/// Augments and standardizes one image with a batch's generator.
fn transform(
    gen: &ImageDataGenerator,
    img: &mut Vec<f32>,
    dims: (usize, usize, usize),
    rng: &mut Rng,
) -> Result<()> {
    let p = gen.get_random_transform(dims.0, dims.1, rng);
    gen.apply_transform_data(img, dims, &p);
    gen.standardize_data(img, dims)
}

/// `ImageDataGenerator.flow(x, y)`: augmented batches from arrays.
pub struct NumpyArrayIterator {
    gen: ImageDataGenerator,
    x: Images,
    y: Option<Tensor>,
    sample_weight: Option<Tensor>,
    order: Order,
}

impl NumpyArrayIterator {
    pub(crate) fn new(
        x: &Tensor,
        y: Option<&Tensor>,
        gen: ImageDataGenerator,
        opts: FlowArgs,
    ) -> Result<Self> {
        let img = Images::from_tensor(x, "ImageDataGenerator.flow")?;
        if !img.batched {
            keras_bail!(
                Shape,
                "Input data in `NumpyArrayIterator` should have rank 4. You passed an array with shape {:?}",
                x.shape()
            );
        }
        if let Some(y) = y {
            if y.shape().first() != Some(&img.n) {
                keras_bail!(
                    Shape,
                    "`x` (images tensor) and `y` (labels) should have the same length. Found: x.shape = {:?}, y.shape = {:?}",
                    x.shape(),
                    y.shape()
                );
            }
        }
        if let Some(w) = &opts.sample_weight {
            if w.shape().first() != Some(&img.n) {
                keras_bail!(
                    Shape,
                    "`x` (images tensor) and `sample_weight` should have the same length. Found: x.shape = {:?}, sample_weight.shape = {:?}",
                    x.shape(),
                    w.shape()
                );
            }
        }
        let (mut x_t, mut y_t, mut w_t) = (x.clone(), y.cloned(), opts.sample_weight.clone());
        if let Some(subset) = opts.subset {
            let split = (img.n as f64 * gen.validation_split) as usize;
            if gen.validation_split == 0.0 {
                keras_bail!(InvalidArgument, "`subset` needs the generator's `validation_split` to be set");
            }
            if let (Some(y), false) = (y, opts.ignore_class_split) {
                let classes = |a: usize, b: usize| -> Result<Vec<i64>> {
                    let mut v = y.slice_rows(a, b)?.to_i64_vec();
                    v.sort_unstable();
                    v.dedup();
                    Ok(v)
                };
                if classes(0, split)? != classes(split, img.n)? {
                    keras_bail!(
                        Value,
                        "Training and validation subsets have different number of classes after the split. \
                         If your numpy arrays are sorted by the label, you might want to shuffle them."
                    );
                }
            }
            let (a, b) = match subset {
                Subset::Validation => (0, split),
                Subset::Training => (split, img.n),
            };
            x_t = x.slice_rows(a, b)?;
            y_t = y.map(|y| y.slice_rows(a, b)).transpose()?;
            w_t = w_t.map(|w| w.slice_rows(a, b)).transpose()?;
        }
        let x = Images::from_tensor(&x_t, "ImageDataGenerator.flow")?;
        let order = Order::new(x.n, opts.batch_size, opts.shuffle, opts.seed)?;
        Ok(NumpyArrayIterator { gen, x, y: y_t, sample_weight: w_t, order })
    }

    /// Number of images.
    pub fn n(&self) -> usize {
        self.x.n
    }
}

impl Sequence for NumpyArrayIterator {
    fn len(&self) -> usize {
        self.order.len()
    }

    fn get_batch(&self, index: usize) -> Result<Batch> {
        let idx = self.order.batch(index)?;
        let mut rng = self.order.rng(index);
        let dims = (self.x.h, self.x.w, self.x.c);
        let mut data = Vec::with_capacity(idx.len() * self.x.h * self.x.w * self.x.c);
        for &j in idx {
            let mut one = self.x.image(j).to_vec();
            transform(&self.gen, &mut one, dims, &mut rng)?;
            data.extend(one);
        }
        let x = Tensor::new(data, [idx.len(), dims.0, dims.1, dims.2])?;
        Ok(Batch {
            x: x.into(),
            y: self.y.as_ref().map(|y| y.gather_rows(idx)).transpose()?.map(Into::into),
            sample_weight: self
                .sample_weight
                .as_ref()
                .map(|w| w.gather_rows(idx))
                .transpose()?
                .map(Into::into),
        })
    }

    fn on_epoch_end(&mut self) {
        self.order.next_epoch();
    }
}

/// Keras's `white_list_formats` that this build can decode.
const FORMATS: &[&str] = &["png", "jpg", "jpeg"];

/// `ImageDataGenerator.flow_from_directory(...)`: augmented batches of image files, one
/// sub-folder per class.
pub struct DirectoryIterator {
    gen: ImageDataGenerator,
    filepaths: Vec<PathBuf>,
    classes: Vec<usize>,
    class_indices: Vec<String>,
    class_mode: ClassMode,
    load: LoadImgArgs,
    order: Order,
}

impl DirectoryIterator {
    pub(crate) fn new(directory: &Path, gen: ImageDataGenerator, opts: FlowArgs) -> Result<Self> {
        let (target_size, color_mode, class_mode, interpolation) =
            (opts.target_size, opts.color_mode, opts.class_mode, opts.interpolation);
        let classes = opts.classes.clone();
        if target_size.0 == 0 || target_size.1 == 0 {
            keras_bail!(InvalidArgument, "target_size must be positive, got {target_size:?}");
        }
        if !directory.is_dir() {
            keras_bail!(Io, "flow_from_directory: {} is not a readable directory", directory.display());
        }
        let names: Vec<String> = match classes {
            Some(c) => c,
            None => {
                let mut v = Vec::new();
                for e in std::fs::read_dir(directory)
                    .map_err(|e| Error::Io(format!("{}: {e}", directory.display())))?
                {
                    let e = e.map_err(|e| Error::Io(format!("{}: {e}", directory.display())))?;
                    if e.path().is_dir() {
                        v.push(e.file_name().to_string_lossy().into_owned());
                    }
                }
                v.sort();
                v
            }
        };
        let split = match opts.subset {
            None => None,
            Some(_) if gen.validation_split == 0.0 => {
                keras_bail!(InvalidArgument, "`subset` needs the generator's `validation_split` to be set")
            }
            Some(Subset::Validation) => Some((0.0, gen.validation_split)),
            Some(Subset::Training) => Some((gen.validation_split, 1.0)),
        };
        let (mut filepaths, mut labels) = (Vec::new(), Vec::new());
        for (i, name) in names.iter().enumerate() {
            let files = walk_files(&directory.join(name), FORMATS, opts.follow_links)?;
            let (a, b) = match split {
                Some((lo, hi)) => ((lo * files.len() as f64) as usize, (hi * files.len() as f64) as usize),
                None => (0, files.len()),
            };
            for f in &files[a..b] {
                filepaths.push(f.clone());
                labels.push(i);
            }
        }
        println!("Found {} images belonging to {} classes.", filepaths.len(), names.len());
        if class_mode == ClassMode::Binary && names.len() != 2 {
            keras_bail!(
                Value,
                "class_mode=\"binary\" needs exactly 2 classes, found {} in {}",
                names.len(),
                directory.display()
            );
        }
        let order = Order::new(filepaths.len(), opts.batch_size, opts.shuffle, opts.seed)?;
        let load = LoadImgArgs {
            color_mode,
            target_size: Some(target_size),
            interpolation,
            keep_aspect_ratio: opts.keep_aspect_ratio,
        };
        Ok(DirectoryIterator {
            gen,
            filepaths,
            classes: labels,
            class_indices: names,
            class_mode,
            load,
            order,
        })
    }

    /// The image files, in index order.
    pub fn filepaths(&self) -> &[PathBuf] {
        &self.filepaths
    }

    /// The class index of each file.
    pub fn classes(&self) -> &[usize] {
        &self.classes
    }

    /// Class names; a class's index is its position (Keras `class_indices`).
    pub fn class_names(&self) -> &[String] {
        &self.class_indices
    }

    /// Number of images.
    pub fn samples(&self) -> usize {
        self.filepaths.len()
    }
}

impl Sequence for DirectoryIterator {
    fn len(&self) -> usize {
        self.order.len()
    }

    fn get_batch(&self, index: usize) -> Result<Batch> {
        let idx = self.order.batch(index)?;
        let mut rng = self.order.rng(index);
        let (h, w) = self.load.target_size.expect("set");
        let c = self.load.color_mode.channels();
        let mut data = Vec::with_capacity(idx.len() * h * w * c);
        for &j in idx {
            let path = &self.filepaths[j];
            let img = load_img(path, self.load)?;
            let arr = img_to_array(&img)?;
            if arr.shape() != [h, w, c] {
                keras_bail!(
                    Shape,
                    "{}: decoded to shape {:?}, expected {:?}",
                    path.display(),
                    arr.shape(),
                    [h, w, c]
                );
            }
            let mut one = arr.to_f32_vec();
            transform(&self.gen, &mut one, (h, w, c), &mut rng)?;
            data.extend(one);
        }
        let b = idx.len();
        let x = Tensor::new(data, [b, h, w, c])?;
        let k = self.class_indices.len();
        let y = match self.class_mode {
            ClassMode::None => None,
            ClassMode::Input => Some(x.clone()),
            ClassMode::Binary | ClassMode::Sparse => {
                Some(Tensor::new(idx.iter().map(|&j| self.classes[j] as f32).collect(), [b])?)
            }
            ClassMode::Categorical => {
                let mut y = vec![0.0f32; b * k];
                for (i, &j) in idx.iter().enumerate() {
                    y[i * k + self.classes[j]] = 1.0;
                }
                Some(Tensor::new(y, [b, k])?)
            }
        };
        Ok(Batch { x: x.into(), y: y.map(Into::into), sample_weight: None })
    }

    fn on_epoch_end(&mut self) {
        self.order.next_epoch();
    }
}
