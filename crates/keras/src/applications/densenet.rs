//! `keras.applications.densenet`: DenseNet121, DenseNet169 and DenseNet201 (Huang et al., 2017).
//!
//! The model builders need the Functional API and come later; this module holds the ImageNet
//! weight files, `preprocess_input` and `decode_predictions`.

use super::imagenet_utils::{self, DecodedPrediction};
use super::weights::WeightsFile;
use crate::{keras_bail, Result, Tensor};

/// Keras's `BASE_WEIGHTS_PATH`.
pub const BASE_WEIGHTS_PATH: &str = "https://storage.googleapis.com/tensorflow/keras-applications/densenet/";

/// `(depth, blocks, hash with top, hash without top)`, as Keras's `DenseNet` picks the file
/// from its `blocks`.
const WEIGHTS: [(usize, [usize; 4], &str, &str); 3] = [
    (121, [6, 12, 24, 16], "9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738"),
    (169, [6, 12, 32, 32], "d699b8f76981ab1b30698df4c175e90b", "b8c4d4c20dd625c148057b9ff1c1176b"),
    (201, [6, 12, 48, 32], "1ceb130c1ea1b78c3bf6114dbdfd8807", "c13680b51ded0fb44dff2d8f86ac8bb1"),
];

/// The ImageNet weights of `DenseNet{depth}` (121, 169 or 201):
/// `densenet{depth}_weights_tf_dim_ordering_tf_kernels[_notop].h5`.
pub fn weights_file(depth: usize, include_top: bool) -> Result<WeightsFile> {
    let Some(&(_, _, top, notop)) = WEIGHTS.iter().find(|w| w.0 == depth) else {
        keras_bail!(
            InvalidArgument,
            "DenseNet ImageNet weights exist for depths 121, 169 and 201. Received: {depth}"
        );
    };
    Ok(if include_top {
        WeightsFile::under(
            BASE_WEIGHTS_PATH,
            format!("densenet{depth}_weights_tf_dim_ordering_tf_kernels.h5"),
            Some(top),
        )
    } else {
        WeightsFile::under(
            BASE_WEIGHTS_PATH,
            format!("densenet{depth}_weights_tf_dim_ordering_tf_kernels_notop.h5"),
            Some(notop),
        )
    })
}

/// The depth whose ImageNet weights fit a DenseNet with these `blocks` (Keras's `DenseNet`
/// loads ImageNet weights only for these three block lists).
pub fn depth_for_blocks(blocks: &[usize]) -> Option<usize> {
    WEIGHTS.iter().find(|w| w.1 == blocks).map(|w| w.0)
}

/// `keras.applications.densenet.preprocess_input`: [`imagenet_utils::preprocess_input`] in
/// `"torch"` mode (scaled to `[0, 1]`, normalized with ImageNet's channel means and deviations).
pub fn preprocess_input(x: &Tensor, data_format: Option<&str>) -> Result<Tensor> {
    imagenet_utils::preprocess_input(x, data_format, "torch")
}

/// `keras.applications.densenet.decode_predictions`: [`imagenet_utils::decode_predictions`].
pub fn decode_predictions(preds: &Tensor, top: usize) -> Result<Vec<Vec<DecodedPrediction>>> {
    imagenet_utils::decode_predictions(preds, top)
}
