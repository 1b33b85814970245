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

    /// The file of a model with one top and one no-top file at fixed URLs (Keras's
    /// `WEIGHTS_PATH` and `WEIGHTS_PATH_NO_TOP`): `{stem}.h5` or `{stem}_notop.h5`, with
    /// its hash.
    pub(crate) fn top_or_notop(include_top: bool, stem: &str, urls: [&str; 2], hashes: [&str; 2]) -> Self {
        let i = usize::from(!include_top);
        let suffix = if include_top { "" } else { "_notop" };
        Self::new(format!("{stem}{suffix}.h5"), urls[i], Some(hashes[i]))
    }

    /// A file under `base` (Keras's `BASE_WEIGHTS_PATH + fname`).
    pub(crate) fn under(base: &str, fname: impl Into<String>, file_hash: Option<&str>) -> Self {
        let fname = fname.into();
        let origin = format!("{base}{fname}");
        Self::new(fname, origin, file_hash)
    }

    /// The file of a model named `name` under `base` (Keras's `BASE_WEIGHTS_PATH + name +
    /// file_suffix`): `{name}.h5` with the top's hash, or `{name}_notop.h5` with the other.
    pub(crate) fn named_under(base: &str, name: &str, include_top: bool, hashes: [&str; 2]) -> Self {
        if include_top {
            Self::under(base, format!("{name}.h5"), Some(hashes[0]))
        } else {
            Self::under(base, format!("{name}_notop.h5"), Some(hashes[1]))
        }
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

#[cfg(test)]
mod tests {
    use super::WeightsFile;

    /// `top_or_notop` gives the files Keras names for VGG16 (top and no-top).
    #[test]
    fn top_or_notop_names_keras_files() {
        let (top, notop) =
            (crate::applications::vgg16::weights_file(true), crate::applications::vgg16::weights_file(false));
        let want_top = WeightsFile::new(
            "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
            crate::applications::vgg16::WEIGHTS_PATH,
            Some("64373286793e3c8b2b4e3219cbf3544b"),
        );
        let want_notop = WeightsFile::new(
            "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
            crate::applications::vgg16::WEIGHTS_PATH_NO_TOP,
            Some("6d6bbae143d832006294945121d1f1fc"),
        );
        assert_eq!(top, want_top);
        assert_eq!(notop, want_notop);
    }
}
