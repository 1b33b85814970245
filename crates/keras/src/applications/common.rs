//! What every application builder shares: Keras's arguments (`include_top`, `weights`,
//! `input_tensor`, `input_shape`, `pooling`, `classes`, `classifier_activation`, `name` and the
//! family options), their checks, the image input and the weights at the end.
//!
//! Keras gives each application function keyword arguments; here one [`ApplicationArgs`]
//! builder carries them all, and a family refuses an option it does not have with Python's
//! message (`VGG16() got an unexpected keyword argument 'alpha'`), so a mistyped call fails as
//! it does in Python.

use std::path::PathBuf;

use super::weights::WeightsFile;
use crate::layers::pooling::{GlobalAveragePooling2D, GlobalMaxPooling2D};
use crate::layers::{Dense, Layer};
use crate::models::{Functional, Input, KerasTensor, Model, SymbolicCall};
use crate::{keras_bail, DType, Result};

/// Keras's `weights` argument.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Weights {
    /// `weights=None`: random initialization.
    None,
    /// `weights="imagenet"` (Keras's default): the published ImageNet weights, fetched with
    /// [`crate::utils::get_file`] into `$KERAS_HOME/models` (or `~/.keras/models`).
    #[default]
    ImageNet,
    /// `weights=path`: a weights file of the same architecture (`.h5` or `.weights.h5`).
    File(PathBuf),
}

impl Weights {
    /// Keras's string form: `"imagenet"`, or a path.
    pub fn from_keras(s: &str) -> Weights {
        match s {
            "imagenet" => Weights::ImageNet,
            path => Weights::File(PathBuf::from(path)),
        }
    }

    /// The string Keras compares (`Some("imagenet")`, `Some(path)`, `None`).
    pub fn as_keras(&self) -> Option<String> {
        match self {
            Weights::None => None,
            Weights::ImageNet => Some("imagenet".into()),
            Weights::File(p) => Some(p.display().to_string()),
        }
    }
}

/// Keras's `pooling` argument (with `include_top=False`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    /// `pooling="avg"`: global average pooling, the output is 2-D.
    Avg,
    /// `pooling="max"`: global max pooling.
    Max,
}

/// The keyword arguments of a `keras.applications` function.
///
/// Defaults are Keras's: `include_top=True`, `weights="imagenet"`, `classes=1000`,
/// `classifier_activation="softmax"`, no `input_tensor`, `input_shape` or `pooling`. The family
/// options (`alpha`, `depth_multiplier`, `dropout`, `minimalistic`, `include_preprocessing`)
/// are `None` until set, which means the family's own default.
///
/// ```
/// use keras::applications::{ApplicationArgs, Pooling, Weights};
///
/// let args = ApplicationArgs::new()
///     .include_top(false)
///     .weights(Weights::None)
///     .input_shape(&[96, 96, 3])
///     .pooling(Pooling::Avg)
///     .alpha(0.35);
/// assert_eq!(args.classes, 1000);
/// assert_eq!(args.input_shape.as_deref(), Some(&[Some(96), Some(96), Some(3)][..]));
/// ```
#[derive(Clone, Debug)]
pub struct ApplicationArgs {
    /// Keep the classifier on top (`include_top`).
    pub include_top: bool,
    /// Which weights to load (`weights`).
    pub weights: Weights,
    /// A symbolic tensor to use as the image input (`input_tensor`).
    pub input_tensor: Option<KerasTensor>,
    /// The image shape without the batch dimension (`input_shape`); `None` for an unknown size.
    pub input_shape: Option<Vec<Option<usize>>>,
    /// The pooling after the last block when `include_top` is false (`pooling`).
    pub pooling: Option<Pooling>,
    /// The number of classes of the classifier (`classes`).
    pub classes: usize,
    /// The classifier's activation (`classifier_activation`); `None` returns logits.
    pub classifier_activation: Option<String>,
    /// The model's name (`name`); `None` means the family's default name.
    pub name: Option<String>,
    /// The width multiplier of MobileNet, MobileNetV2 and MobileNetV3 (`alpha`).
    pub alpha: Option<f32>,
    /// MobileNet's depth multiplier of the depthwise convolutions (`depth_multiplier`).
    pub depth_multiplier: Option<usize>,
    /// The dropout rate of MobileNet's and MobileNetV3's classifier (`dropout_rate` in
    /// MobileNetV3, `dropout` in MobileNet).
    pub dropout: Option<f32>,
    /// MobileNetV3's `minimalistic`.
    pub minimalistic: Option<bool>,
    /// MobileNetV3's and EfficientNetV2's `include_preprocessing`.
    pub include_preprocessing: Option<bool>,
}

impl Default for ApplicationArgs {
    fn default() -> Self {
        ApplicationArgs {
            include_top: true,
            weights: Weights::ImageNet,
            input_tensor: None,
            input_shape: None,
            pooling: None,
            classes: 1000,
            classifier_activation: Some("softmax".into()),
            name: None,
            alpha: None,
            depth_multiplier: None,
            dropout: None,
            minimalistic: None,
            include_preprocessing: None,
        }
    }
}

impl ApplicationArgs {
    /// Keras's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    crate::setters::setters! {
        /// `include_top`.
        include_top: bool,
        /// `weights`.
        weights: Weights,
        /// `input_tensor`.
        input_tensor: KerasTensor => Some,
    }

    /// `input_shape` with every size known (`(224, 224, 3)`).
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.input_shape = Some(shape.iter().map(|&d| Some(d)).collect());
        self
    }

    /// `input_shape` with unknown sizes (`(None, None, 3)`).
    pub fn input_shape_dims(mut self, shape: &[Option<usize>]) -> Self {
        self.input_shape = Some(shape.to_vec());
        self
    }

    crate::setters::setters! {
        /// `pooling`.
        pooling: Pooling => Some,
        /// `classes`.
        classes: usize,
    }

    /// `classifier_activation` (`None` for logits).
    pub fn classifier_activation(mut self, activation: Option<&str>) -> Self {
        self.classifier_activation = activation.map(Into::into);
        self
    }

    /// `name`.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.into());
        self
    }

    crate::setters::setters! {
        /// `alpha` (MobileNet families).
        alpha: f32 => Some,
        /// `depth_multiplier` (MobileNet).
        depth_multiplier: usize => Some,
        /// `dropout` (MobileNet) or `dropout_rate` (MobileNetV3).
        dropout: f32 => Some,
        /// `minimalistic` (MobileNetV3).
        minimalistic: bool => Some,
        /// `include_preprocessing` (MobileNetV3).
        include_preprocessing: bool => Some,
    }

    /// Refuses the family options that `function` does not take, with Python's `TypeError`
    /// text. `allowed` lists the option names the function has (`"alpha"`, `"depth_multiplier"`,
    /// `"dropout"`, `"dropout_rate"`, `"minimalistic"`, `"include_preprocessing"`); `dropout`
    /// is accepted under either of its two names.
    pub fn check_options(&self, function: &str, allowed: &[&str]) -> Result<()> {
        let given: [(&str, bool); 5] = [
            ("alpha", self.alpha.is_some()),
            ("depth_multiplier", self.depth_multiplier.is_some()),
            ("dropout", self.dropout.is_some()),
            ("minimalistic", self.minimalistic.is_some()),
            ("include_preprocessing", self.include_preprocessing.is_some()),
        ];
        for (name, set) in given {
            let ok = allowed.contains(&name) || (name == "dropout" && allowed.contains(&"dropout_rate"));
            if set && !ok {
                keras_bail!(InvalidArgument, "{function}() got an unexpected keyword argument '{name}'");
            }
        }
        Ok(())
    }

    /// Keras's checks of `weights` and `classes`, common to every application: a weights path
    /// must exist, and ImageNet weights with the classifier need 1000 classes.
    pub fn check_weights(&self) -> Result<()> {
        self.check_weights_worded(
            |weights| {
                format!(
                    "The `weights` argument should be either `None` (random initialization), 'imagenet' \
                     (pre-training on ImageNet), or the path to the weights file to be loaded.  Received: \
                     weights={weights}"
                )
            },
            |classes| {
                format!(
                    "If using `weights='imagenet'` with `include_top=True`, `classes` should be 1000.  \
                     Received classes={classes}"
                )
            },
        )
    }

    /// [`check_weights`](Self::check_weights) with a family's own wording of the two errors
    /// (InceptionV3, Xception and DenseNet word them differently): `bad_weights` gets the
    /// missing path, `bad_classes` the number of classes.
    pub fn check_weights_worded(
        &self,
        bad_weights: impl FnOnce(&str) -> String,
        bad_classes: impl FnOnce(usize) -> String,
    ) -> Result<()> {
        if let Weights::File(p) = &self.weights {
            if !p.exists() {
                keras_bail!(InvalidArgument, "{}", bad_weights(&p.display().to_string()));
            }
        }
        if self.weights == Weights::ImageNet && self.include_top && self.classes != 1000 {
            keras_bail!(InvalidArgument, "{}", bad_classes(self.classes));
        }
        Ok(())
    }

    /// The classifier on top: Keras's `validate_activation`, then `Dense(classes,
    /// activation=classifier_activation, name="predictions")`.
    pub fn classifier(&self, x: &KerasTensor) -> Result<KerasTensor> {
        let weights = self.weights.as_keras();
        let activation = self.classifier_activation.as_deref();
        super::imagenet_utils::validate_activation(activation, weights.as_deref())?;
        named("predictions", || {
            let dense = Dense::new(self.classes);
            match activation {
                Some(a) => dense.activation(a),
                None => dense,
            }
        })
        .apply(x)
    }

    /// Keras's `imagenet_utils.obtain_input_shape` on these arguments (channels last).
    pub fn obtain_input_shape(
        &self,
        default_size: usize,
        min_size: usize,
        require_flatten: bool,
    ) -> Result<Vec<Option<usize>>> {
        let weights = self.weights.as_keras();
        super::imagenet_utils::obtain_input_shape(
            self.input_shape.as_deref(),
            default_size,
            min_size,
            None,
            require_flatten,
            weights.as_deref(),
        )
    }

    /// The image input: `input_tensor` when given, else a new `Input(shape)` (Keras names it
    /// `input_layer`).
    pub fn image_input(&self, shape: &[Option<usize>]) -> KerasTensor {
        match &self.input_tensor {
            Some(t) => t.clone(),
            None => {
                let mut batch = vec![None];
                batch.extend_from_slice(shape);
                Input::batch_shape(&batch, DType::F32, None)
            }
        }
    }

    /// The model's inputs: the source inputs of `input_tensor` when given (Keras
    /// `get_source_inputs`), else `img_input`.
    pub fn model_inputs(&self, img_input: &KerasTensor) -> Vec<KerasTensor> {
        match &self.input_tensor {
            Some(t) => t.source_inputs(),
            None => vec![img_input.clone()],
        }
    }

    /// The `pooling` of a headless model: global average or max pooling with the given layer
    /// names (`None` for Keras's automatic names), or `x` unchanged without pooling.
    pub fn pool(
        &self,
        x: &KerasTensor,
        avg_name: Option<&str>,
        max_name: Option<&str>,
    ) -> Result<KerasTensor> {
        match self.pooling {
            None => Ok(x.clone()),
            Some(Pooling::Avg) => maybe_named(avg_name, GlobalAveragePooling2D::new).apply(x),
            Some(Pooling::Max) => maybe_named(max_name, GlobalMaxPooling2D::new).apply(x),
        }
    }

    /// The ending most Keras applications share: with the top, a `GlobalAveragePooling2D`
    /// named `avg_pool` and the classifier; without it, the `pooling` ([`Self::pool`] with
    /// `avg_name` / `max_name`).
    pub fn avg_pool_top_or_pool(
        &self,
        x: &KerasTensor,
        avg_name: Option<&str>,
        max_name: Option<&str>,
    ) -> Result<KerasTensor> {
        if self.include_top {
            let x = named("avg_pool", GlobalAveragePooling2D::new).apply(x)?;
            self.classifier(&x)
        } else {
            self.pool(x, avg_name, max_name)
        }
    }

    /// Makes the model from `img_input` to `output`, named `args.name` or `default_name`, and
    /// loads the weights: the published file for [`Weights::ImageNet`] (from `imagenet_file`,
    /// called only then), the given file for [`Weights::File`].
    pub fn finish(
        &self,
        img_input: &KerasTensor,
        output: &KerasTensor,
        default_name: &str,
        imagenet_file: impl FnOnce() -> Result<WeightsFile>,
    ) -> Result<Functional> {
        let inputs = self.model_inputs(img_input);
        let name = self.name.as_deref().unwrap_or(default_name);
        let mut model = Model::named(name, &inputs, std::slice::from_ref(output))?;
        match &self.weights {
            Weights::None => {}
            Weights::ImageNet => {
                let path = imagenet_file()?.get()?;
                model.load_weights(path)?;
            }
            Weights::File(p) => model.load_weights(p)?,
        }
        Ok(model)
    }
}

pub(crate) use crate::utils::warnings::warn;

/// A layer made by `make` and called `name`, without using up an automatic name: Keras
/// numbers only unnamed layers (after `Conv2D(..., name="block1_conv1")` the next unnamed
/// `Conv2D` is still `conv2d`).
pub(crate) fn named<L: Layer>(name: &str, make: impl FnOnce() -> L) -> L {
    let mut layer = crate::backend::without_auto_names(make);
    layer.base_mut().name = name.to_string();
    layer
}

/// [`named`] when `name` is given, else the layer with its automatic name (Keras's
/// `name=None`).
pub(crate) fn maybe_named<L: Layer>(name: Option<&str>, make: impl FnOnce() -> L) -> L {
    match name {
        Some(n) => named(n, make),
        None => make(),
    }
}

/// Public model constructors that each call one family builder with fixed arguments: every
/// `/// doc` + `Name => builder(a, b, ...);` entry becomes
/// `pub fn Name(args: &ApplicationArgs) -> Result<Functional> { builder(args, a, b, ...) }`
/// with its rustdoc.
macro_rules! application_fns {
    ($( $(#[$m:meta])* $name:ident => $builder:ident($($arg:expr),* $(,)?); )*) => {
        $(
            $(#[$m])*
            #[allow(non_snake_case)]
            pub fn $name(
                args: &$crate::applications::ApplicationArgs,
            ) -> $crate::Result<$crate::models::Functional> {
                $builder(args, $($arg),*)
            }
        )*
    };
}
pub(crate) use application_fns;

/// Keras's bad-`weights` error of DenseNet, NASNet, ConvNeXt and InceptionResNetV2 (for
/// [`ApplicationArgs::check_weights_worded`]): `imagenet` in backticks, the path not repeated.
pub(crate) fn weights_error_backticked(_path: &str) -> String {
    "The `weights` argument should be either `None` (random initialization), `imagenet` (pre-training on \
     ImageNet), or the path to the weights file to be loaded."
        .to_string()
}

/// Keras's bad-`classes` error of ConvNeXt, InceptionV3 and InceptionResNetV2.
pub(crate) fn classes_error_received(classes: usize) -> String {
    format!(
        "If using `weights=\"imagenet\"` with `include_top=True`, `classes` should be 1000. Received \
         classes={classes}"
    )
}

/// Keras's bad-`classes` error of DenseNet and NASNet (the number not repeated).
pub(crate) fn classes_error_as_true(_classes: usize) -> String {
    "If using `weights` as `\"imagenet\"` with `include_top` as true, `classes` should be 1000".to_string()
}

/// Helpers of the tests that compare a small configuration of a family with Keras's numbers.
#[cfg(test)]
pub(crate) mod fixture {
    use crate::Tensor;

    /// `{"shape": [...], "values": [...]}` of a fixture as a tensor.
    pub(crate) fn tensor(v: &serde_json::Value) -> Tensor {
        let shape: Vec<usize> =
            v["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        let values: Vec<f32> =
            v["values"].as_array().unwrap().iter().map(|f| f.as_f64().unwrap() as f32).collect();
        Tensor::new(values, shape).unwrap()
    }

    /// Every element within 1e-4, relative to `max(|want|, 1)`.
    pub(crate) fn assert_close(what: &str, got: &Tensor, want: &Tensor) {
        assert_eq!(got.shape(), want.shape(), "{what} shape");
        let worst = got
            .to_f32_vec()
            .iter()
            .zip(want.to_f32_vec())
            .map(|(g, w)| (g - w).abs() / w.abs().max(1.0))
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "{what}: worst relative error {worst}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_a_family_lacks_are_refused_with_pythons_message() {
        let args = ApplicationArgs::new().alpha(0.5);
        let e = args.check_options("VGG16", &[]).unwrap_err();
        assert_eq!(e.to_string(), "VGG16() got an unexpected keyword argument 'alpha'");
        args.check_options("MobileNet", &["alpha", "depth_multiplier", "dropout"]).unwrap();
        ApplicationArgs::new().dropout(0.2).check_options("MobileNetV3Small", &["dropout_rate"]).unwrap();
    }

    #[test]
    fn weights_checks_are_kerass() {
        let e = ApplicationArgs::new().classes(10).check_weights().unwrap_err();
        assert!(e.to_string().contains("`classes` should be 1000.  Received classes=10"), "{e}");
        ApplicationArgs::new().classes(10).include_top(false).check_weights().unwrap();
        ApplicationArgs::new().classes(10).weights(Weights::None).check_weights().unwrap();
        let e = ApplicationArgs::new()
            .weights(Weights::from_keras("/no/such/file.h5"))
            .check_weights()
            .unwrap_err();
        assert!(e.to_string().contains("Received: weights=/no/such/file.h5"), "{e}");
    }

    #[test]
    fn the_input_is_the_given_tensor_and_the_model_starts_at_its_sources() {
        let src = Input::named(&[8, 8, 3], "src");
        let t = crate::layers::Rescaling::new(2.0).apply(&src).unwrap();
        let args = ApplicationArgs::new().input_tensor(t.clone());
        let img = args.image_input(&[Some(8), Some(8), Some(3)]);
        assert_eq!(img.layer_name(), t.layer_name());
        let inputs = args.model_inputs(&img);
        assert_eq!(inputs.len(), 1);
        assert_eq!(inputs[0].name(), "src");
        let own = ApplicationArgs::new().image_input(&[None, None, Some(3)]);
        assert_eq!(own.shape(), &[None, None, None, Some(3)]);
    }
}
