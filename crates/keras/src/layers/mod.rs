//! Keras layers, laid out as `keras/src/layers`: core, convolutional, pooling,
//! normalization, regularization, reshaping, activations, merging, attention.
//!
//! Every layer implements [`Layer`]; [`deserialize`] rebuilds one from Keras's JSON by class
//! name (the registry). Loading never executes code: unknown classes (and `Lambda`) are refused.
//!
//! # Writing a layer
//!
//! A layer of your own is a struct implementing [`Layer`] (Keras's subclassed `Layer`): it
//! keeps a [`LayerBase`], makes its weights in `build` with [`LayerBase::add_weight`], lists
//! them (and any layers it is made of) with [`crate::sublayers!`], and computes its output in
//! `call` with differentiable ops. Registered with
//! [`crate::saving::register_keras_serializable`], it saves and loads with the model.
//!
//! ```
//! use keras::layers::{CallContext, Dense, Input, Layer, LayerBase, Shape, Variable, WeightSpec};
//! use keras::models::{load_model, Sequential};
//! use keras::{PredictArgs, Result, Tensor};
//! use serde_json::{json, Value};
//!
//! /// `x @ w` with `units` outputs (a Dense without bias), L2-regularized.
//! struct Linear {
//!     base: LayerBase,
//!     units: usize,
//!     w: Option<Variable>,
//! }
//!
//! impl Linear {
//!     fn new(units: usize) -> Self {
//!         Linear { base: LayerBase::new("linear"), units, w: None }
//!     }
//!     fn from_config(cfg: &Value) -> Result<Self> {
//!         let units = cfg["units"].as_u64().ok_or_else(|| keras::Error::Config("needs units".into()))?;
//!         let mut l = Linear::new(units as usize);
//!         l.base.apply_config(cfg);
//!         Ok(l)
//!     }
//! }
//!
//! impl Layer for Linear {
//!     keras::sublayers!(; w);
//!     fn class_name(&self) -> &'static str { "Linear" }
//!     fn base(&self) -> &LayerBase { &self.base }
//!     fn base_mut(&mut self) -> &mut LayerBase { &mut self.base }
//!     fn as_any(&self) -> &dyn std::any::Any { self }
//!     fn build(&mut self, shape: &[Option<usize>]) -> Result<()> {
//!         let d = shape.last().copied().flatten().unwrap_or(1);
//!         let spec = WeightSpec::new("w", &[d, self.units]).initializer("random_normal").regularizer("l2");
//!         self.w = Some(self.base.add_weight(spec)?);
//!         self.base.built = true;
//!         Ok(())
//!     }
//!     fn compute_output_shape(&self, shape: &[Option<usize>]) -> Result<Shape> {
//!         let mut s = shape.to_vec();
//!         *s.last_mut().unwrap() = Some(self.units);
//!         Ok(s)
//!     }
//!     fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
//!         let w = self.w.as_ref().ok_or_else(|| keras::Error::State("Linear is not built".into()))?;
//!         Ok(keras::ops::matmul(x, w.value())?)
//!     }
//!     fn get_config(&self) -> Value {
//!         let mut m = self.base.base_config();
//!         m.insert("units".into(), json!(self.units));
//!         Value::Object(m)
//!     }
//! }
//!
//! keras::saving::register_keras_serializable("my_layers", None, Linear::from_config);
//!
//! let mut model = Sequential::new();
//! model.add(Input::new(&[3])).unwrap();
//! model.add(Linear::new(4)).unwrap();
//! model.add(Dense::new(1)).unwrap();
//! assert_eq!(model.count_params(), 3 * 4 + 4 + 1);
//! assert_eq!(model.losses().unwrap().len(), 1); // the L2 penalty of `w`
//!
//! let path = std::env::temp_dir().join(format!("linear_{}.keras", std::process::id()));
//! model.save(&path).unwrap();
//! let mut restored = load_model(&path).unwrap().into_sequential().unwrap();
//! let x = Tensor::new(vec![0.5; 6], [2, 3]).unwrap();
//! let args = || PredictArgs::default().verbose(0);
//! assert_eq!(model.predict(&x, args()).unwrap().to_f32_vec(), restored.predict(&x, args()).unwrap().to_f32_vec());
//! # std::fs::remove_file(&path).unwrap();
//! ```
//!
//! A layer made of layers names them in [`crate::sublayers!`] (`keras::sublayers!(dense1,
//! dense2; scale)`): its `weights()`, trainability, penalties and saved paths then include
//! theirs. Its `call` runs them with [`call_sublayer`] so their activity penalties count.
//! A model written the same way (a struct with a `call`) trains as a
//! [`crate::models::SubclassedModel`].
//!
//! Submodules:
//! - `activations`: Activation layers
//! - `add_weight`: `add_weight`
//! - `application_layers`: Layers that Keras defines inside its application sources rather than in `keras.layers` (`keras/src/applications/convnext.py`, `inception_resnet_v2.py`)
//! - `attention`: Attention layers (Keras `keras/src/layers/attention`)
//! - `builders`: Builder methods that many layers share word for word, written once
//! - `call_kwargs`: Per-call keyword arguments ([`CallKwargs`])
//! - `convolutional`: Convolution layers
//! - `core`: Core layers
//! - `forward`: A layer that answers as its inner layer (`forward_layer_methods!`)
//! - `layer`: The [`Layer`] trait, weights as [`Variable`]s, and the state every layer shares
//! - `merging`: Merging layers (Keras `keras/src/layers/merging`)
//! - `normalization`: Normalization layers
//! - `pooling`: Pooling layers
//! - `preprocessing`: Preprocessing layers that are part of a model
//! - `regularization`: Regularization layers
//! - `reshaping`: Reshaping layers
//! - `rnn`: Recurrent layers
//! - `sublayers`: Layers made of other layers

pub mod activations;
mod add_weight;
pub mod application_layers;
pub mod attention;
mod builders;
pub mod call_kwargs;
pub mod convolutional;
pub mod core;
pub mod data_format;
mod forward;
pub mod layer;
pub(crate) mod layer_args;
mod masked_values;
pub mod merging;
pub mod normalization;
pub mod pooling;
pub mod preprocessing;
pub mod regularization;
pub mod reshaping;
pub mod rnn;
pub mod sublayers;
mod weight_args;

pub use self::activations::Activation;
pub use self::activations::{LeakyReLU, PReLU, ReLU, Softmax, ELU};
pub use self::core::{input, Dense, InputLayer};
/// `keras.Input`: an [`InputLayer`] declaring the input shape (without batch).
pub type Input = InputLayer;
pub use self::core::{EinsumDense, Embedding, Identity, Masking, ReversibleEmbedding};
pub use add_weight::{IntoConstraint, IntoInitializer, IntoRegularizer, WeightSpec};
pub use application_layers::{CustomScaleLayer, LayerScale, StochasticDepth};
pub use attention::{
    AdditiveAttention, Attention, GroupQueryAttention, GroupedQueryAttention, MultiHeadAttention,
};
pub use call_kwargs::{CallKwargs, ShapeKwargs, TensorArg};
pub use convolutional::Conv2D;
pub use convolutional::{
    Conv1D, Conv1DTranspose, Conv2DTranspose, Conv3D, Conv3DTranspose, DepthwiseConv1D, DepthwiseConv2D,
    SeparableConv1D, SeparableConv2D,
};
pub use data_format::DataFormat;

// Keras's other names of the same classes (`keras.layers.MaxPool2D is
// keras.layers.MaxPooling2D`).

/// Keras's `Convolution1D`: [`Conv1D`].
pub type Convolution1D = Conv1D;
/// Keras's `Convolution2D`: [`Conv2D`].
pub type Convolution2D = Conv2D;
/// Keras's `Convolution3D`: [`Conv3D`].
pub type Convolution3D = Conv3D;
/// Keras's `Convolution1DTranspose`: [`Conv1DTranspose`].
pub type Convolution1DTranspose = Conv1DTranspose;
/// Keras's `Convolution2DTranspose`: [`Conv2DTranspose`].
pub type Convolution2DTranspose = Conv2DTranspose;
/// Keras's `Convolution3DTranspose`: [`Conv3DTranspose`].
pub type Convolution3DTranspose = Conv3DTranspose;
/// Keras's `SeparableConvolution1D`: [`SeparableConv1D`].
pub type SeparableConvolution1D = SeparableConv1D;
/// Keras's `SeparableConvolution2D`: [`SeparableConv2D`].
pub type SeparableConvolution2D = SeparableConv2D;
/// Keras's `AvgPool1D`: [`AveragePooling1D`].
pub type AvgPool1D = AveragePooling1D;
/// Keras's `AvgPool2D`: [`AveragePooling2D`].
pub type AvgPool2D = AveragePooling2D;
/// Keras's `AvgPool3D`: [`AveragePooling3D`].
pub type AvgPool3D = AveragePooling3D;
/// Keras's `MaxPool1D`: [`MaxPooling1D`].
pub type MaxPool1D = MaxPooling1D;
/// Keras's `MaxPool2D`: [`MaxPooling2D`].
pub type MaxPool2D = MaxPooling2D;
/// Keras's `MaxPool3D`: [`MaxPooling3D`].
pub type MaxPool3D = MaxPooling3D;
/// Keras's `GlobalAvgPool1D`: [`GlobalAveragePooling1D`].
pub type GlobalAvgPool1D = GlobalAveragePooling1D;
/// Keras's `GlobalAvgPool2D`: [`GlobalAveragePooling2D`].
pub type GlobalAvgPool2D = GlobalAveragePooling2D;
/// Keras's `GlobalAvgPool3D`: [`GlobalAveragePooling3D`].
pub type GlobalAvgPool3D = GlobalAveragePooling3D;
/// Keras's `GlobalMaxPool1D`: [`GlobalMaxPooling1D`].
pub type GlobalMaxPool1D = GlobalMaxPooling1D;
/// Keras's `GlobalMaxPool2D`: [`GlobalMaxPooling2D`].
pub type GlobalMaxPool2D = GlobalMaxPooling2D;
/// Keras's `GlobalMaxPool3D`: [`GlobalMaxPooling3D`].
pub type GlobalMaxPool3D = GlobalMaxPooling3D;

/// The class names Keras also accepts for its layers (the aliases above), with the class
/// each one names: a config that says `"MaxPool2D"` loads a `MaxPooling2D`, as in Keras.
pub const CLASS_ALIASES: [(&str, &str); 20] = [
    ("Convolution1D", "Conv1D"),
    ("Convolution2D", "Conv2D"),
    ("Convolution3D", "Conv3D"),
    ("Convolution1DTranspose", "Conv1DTranspose"),
    ("Convolution2DTranspose", "Conv2DTranspose"),
    ("Convolution3DTranspose", "Conv3DTranspose"),
    ("SeparableConvolution1D", "SeparableConv1D"),
    ("SeparableConvolution2D", "SeparableConv2D"),
    ("AvgPool1D", "AveragePooling1D"),
    ("AvgPool2D", "AveragePooling2D"),
    ("AvgPool3D", "AveragePooling3D"),
    ("MaxPool1D", "MaxPooling1D"),
    ("MaxPool2D", "MaxPooling2D"),
    ("MaxPool3D", "MaxPooling3D"),
    ("GlobalAvgPool1D", "GlobalAveragePooling1D"),
    ("GlobalAvgPool2D", "GlobalAveragePooling2D"),
    ("GlobalAvgPool3D", "GlobalAveragePooling3D"),
    ("GlobalMaxPool1D", "GlobalMaxPooling1D"),
    ("GlobalMaxPool2D", "GlobalMaxPooling2D"),
    ("GlobalMaxPool3D", "GlobalMaxPooling3D"),
];
pub use layer::{CallContext, Layer, LayerBase, Shape, Variable};
pub use merging::{Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract};
pub use normalization::{
    BatchNormalization, GroupNormalization, LayerNormalization, RMSNormalization, SpectralNormalization,
    UnitNormalization,
};
pub use pooling::{
    AdaptiveAveragePooling1D, AdaptiveAveragePooling2D, AdaptiveAveragePooling3D, AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D, AdaptiveMaxPooling3D,
};
pub use pooling::{
    AveragePooling1D, AveragePooling3D, GlobalAveragePooling1D, GlobalAveragePooling2D,
    GlobalAveragePooling3D, GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D, MaxPooling1D,
    MaxPooling3D,
};
pub use pooling::{AveragePooling2D, MaxPooling2D};
pub use preprocessing::Rescaling;
pub use preprocessing::TextVectorization;
pub use preprocessing::{
    CategoryEncoding, CenterCrop, CrossColumn, Discretization, HashedCrossing, Hashing, IntegerLookup,
    Normalization, RandomBrightness, RandomContrast, RandomCrop, RandomFlip, RandomRotation,
    RandomTranslation, RandomZoom, Resizing, StringLookup,
};
// layers: the color augmentation layers.
pub use preprocessing::{
    AutoContrast, Equalization, RandomColorDegeneration, RandomGrayscale, RandomHue, RandomInvert,
    RandomPosterization, RandomSaturation, RandomSharpness, Solarization,
};
pub use preprocessing::{RandomErasing, RandomGaussianBlur, RandomPerspective, RandomShear};
// imgmore: the last Keras image layers.
pub use preprocessing::{
    ContrastLimitedAdaptiveHistogramEqualization, MaxNumBoundingBoxes, RandomElasticTransform,
};
// augment: the mixing and composite augmentation layers.
pub use preprocessing::{
    AugMix, AugmentOp, ColorJitterParams, CutMix, CutMixTransformation, LabelMix, MixUp, Pipeline,
    RandAugment, RandomColorJitter,
};
// signal: the audio layers.
pub use preprocessing::{MelSpectrogram, STFTSpectrogram};
pub use regularization::Dropout;
pub use regularization::{
    ActivityRegularization, AlphaDropout, GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D,
    SpatialDropout3D,
};
pub use reshaping::Flatten;
pub use reshaping::{
    Cropping1D, Cropping2D, Cropping3D, Permute, RepeatVector, Reshape, UpSampling1D, UpSampling2D,
    UpSampling3D, ZeroPadding1D, ZeroPadding2D, ZeroPadding3D,
};
pub use rnn::{
    deserialize_cell, Bidirectional, ConvLSTM1D, ConvLSTM2D, ConvLSTM3D, GRUCell, LSTMCell, RnnCell,
    RnnCellArg, SimpleRNN, SimpleRNNCell, StackedRNNCells, TimeDistributed, GRU, LSTM, RNN,
};
pub use sublayers::{
    assign_paths, build_layer, call_sublayer, weights_with_trainable, weights_with_trainable_mut, Sublayer,
};

use serde_json::Value;

use crate::saving::object_registration;
use crate::{keras_bail, Error, Result};

type FromConfig = fn(&Value) -> Result<Box<dyn Layer>>;

fn boxed<L: Layer>(r: Result<L>) -> Result<Box<dyn Layer>> {
    r.map(|l| Box::new(l) as Box<dyn Layer>)
}

/// Class name -> constructor from config.
fn registry() -> &'static [(&'static str, FromConfig)] {
    &[
        ("InputLayer", |c| boxed(InputLayer::from_config(c))),
        ("Rescaling", |c| boxed(Rescaling::from_config(c))),
        ("Normalization", |c| boxed(Normalization::from_config(c))),
        ("Resizing", |c| boxed(Resizing::from_config(c))),
        ("CenterCrop", |c| boxed(CenterCrop::from_config(c))),
        ("RandomCrop", |c| boxed(RandomCrop::from_config(c))),
        ("RandomFlip", |c| boxed(RandomFlip::from_config(c))),
        ("RandomRotation", |c| boxed(RandomRotation::from_config(c))),
        ("RandomZoom", |c| boxed(RandomZoom::from_config(c))),
        ("RandomTranslation", |c| boxed(RandomTranslation::from_config(c))),
        ("RandomContrast", |c| boxed(RandomContrast::from_config(c))),
        ("RandomBrightness", |c| boxed(RandomBrightness::from_config(c))),
        ("AutoContrast", |c| boxed(AutoContrast::from_config(c))),
        ("Solarization", |c| boxed(Solarization::from_config(c))),
        ("RandomInvert", |c| boxed(RandomInvert::from_config(c))),
        ("RandomGrayscale", |c| boxed(RandomGrayscale::from_config(c))),
        ("RandomPosterization", |c| boxed(RandomPosterization::from_config(c))),
        ("RandomColorDegeneration", |c| boxed(RandomColorDegeneration::from_config(c))),
        ("RandomSaturation", |c| boxed(RandomSaturation::from_config(c))),
        ("RandomHue", |c| boxed(RandomHue::from_config(c))),
        ("RandomSharpness", |c| boxed(RandomSharpness::from_config(c))),
        ("Equalization", |c| boxed(Equalization::from_config(c))),
        ("RandomGaussianBlur", |c| boxed(RandomGaussianBlur::from_config(c))),
        ("RandomErasing", |c| boxed(RandomErasing::from_config(c))),
        ("RandomShear", |c| boxed(RandomShear::from_config(c))),
        ("RandomPerspective", |c| boxed(RandomPerspective::from_config(c))),
        // augment: the mixing and composite augmentation layers.
        ("MixUp", |c| boxed(MixUp::from_config(c))),
        ("CutMix", |c| boxed(CutMix::from_config(c))),
        ("RandomColorJitter", |c| boxed(RandomColorJitter::from_config(c))),
        ("RandAugment", |c| boxed(RandAugment::from_config(c))),
        ("AugMix", |c| boxed(AugMix::from_config(c))),
        ("Pipeline", |c| boxed(Pipeline::from_config(c))),
        // imgmore: the last Keras image layers.
        ("RandomElasticTransform", |c| boxed(RandomElasticTransform::from_config(c))),
        ("ContrastLimitedAdaptiveHistogramEqualization", |c| {
            boxed(ContrastLimitedAdaptiveHistogramEqualization::from_config(c))
        }),
        ("MaxNumBoundingBoxes", |c| boxed(MaxNumBoundingBoxes::from_config(c))),
        // signal: the audio layers.
        ("STFTSpectrogram", |c| boxed(STFTSpectrogram::from_config(c))),
        ("MelSpectrogram", |c| boxed(MelSpectrogram::from_config(c))),
        ("TextVectorization", |c| boxed(TextVectorization::from_config(c))),
        ("CategoryEncoding", |c| boxed(CategoryEncoding::from_config(c))),
        ("Discretization", |c| boxed(Discretization::from_config(c))),
        ("IntegerLookup", |c| boxed(IntegerLookup::from_config(c))),
        ("StringLookup", |c| boxed(StringLookup::from_config(c))),
        ("Hashing", |c| boxed(Hashing::from_config(c))),
        ("HashedCrossing", |c| boxed(HashedCrossing::from_config(c))),
        ("Dense", |c| boxed(Dense::from_config(c))),
        ("Conv2D", |c| boxed(Conv2D::from_config(c))),
        ("Conv1D", |c| boxed(Conv1D::from_config(c))),
        ("Conv2DTranspose", |c| boxed(Conv2DTranspose::from_config(c))),
        ("DepthwiseConv2D", |c| boxed(DepthwiseConv2D::from_config(c))),
        ("SeparableConv2D", |c| boxed(SeparableConv2D::from_config(c))),
        ("Conv1DTranspose", |c| boxed(Conv1DTranspose::from_config(c))),
        ("DepthwiseConv1D", |c| boxed(DepthwiseConv1D::from_config(c))),
        ("SeparableConv1D", |c| boxed(SeparableConv1D::from_config(c))),
        ("Conv3D", |c| boxed(Conv3D::from_config(c))),
        ("Conv3DTranspose", |c| boxed(Conv3DTranspose::from_config(c))),
        ("MaxPooling3D", |c| boxed(MaxPooling3D::from_config(c))),
        ("AveragePooling3D", |c| boxed(AveragePooling3D::from_config(c))),
        ("GlobalMaxPooling3D", |c| boxed(GlobalMaxPooling3D::from_config(c))),
        ("AdaptiveAveragePooling1D", |c| boxed(AdaptiveAveragePooling1D::from_config(c))),
        ("AdaptiveAveragePooling2D", |c| boxed(AdaptiveAveragePooling2D::from_config(c))),
        ("AdaptiveAveragePooling3D", |c| boxed(AdaptiveAveragePooling3D::from_config(c))),
        ("AdaptiveMaxPooling1D", |c| boxed(AdaptiveMaxPooling1D::from_config(c))),
        ("AdaptiveMaxPooling2D", |c| boxed(AdaptiveMaxPooling2D::from_config(c))),
        ("AdaptiveMaxPooling3D", |c| boxed(AdaptiveMaxPooling3D::from_config(c))),
        ("RMSNormalization", |c| boxed(RMSNormalization::from_config(c))),
        ("SpectralNormalization", |c| boxed(SpectralNormalization::from_config(c))),
        ("GlobalAveragePooling3D", |c| boxed(GlobalAveragePooling3D::from_config(c))),
        ("UpSampling3D", |c| boxed(UpSampling3D::from_config(c))),
        ("ZeroPadding3D", |c| boxed(ZeroPadding3D::from_config(c))),
        ("Cropping3D", |c| boxed(Cropping3D::from_config(c))),
        ("MaxPooling2D", |c| boxed(MaxPooling2D::from_config(c))),
        ("AveragePooling2D", |c| boxed(AveragePooling2D::from_config(c))),
        ("Flatten", |c| boxed(Flatten::from_config(c))),
        ("Dropout", |c| boxed(Dropout::from_config(c))),
        ("SpatialDropout1D", |c| boxed(SpatialDropout1D::from_config(c))),
        ("SpatialDropout2D", |c| boxed(SpatialDropout2D::from_config(c))),
        ("SpatialDropout3D", |c| boxed(SpatialDropout3D::from_config(c))),
        ("GaussianNoise", |c| boxed(GaussianNoise::from_config(c))),
        ("GaussianDropout", |c| boxed(GaussianDropout::from_config(c))),
        ("AlphaDropout", |c| boxed(AlphaDropout::from_config(c))),
        ("ActivityRegularization", |c| boxed(ActivityRegularization::from_config(c))),
        ("Activation", |c| boxed(Activation::from_config(c))),
        ("ReLU", |c| boxed(ReLU::from_config(c))),
        ("LeakyReLU", |c| boxed(LeakyReLU::from_config(c))),
        ("PReLU", |c| boxed(PReLU::from_config(c))),
        ("ELU", |c| boxed(ELU::from_config(c))),
        ("Softmax", |c| boxed(Softmax::from_config(c))),
        ("Reshape", |c| boxed(Reshape::from_config(c))),
        ("Permute", |c| boxed(Permute::from_config(c))),
        ("RepeatVector", |c| boxed(RepeatVector::from_config(c))),
        ("ZeroPadding1D", |c| boxed(ZeroPadding1D::from_config(c))),
        ("ZeroPadding2D", |c| boxed(ZeroPadding2D::from_config(c))),
        ("Cropping1D", |c| boxed(Cropping1D::from_config(c))),
        ("Cropping2D", |c| boxed(Cropping2D::from_config(c))),
        ("UpSampling1D", |c| boxed(UpSampling1D::from_config(c))),
        ("UpSampling2D", |c| boxed(UpSampling2D::from_config(c))),
        ("MaxPooling1D", |c| boxed(MaxPooling1D::from_config(c))),
        ("AveragePooling1D", |c| boxed(AveragePooling1D::from_config(c))),
        ("GlobalMaxPooling1D", |c| boxed(GlobalMaxPooling1D::from_config(c))),
        ("GlobalAveragePooling1D", |c| boxed(GlobalAveragePooling1D::from_config(c))),
        ("GlobalMaxPooling2D", |c| boxed(GlobalMaxPooling2D::from_config(c))),
        ("GlobalAveragePooling2D", |c| boxed(GlobalAveragePooling2D::from_config(c))),
        ("BatchNormalization", |c| boxed(BatchNormalization::from_config(c))),
        ("LayerNormalization", |c| boxed(LayerNormalization::from_config(c))),
        ("GroupNormalization", |c| boxed(GroupNormalization::from_config(c))),
        ("UnitNormalization", |c| boxed(UnitNormalization::from_config(c))),
        ("Identity", |c| boxed(Identity::from_config(c))),
        ("Embedding", |c| boxed(Embedding::from_config(c))),
        ("ReversibleEmbedding", |c| boxed(ReversibleEmbedding::from_config(c))),
        ("Masking", |c| boxed(Masking::from_config(c))),
        ("SimpleRNN", |c| boxed(SimpleRNN::from_config(c))),
        ("LSTM", |c| boxed(LSTM::from_config(c))),
        ("ConvLSTM1D", |c| boxed(ConvLSTM1D::from_config(c))),
        ("ConvLSTM2D", |c| boxed(ConvLSTM2D::from_config(c))),
        ("ConvLSTM3D", |c| boxed(ConvLSTM3D::from_config(c))),
        ("GRU", |c| boxed(GRU::from_config(c))),
        ("RNN", |c| boxed(RNN::from_config(c))),
        ("StackedRNNCells", |c| boxed(StackedRNNCells::from_config(c))),
        ("SimpleRNNCell", |c| boxed(SimpleRNNCell::from_config(c))),
        ("LSTMCell", |c| boxed(LSTMCell::from_config(c))),
        ("GRUCell", |c| boxed(GRUCell::from_config(c))),
        ("Bidirectional", |c| boxed(Bidirectional::from_config(c))),
        ("TimeDistributed", |c| boxed(TimeDistributed::from_config(c))),
        ("Add", |c| boxed(Add::from_config(c))),
        ("Subtract", |c| boxed(Subtract::from_config(c))),
        ("Multiply", |c| boxed(Multiply::from_config(c))),
        ("Average", |c| boxed(Average::from_config(c))),
        ("Maximum", |c| boxed(Maximum::from_config(c))),
        ("Minimum", |c| boxed(Minimum::from_config(c))),
        ("Concatenate", |c| boxed(Concatenate::from_config(c))),
        ("Dot", |c| boxed(Dot::from_config(c))),
        ("EinsumDense", |c| boxed(EinsumDense::from_config(c))),
        ("Attention", |c| boxed(Attention::from_config(c))),
        ("AdditiveAttention", |c| boxed(AdditiveAttention::from_config(c))),
        ("MultiHeadAttention", |c| boxed(MultiHeadAttention::from_config(c))),
        ("GroupQueryAttention", |c| boxed(GroupedQueryAttention::from_config(c))),
        ("StochasticDepth", |c| boxed(StochasticDepth::from_config(c))),
        ("LayerScale", |c| boxed(LayerScale::from_config(c))),
        ("CustomScaleLayer", |c| boxed(CustomScaleLayer::from_config(c))),
    ]
}

/// The class names [`deserialize`] accepts.
pub fn registered_class_names() -> Vec<&'static str> {
    registry().iter().map(|(n, _)| *n).collect()
}

/// Rebuilds a layer from its serialized form (`{"class_name": ..., "config": {...}}`).
pub fn deserialize(v: &Value) -> Result<Box<dyn Layer>> {
    let class = v
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Config(format!("layer config without class_name: {v}")))?;
    let cfg = v.get("config").cloned().unwrap_or(Value::Null);
    if class == "Lambda" {
        keras_bail!(Config, "Refusing to load a Lambda layer: it would execute arbitrary code");
    }
    // A registered user class takes precedence (Keras `_retrieve_class_or_fn`); legacy `.h5`
    // configs name it in `class_name` (`"package>name"`), Keras 3 in `registered_name`.
    let registered = v.get("registered_name").and_then(Value::as_str).unwrap_or(class);
    if let Some(layer) = object_registration::deserialize_registered(registered, &cfg) {
        return layer;
    }
    // Models nest as layers (Keras `Functional` / tf.keras `Model`, `Sequential`).
    if crate::models::functional::is_functional_class(class) {
        return Ok(crate::models::Functional::from_config(&cfg)?.into_layer());
    }
    if class == "Sequential" {
        return Ok(crate::models::Sequential::from_config(&cfg)?.into_layer());
    }
    // Keras 3 configs say where the class lives (`module`, null for registered user
    // classes); legacy ones have no `module`.
    let legacy = v.get("module").is_none();
    let module = v.get("module").and_then(Value::as_str);
    let builtin = legacy || module.is_some_and(|m| m == "keras" || m.starts_with("keras."));
    let class = CLASS_ALIASES.iter().find(|(alias, _)| *alias == class).map_or(class, |(_, name)| *name);
    match registry().iter().find(|(n, _)| *n == class) {
        Some((_, f)) if builtin => {
            // Keras 3 rebuilds with `cls(**config)`: a key the constructor does not take is
            // an error. Legacy configs (Keras 2, tf.keras `.h5`) carry keys Keras 3 dropped
            // (`time_major`, `implementation`); they load as before.
            if !legacy {
                crate::saving::config_keys::check_layer_config_keys(class, &cfg)?;
            }
            f(&cfg)
        }
        _ if !builtin => object_registration::could_not_locate(class, v),
        // A legacy config names a registered class `package>name`.
        _ if legacy && class.contains('>') => object_registration::unknown_legacy_layer(class),
        _ => keras_bail!(
            Config,
            "Unknown layer class '{class}' (keras-rs supports: {})",
            registered_class_names().join(", ")
        ),
    }
}
