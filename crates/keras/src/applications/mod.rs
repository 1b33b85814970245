//! `keras.applications`: the ImageNet models of Keras, for prediction and transfer learning.
//!
//! One module per family, as in Keras (`keras.applications.mobilenet_v2` is
//! [`mobilenet_v2`]). Each holds the family's ImageNet weight files ([`WeightsFile`]: the same
//! origin URL, file name and hash Keras uses, cached under `$KERAS_HOME/models`), its
//! `preprocess_input` and `decode_predictions`, and its model builders (`MobileNetV2(&args)`,
//! re-exported here), which build Functional models layer for layer as Keras does, from one
//! [`ApplicationArgs`] of Keras's keyword arguments. [`APPLICATIONS`] lists the builders,
//! [`by_name`] finds one, [`preprocess_input_for`] gives its family's preprocessing.
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

mod common;
pub mod densenet;
pub mod efficientnet;
mod family;
pub mod imagenet_utils;
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
    pub use super::resnet::{decode_predictions, preprocess_input, weights_file};
}

pub use common::{ApplicationArgs, Pooling, Weights};
pub use efficientnet::{
    EfficientNetB0, EfficientNetB1, EfficientNetB2, EfficientNetB3, EfficientNetB4, EfficientNetB5,
    EfficientNetB6, EfficientNetB7,
};
pub use family::{preprocess_input_for, PreprocessFn};
pub use imagenet_utils::{ClassIndex, DecodedPrediction};
pub use mobilenet::MobileNet;
pub use mobilenet_v2::MobileNetV2;
pub use mobilenet_v3::{MobileNetV3Large, MobileNetV3Small};
pub use nasnet::{NASNetLarge, NASNetMobile};
pub use weights::{WeightsFile, CACHE_SUBDIR};

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
    Application {
        name: "EfficientNetB0",
        snake_name: "efficientnet_b0",
        build: efficientnet::EfficientNetB0,
    },
    Application {
        name: "EfficientNetB1",
        snake_name: "efficientnet_b1",
        build: efficientnet::EfficientNetB1,
    },
    Application {
        name: "EfficientNetB2",
        snake_name: "efficientnet_b2",
        build: efficientnet::EfficientNetB2,
    },
    Application {
        name: "EfficientNetB3",
        snake_name: "efficientnet_b3",
        build: efficientnet::EfficientNetB3,
    },
    Application {
        name: "EfficientNetB4",
        snake_name: "efficientnet_b4",
        build: efficientnet::EfficientNetB4,
    },
    Application {
        name: "EfficientNetB5",
        snake_name: "efficientnet_b5",
        build: efficientnet::EfficientNetB5,
    },
    Application {
        name: "EfficientNetB6",
        snake_name: "efficientnet_b6",
        build: efficientnet::EfficientNetB6,
    },
    Application {
        name: "EfficientNetB7",
        snake_name: "efficientnet_b7",
        build: efficientnet::EfficientNetB7,
    },
    Application { name: "MobileNet", snake_name: "mobilenet", build: mobilenet::MobileNet },
    Application { name: "MobileNetV2", snake_name: "mobilenet_v2", build: mobilenet_v2::MobileNetV2 },
    Application {
        name: "MobileNetV3Large",
        snake_name: "mobilenet_v3_large",
        build: mobilenet_v3::MobileNetV3Large,
    },
    Application {
        name: "MobileNetV3Small",
        snake_name: "mobilenet_v3_small",
        build: mobilenet_v3::MobileNetV3Small,
    },
    Application { name: "NASNetLarge", snake_name: "nasnet_large", build: nasnet::NASNetLarge },
    Application { name: "NASNetMobile", snake_name: "nasnet_mobile", build: nasnet::NASNetMobile },
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
