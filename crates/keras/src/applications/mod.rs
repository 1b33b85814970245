//! `keras.applications`: the ImageNet models of Keras, for prediction and transfer learning.
//!
//! One module per family, as in Keras (`keras.applications.mobilenet_v2` is
//! [`mobilenet_v2`]). Each holds the family's ImageNet weight files ([`WeightsFile`]: the same
//! origin URL, file name and hash Keras uses, cached under `$KERAS_HOME/models`), its
//! `preprocess_input` and `decode_predictions`, and its builders (`resnet::ResNet50`, also
//! exported here as [`ResNet50`]): functions of an [`ApplicationArgs`] (Keras's keyword
//! arguments) that return the Functional model Keras builds, with the same layer names, shapes
//! and weights, loading the ImageNet or a given weights file. [`APPLICATIONS`] lists them,
//! [`by_name`] finds one by its Keras or snake_case name and [`preprocess_input_for`] gives its
//! family's preprocessing.
//!
//! ```
//! use keras::applications::{mobilenet_v2, vgg16};
//! use keras::Tensor;
//!
//! // The file `VGG16(weights="imagenet", include_top=False)` fetches.
//! let w = vgg16::weights_file(false);
//! assert_eq!(w.fname, "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5");
//! assert_eq!(w.file_hash.as_deref(), Some("6d6bbae143d832006294945121d1f1fc"));
//!
//! // MobileNetV2 expects pixels scaled to [-1, 1].
//! let x = Tensor::new(vec![0.0, 127.5, 255.0], [1, 1, 1, 3]).unwrap();
//! let y = mobilenet_v2::preprocess_input(&x, None).unwrap();
//! assert_eq!(y.as_f32().unwrap(), &[-1.0, 0.0, 1.0]);
//! ```
//!
//! Submodules:
//! - `common`: What every application builder shares
//! - `convnext`: `keras.applications.convnext`
//! - `densenet`: `keras.applications.densenet`
//! - `efficientnet`: `keras.applications.efficientnet`
//! - `family`: Which family an application belongs to, for the input preprocessing its weights expect
//! - `imagenet_utils`: `keras.applications.imagenet_utils`
//! - `inception_resnet_v2`: `keras.applications.inception_resnet_v2`
//! - `inception_v3`: `keras.applications.inception_v3`
//! - `mobilenet`: `keras.applications.mobilenet`
//! - `mobilenet_v2`: `keras.applications.mobilenet_v2`
//! - `mobilenet_v3`: `keras.applications.mobilenet_v3`
//! - `nasnet`: `keras.applications.nasnet`
//! - `resnet`: `keras.applications.resnet` (also `keras.applications.resnet50`)
//! - `resnet_v2`: `keras.applications.resnet_v2`
//! - `vgg16`: `keras.applications.vgg16`
//! - `vgg19`: `keras.applications.vgg19`
//! - `weights`: The ImageNet weight files Keras publishes for its applications, and how to fetch one
//! - `xception`: `keras.applications.xception`

mod common;
pub mod convnext;
pub mod densenet;
pub mod efficientnet;
pub mod efficientnet_v2;
mod family;
pub mod imagenet_utils;
pub mod inception_resnet_v2;
pub mod inception_v3;
pub mod mobilenet;
pub mod mobilenet_v2;
pub mod mobilenet_v3;
pub mod nasnet;
pub mod resnet;
pub mod resnet_v2;
pub mod vgg16;
pub mod vgg19;
mod weights;
pub mod xception;

/// `keras.applications.resnet50`: the same functions as [`resnet`] (Keras exports both names).
pub mod resnet50 {
    pub use super::resnet::{decode_predictions, preprocess_input, weights_file, ResNet50};
}

pub use common::{ApplicationArgs, Pooling, Weights};
pub use convnext::{ConvNeXtBase, ConvNeXtLarge, ConvNeXtSmall, ConvNeXtTiny, ConvNeXtXLarge};
pub use densenet::{DenseNet121, DenseNet169, DenseNet201};
pub use efficientnet::{
    EfficientNetB0, EfficientNetB1, EfficientNetB2, EfficientNetB3, EfficientNetB4, EfficientNetB5,
    EfficientNetB6, EfficientNetB7,
};
pub use efficientnet_v2::{
    EfficientNetV2B0, EfficientNetV2B1, EfficientNetV2B2, EfficientNetV2B3, EfficientNetV2L, EfficientNetV2M,
    EfficientNetV2S,
};
pub use family::{preprocess_input_for, PreprocessFn};
pub use imagenet_utils::{ClassIndex, DecodedPrediction};
pub use inception_resnet_v2::InceptionResNetV2;
pub use inception_v3::InceptionV3;
pub use mobilenet::MobileNet;
pub use mobilenet_v2::MobileNetV2;
pub use mobilenet_v3::{MobileNetV3Large, MobileNetV3Small};
pub use nasnet::{NASNetLarge, NASNetMobile};
pub use resnet::{ResNet101, ResNet152, ResNet50};
pub use resnet_v2::{ResNet101V2, ResNet152V2, ResNet50V2};
pub use vgg16::VGG16;
pub use vgg19::VGG19;
pub use weights::{WeightsFile, CACHE_SUBDIR};
pub use xception::Xception;

use crate::models::Functional;
use crate::{keras_bail, Result};

/// One `keras.applications` function.
#[derive(Clone, Copy)]
pub struct Application {
    /// The Keras function name (`"MobileNetV2"`).
    pub name: &'static str,
    /// Its snake_case form (`"mobilenet_v2"`), as the `classify_image` example takes it.
    pub snake_name: &'static str,
    /// The builder.
    pub build: fn(&ApplicationArgs) -> Result<Functional>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application").field("name", &self.name).field("snake_name", &self.snake_name).finish()
    }
}

/// Every application builder, in Keras's order of `keras.applications`.
pub const APPLICATIONS: &[Application] = &[
    Application { name: "ConvNeXtBase", snake_name: "convnext_base", build: ConvNeXtBase },
    Application { name: "ConvNeXtLarge", snake_name: "convnext_large", build: ConvNeXtLarge },
    Application { name: "ConvNeXtSmall", snake_name: "convnext_small", build: ConvNeXtSmall },
    Application { name: "ConvNeXtTiny", snake_name: "convnext_tiny", build: ConvNeXtTiny },
    Application { name: "ConvNeXtXLarge", snake_name: "convnext_xlarge", build: ConvNeXtXLarge },
    Application { name: "DenseNet121", snake_name: "densenet121", build: DenseNet121 },
    Application { name: "DenseNet169", snake_name: "densenet169", build: DenseNet169 },
    Application { name: "DenseNet201", snake_name: "densenet201", build: DenseNet201 },
    Application { name: "EfficientNetB0", snake_name: "efficientnet_b0", build: EfficientNetB0 },
    Application { name: "EfficientNetB1", snake_name: "efficientnet_b1", build: EfficientNetB1 },
    Application { name: "EfficientNetB2", snake_name: "efficientnet_b2", build: EfficientNetB2 },
    Application { name: "EfficientNetB3", snake_name: "efficientnet_b3", build: EfficientNetB3 },
    Application { name: "EfficientNetB4", snake_name: "efficientnet_b4", build: EfficientNetB4 },
    Application { name: "EfficientNetB5", snake_name: "efficientnet_b5", build: EfficientNetB5 },
    Application { name: "EfficientNetB6", snake_name: "efficientnet_b6", build: EfficientNetB6 },
    Application { name: "EfficientNetB7", snake_name: "efficientnet_b7", build: EfficientNetB7 },
    Application { name: "EfficientNetV2B0", snake_name: "efficientnet_v2_b0", build: EfficientNetV2B0 },
    Application { name: "EfficientNetV2B1", snake_name: "efficientnet_v2_b1", build: EfficientNetV2B1 },
    Application { name: "EfficientNetV2B2", snake_name: "efficientnet_v2_b2", build: EfficientNetV2B2 },
    Application { name: "EfficientNetV2B3", snake_name: "efficientnet_v2_b3", build: EfficientNetV2B3 },
    Application { name: "EfficientNetV2S", snake_name: "efficientnet_v2_s", build: EfficientNetV2S },
    Application { name: "EfficientNetV2M", snake_name: "efficientnet_v2_m", build: EfficientNetV2M },
    Application { name: "EfficientNetV2L", snake_name: "efficientnet_v2_l", build: EfficientNetV2L },
    Application { name: "InceptionResNetV2", snake_name: "inception_resnet_v2", build: InceptionResNetV2 },
    Application { name: "InceptionV3", snake_name: "inception_v3", build: InceptionV3 },
    Application { name: "MobileNet", snake_name: "mobilenet", build: MobileNet },
    Application { name: "MobileNetV2", snake_name: "mobilenet_v2", build: MobileNetV2 },
    Application { name: "MobileNetV3Large", snake_name: "mobilenet_v3_large", build: MobileNetV3Large },
    Application { name: "MobileNetV3Small", snake_name: "mobilenet_v3_small", build: MobileNetV3Small },
    Application { name: "NASNetLarge", snake_name: "nasnet_large", build: NASNetLarge },
    Application { name: "NASNetMobile", snake_name: "nasnet_mobile", build: NASNetMobile },
    Application { name: "ResNet50", snake_name: "resnet50", build: ResNet50 },
    Application { name: "ResNet101", snake_name: "resnet101", build: ResNet101 },
    Application { name: "ResNet152", snake_name: "resnet152", build: ResNet152 },
    Application { name: "ResNet50V2", snake_name: "resnet50_v2", build: ResNet50V2 },
    Application { name: "ResNet101V2", snake_name: "resnet101_v2", build: ResNet101V2 },
    Application { name: "ResNet152V2", snake_name: "resnet152_v2", build: ResNet152V2 },
    Application { name: "VGG16", snake_name: "vgg16", build: VGG16 },
    Application { name: "VGG19", snake_name: "vgg19", build: VGG19 },
    Application { name: "Xception", snake_name: "xception", build: Xception },
];

/// The application called `name`, by its Keras name (`"ResNet50"`) or its snake_case name
/// (`"resnet50"`).
pub fn by_name(name: &str) -> Result<&'static Application> {
    match APPLICATIONS.iter().find(|a| a.name == name || a.snake_name == name) {
        Some(a) => Ok(a),
        None => keras_bail!(
            InvalidArgument,
            "Unknown application `{name}`. Expected one of: {}",
            APPLICATIONS.iter().map(|a| a.snake_name).collect::<Vec<_>>().join(", ")
        ),
    }
}
