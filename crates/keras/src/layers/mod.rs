//! Keras layers, laid out as `keras/src/layers`: core, convolutional, pooling,
//! normalization, regularization, reshaping, activations, merging, attention.
//!
//! Every layer implements [`Layer`]; [`deserialize`] rebuilds one from Keras's JSON by class
//! name (the registry). Loading never executes code: unknown classes (and `Lambda`) are refused.

pub mod activations;
pub mod application_layers;
pub mod attention;
mod builders;
pub mod call_kwargs;
pub mod convolutional;
pub mod core;
pub mod layer;
pub mod merging;
pub mod normalization;
pub mod pooling;
pub mod preprocessing;
pub mod regularization;
pub mod reshaping;
pub mod rnn;

pub use self::activations::Activation;
pub use self::activations::{LeakyReLU, PReLU, ReLU, Softmax, ELU};
pub use self::core::{input, Dense, InputLayer};
/// `keras.Input`: an [`InputLayer`] declaring the input shape (without batch).
pub type Input = InputLayer;
pub use self::core::{EinsumDense, Embedding, Masking};
pub use application_layers::{CustomScaleLayer, LayerScale, StochasticDepth};
pub use attention::{AdditiveAttention, Attention, MultiHeadAttention};
pub use call_kwargs::{CallKwargs, ShapeKwargs, TensorArg};
pub use convolutional::Conv2D;
pub use convolutional::{Conv1D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D};
pub use layer::{CallContext, Layer, LayerBase, Shape, Variable};
pub use merging::{Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract};
pub use normalization::{BatchNormalization, LayerNormalization};
pub use pooling::{
    AveragePooling1D, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
    MaxPooling1D,
};
pub use pooling::{AveragePooling2D, MaxPooling2D};
pub use preprocessing::Rescaling;
pub use preprocessing::TextVectorization;
pub use preprocessing::{
    CenterCrop, Normalization, RandomBrightness, RandomContrast, RandomCrop, RandomFlip, RandomRotation,
    RandomTranslation, RandomZoom, Resizing,
};
pub use regularization::Dropout;
pub use regularization::{
    ActivityRegularization, AlphaDropout, GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D,
    SpatialDropout3D,
};
pub use reshaping::Flatten;
pub use reshaping::{
    Cropping1D, Cropping2D, Permute, RepeatVector, Reshape, UpSampling1D, UpSampling2D, ZeroPadding1D,
    ZeroPadding2D,
};
pub use rnn::{Bidirectional, SimpleRNN, TimeDistributed, GRU, LSTM};

use serde_json::Value;

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
        ("TextVectorization", |c| boxed(TextVectorization::from_config(c))),
        ("Dense", |c| boxed(Dense::from_config(c))),
        ("Conv2D", |c| boxed(Conv2D::from_config(c))),
        ("Conv1D", |c| boxed(Conv1D::from_config(c))),
        ("Conv2DTranspose", |c| boxed(Conv2DTranspose::from_config(c))),
        ("DepthwiseConv2D", |c| boxed(DepthwiseConv2D::from_config(c))),
        ("SeparableConv2D", |c| boxed(SeparableConv2D::from_config(c))),
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
        ("Embedding", |c| boxed(Embedding::from_config(c))),
        ("Masking", |c| boxed(Masking::from_config(c))),
        ("SimpleRNN", |c| boxed(SimpleRNN::from_config(c))),
        ("LSTM", |c| boxed(LSTM::from_config(c))),
        ("GRU", |c| boxed(GRU::from_config(c))),
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
    let Some((_, f)) = registry().iter().find(|(n, _)| *n == class) else {
        keras_bail!(
            Config,
            "Unknown layer class '{class}' (keras-rs supports: {})",
            registered_class_names().join(", ")
        );
    };
    f(&cfg)
}
