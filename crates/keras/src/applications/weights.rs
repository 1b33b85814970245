//! The ImageNet weight files Keras publishes for its applications, and how to fetch one.

use std::path::PathBuf;

use crate::utils::{get_file, GetFileArgs};
use crate::Result;

/// One published weight file: what `weights="imagenet"` makes Keras fetch, with the same
/// file name, origin URL and hash (`None` where Keras checks none: MobileNet, MobileNetV2),
/// cached under `$KERAS_HOME/models` (`cache_subdir="models"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightsFile {
    /// The name in the cache (`vgg16_weights_tf_dim_ordering_tf_kernels.h5`).
    pub fname: String,
    /// Where Keras downloads it from.
    pub origin: String,
    /// The md5 (32 hex digits) or sha256 (64) hash Keras checks, if any.
    pub file_hash: Option<String>,
}

/// Keras's `cache_subdir` for model weights.
pub const CACHE_SUBDIR: &str = "models";

impl WeightsFile {
    pub(crate) fn new(fname: impl Into<String>, origin: impl Into<String>, file_hash: Option<&str>) -> Self {
        WeightsFile { fname: fname.into(), origin: origin.into(), file_hash: file_hash.map(Into::into) }
    }

    /// A file under `base` (Keras's `BASE_WEIGHTS_PATH + fname`).
    pub(crate) fn under(base: &str, fname: impl Into<String>, file_hash: Option<&str>) -> Self {
        let fname = fname.into();
        let origin = format!("{base}{fname}");
        Self::new(fname, origin, file_hash)
    }

    /// The arguments of Keras's `get_file` call for this file.
    pub fn get_file_args(&self) -> GetFileArgs {
        let args = GetFileArgs::default().fname(&self.fname).cache_subdir(CACHE_SUBDIR);
        match &self.file_hash {
            Some(h) => args.file_hash(h),
            None => args,
        }
    }

    /// Fetches the file into the cache (or finds it there) and returns its path, as Keras's
    /// `get_file(fname, origin, cache_subdir="models", file_hash=...)`.
    pub fn get(&self) -> Result<PathBuf> {
        get_file(&self.origin, &self.get_file_args())
    }

    /// Where the file is (or would be) cached, without downloading it.
    pub fn cached_path(&self) -> Result<PathBuf> {
        Ok(crate::utils::get_file_paths(&self.origin, &self.get_file_args())?.download_target)
    }
}
