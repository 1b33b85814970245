//! Which family an application belongs to, for the input preprocessing its weights expect.

use super::{
    convnext, densenet, efficientnet, efficientnet_v2, inception_resnet_v2, inception_v3, mobilenet,
    mobilenet_v2, mobilenet_v3, nasnet, resnet, resnet_v2, vgg16, vgg19, xception,
};
use crate::{keras_bail, Result, Tensor};

/// A family's `preprocess_input(x, data_format)`.
pub type PreprocessFn = fn(&Tensor, Option<&str>) -> Result<Tensor>;

/// The `preprocess_input` of the family of the application called `name` (its Keras name,
/// `"MobileNetV2"`, or snake_case name, `"mobilenet_v2"`): what `keras.applications.<family>`
/// applies to pixels in `[0, 255]` before the model (caffe mode for VGG and ResNet, tf mode
/// for MobileNet, MobileNetV2, NASNet, InceptionV3, InceptionResNetV2, Xception and the ResNetV2s, torch mode for
/// DenseNet, nothing for ConvNeXt, EfficientNet, EfficientNetV2 and MobileNetV3, which rescale or normalize inside
/// the model).
///
/// ```
/// use keras::applications::preprocess_input_for;
/// use keras::Tensor;
///
/// let x = Tensor::new(vec![0.0, 127.5, 255.0], [1, 1, 1, 3])?;
/// let y = preprocess_input_for("mobilenet_v2")?(&x, None)?;
/// assert_eq!(y.to_f32_vec(), vec![-1.0, 0.0, 1.0]);
/// assert_eq!(preprocess_input_for("EfficientNetB0")?(&x, None)?.to_f32_vec(), x.to_f32_vec());
/// # Ok::<(), keras::Error>(())
/// ```
pub fn preprocess_input_for(name: &str) -> Result<PreprocessFn> {
    let app = super::by_name(name)?;
    let n = app.name;
    Ok(if n.starts_with("ConvNeXt") {
        convnext::preprocess_input
    } else if n.starts_with("EfficientNetV2") {
        efficientnet_v2::preprocess_input
    } else if n.starts_with("EfficientNet") {
        efficientnet::preprocess_input
    } else if n.starts_with("MobileNetV3") {
        mobilenet_v3::preprocess_input
    } else if n == "MobileNetV2" {
        mobilenet_v2::preprocess_input
    } else if n == "MobileNet" {
        mobilenet::preprocess_input
    } else if n.starts_with("NASNet") {
        nasnet::preprocess_input
    } else if n.starts_with("DenseNet") {
        densenet::preprocess_input
    } else if n == "InceptionResNetV2" {
        inception_resnet_v2::preprocess_input
    } else if n == "InceptionV3" {
        inception_v3::preprocess_input
    } else if n == "Xception" {
        xception::preprocess_input
    } else if n.starts_with("ResNet") && n.ends_with("V2") {
        resnet_v2::preprocess_input
    } else if n.starts_with("ResNet") {
        resnet::preprocess_input
    } else if n == "VGG16" {
        vgg16::preprocess_input
    } else if n == "VGG19" {
        vgg19::preprocess_input
    } else {
        keras_bail!(InvalidArgument, "No preprocess_input is known for the application `{n}`")
    })
}
