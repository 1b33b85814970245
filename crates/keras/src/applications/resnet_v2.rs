//! `keras.applications.resnet_v2`: ResNet50V2, ResNet101V2 and ResNet152V2 (He et al., 2016).
//!
//! The builders [`ResNet50V2`], [`ResNet101V2`] and [`ResNet152V2`] (Keras's `ResNet` with
//! pre-activation blocks, `resnet::resnet`), the ImageNet weight files,
//! `preprocess_input` and `decode_predictions`.

use super::common::ApplicationArgs;
use super::imagenet_utils;
use super::resnet::{resnet, stack_residual_blocks_v2};
use super::weights::WeightsFile;
use crate::models::{Functional, KerasTensor};
use crate::Result;

/// The ImageNet weights of `ResNet{depth}V2` (`depth` 50, 101 or 152), from Keras's ResNet
/// table (`weights_name="resnet{depth}v2"`).
pub fn weights_file(depth: usize, include_top: bool) -> Result<WeightsFile> {
    super::resnet::weights_file(&format!("resnet{depth}v2"), include_top)
}

imagenet_utils::model_io_fns!("resnet_v2", "tf", "scaled to `[-1, 1]`");

/// A V2 ResNet whose four stacks have `blocks` blocks (64, 128, 256 and 512 filters; the last
/// stack is not strided).
fn resnet_v2(args: &ApplicationArgs, function: &str, blocks: [usize; 4], name: &str) -> Result<Functional> {
    let stack_fn = |x: KerasTensor| {
        let x = stack_residual_blocks_v2(&x, 64, blocks[0], 2, "conv2")?;
        let x = stack_residual_blocks_v2(&x, 128, blocks[1], 2, "conv3")?;
        let x = stack_residual_blocks_v2(&x, 256, blocks[2], 2, "conv4")?;
        stack_residual_blocks_v2(&x, 512, blocks[3], 1, "conv5")
    };
    resnet(args, function, stack_fn, true, true, name, name)
}

super::common::application_fns! {
    /// `keras.applications.ResNet50V2`: pre-activation ResNet with 3, 4, 6 and 3 bottleneck
    /// blocks. Input 224x224x3 with the top, at least 32x32 without.
    ///
    /// ```
    /// use keras::applications::{resnet_v2, ApplicationArgs, Weights};
    ///
    /// let args = ApplicationArgs::new().weights(Weights::None).include_top(false).input_shape(&[64, 64, 3]);
    /// let model = resnet_v2::ResNet50V2(&args).unwrap();
    /// assert_eq!(model.name(), "resnet50v2");
    /// assert_eq!(model.output_shapes()[0], vec![None, Some(2), Some(2), Some(2048)]);
    /// ```
    ResNet50V2 => resnet_v2("ResNet50V2", [3, 4, 6, 3], "resnet50v2");

    /// `keras.applications.ResNet101V2`: pre-activation ResNet with 3, 4, 23 and 3 bottleneck
    /// blocks.
    ///
    /// ```
    /// use keras::applications::{resnet_v2, ApplicationArgs, Weights};
    ///
    /// let args = ApplicationArgs::new().weights(Weights::None).include_top(false).input_shape(&[32, 32, 3]);
    /// let model = resnet_v2::ResNet101V2(&args).unwrap();
    /// assert!(model.get_layer("conv4_block23_out").is_ok());
    /// ```
    ResNet101V2 => resnet_v2("ResNet101V2", [3, 4, 23, 3], "resnet101v2");

    /// `keras.applications.ResNet152V2`: pre-activation ResNet with 3, 8, 36 and 3 bottleneck
    /// blocks.
    ///
    /// ```
    /// use keras::applications::{resnet_v2, ApplicationArgs, Weights};
    ///
    /// let args = ApplicationArgs::new().weights(Weights::None).include_top(false).input_shape(&[32, 32, 3]);
    /// let model = resnet_v2::ResNet152V2(&args).unwrap();
    /// assert!(model.get_layer("conv4_block36_out").is_ok());
    /// ```
    ResNet152V2 => resnet_v2("ResNet152V2", [3, 8, 36, 3], "resnet152v2");
}
