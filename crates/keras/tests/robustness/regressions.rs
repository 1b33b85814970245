//! The four panics named in issue 15, each reached from the public API.

use keras::layers::{Conv2D, Dense, Layer, MaxPooling2D};
use keras::models::Sequential;
use keras::utils::{to_categorical, Batch, Sequence};
use keras::{Error, FitArgs, PredictArgs, Tensor};

/// Batches of 0-d tensors.
struct Scalars;

impl Sequence for Scalars {
    fn len(&self) -> usize {
        2
    }
    fn get_batch(&self, _: usize) -> keras::Result<Batch> {
        Ok(Batch::new(Tensor::scalar(1.0), Tensor::scalar(0.0)))
    }
}

fn unbuilt() -> Sequential {
    let mut m = Sequential::new();
    m.add(Dense::new(2)).unwrap();
    m.compile("sgd", "mse", &[]).unwrap();
    m
}

/// An unbuilt Sequential fed a 0-d `x` through a Sequence sliced `x.shape()[1..]`.
#[test]
fn unbuilt_sequential_fed_a_scalar_through_a_sequence() {
    // The batch check of the data adapters ("'x' must have a batch dimension, received a
    // scalar") or the model's own ("... found a scalar"), whichever sees it first.
    let e = unbuilt().fit_sequence(&mut Scalars, FitArgs::default().verbose(0)).unwrap_err();
    assert!(e.to_string().contains("scalar"), "{e}");
    let e = unbuilt().predict_sequence(&mut Scalars, PredictArgs::default().verbose(0)).unwrap_err();
    assert!(e.to_string().contains("scalar"), "{e}");
    let e = unbuilt().predict(Tensor::scalar(1.0), PredictArgs::default().verbose(0)).unwrap_err();
    assert!(!e.to_string().is_empty());
}

/// `summary_string` with a width too small for the columns: Keras's ValueError, not an assert.
#[test]
fn summary_with_a_small_width_is_an_error() {
    let mut m = Sequential::new();
    m.add(keras::layers::Input::new(&[3])).unwrap();
    m.add(Dense::new(2)).unwrap();
    for width in [0, 1, 5, 8] {
        let e = m.summary_string(Some(width), false).unwrap_err();
        assert!(matches!(e, Error::Value(_)), "{e:?}");
        assert_eq!(e.message(), "Insufficient console width to print summary.");
        assert!(m.summary_string(Some(width), true).is_err());
    }
    // 16 is the smallest width whose 3 columns (0.45, 0.80, 1.0 of it) are 4 wide or more.
    assert!(m.summary_string(Some(15), false).is_err());
    assert!(m.summary_string(Some(16), false).is_ok());
    assert!(m.summary_string(None, false).unwrap().contains("dense (Dense)"));
}

/// `to_categorical` with a huge class id or `num_classes`: errors, no capacity overflow or
/// allocation abort. Under the binary's tensor limit, a one-hot matrix of 2 x (2^40 + 1)
/// floats is refused by the size check; without a limit it would be up to the allocator.
#[test]
fn to_categorical_with_huge_classes_is_an_error() {
    super::lower_tensor_limit();
    let ids = Tensor::from_i64(vec![0, 1 << 40], [2]).unwrap();
    let e = to_categorical(&ids, None).unwrap_err();
    assert!(e.to_string().contains("too large"), "{e}");
    let ids = Tensor::from_i64(vec![0, i64::MAX], [2]).unwrap();
    assert!(to_categorical(&ids, None).unwrap_err().to_string().contains("too large"));
    let small = Tensor::from_i32(vec![0, 2, 1], [3]).unwrap();
    assert!(to_categorical(&small, Some(usize::MAX)).unwrap_err().to_string().contains("too large"));
    assert!(to_categorical(&small, Some(1 << 62)).is_err());
    assert!(to_categorical(&small, Some(1)).unwrap_err().to_string().contains("out of range"));
    // Still right for sane input.
    let y = to_categorical(&small, Some(4)).unwrap();
    assert_eq!(y.shape(), &[3, 4]);
    assert_eq!(y.to_f32_vec(), vec![1., 0., 0., 0., 0., 0., 1., 0., 0., 1., 0., 0.]);
}

/// A builder error reaching `Layer::build` (or `compute_output_shape`) directly, not through
/// `Sequential::add`: `Conv2D::new(8, [0, 3])` underflowed `k - 1`.
#[test]
fn builder_errors_stop_a_direct_build() {
    let shape = [None, Some(6), Some(6), Some(2)];
    let mut conv = Conv2D::new(8, [0, 3]);
    assert!(conv.compute_output_shape(&shape).is_err());
    let e = conv.build(&shape).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert!(e.to_string().contains("kernel_size=[0, 3]"), "{e}");
    assert!(!conv.built());

    let mut pool = MaxPooling2D::new([2, 2]).strides([0, 1]);
    assert!(pool.compute_output_shape(&shape).is_err());
    assert!(pool.build(&shape).unwrap_err().to_string().contains("strides=[0, 1]"));
    let mut ctx = keras::layers::CallContext::new(false);
    assert!(pool.call(&Tensor::zeros([1, 6, 6, 2]), &mut ctx).is_err());

    let mut dense = Dense::new(0);
    let e = dense.build(&[None, Some(3)]).unwrap_err();
    assert!(e.to_string().contains("units"), "{e}");
    let mut conv = Conv2D::new(2, [3, 3]).dilation_rate([0, 1]);
    assert!(conv.build(&shape).is_err());
}

/// Found by the layer build/call property (random inputs): RandomContrast in training on
/// images with no channels split them into chunks of 0 values and panicked.
#[test]
fn random_contrast_on_images_without_channels() {
    let layer = keras::layers::deserialize(&serde_json::json!({
        "class_name": "RandomContrast", "config": {"factor": 0.5}
    }))
    .unwrap();
    for shape in [[2, 1, 3, 0], [2, 0, 3, 1]] {
        let x = Tensor::zeros(shape);
        let y = layer.call(&x, &mut keras::layers::CallContext::new(true)).unwrap();
        assert_eq!(y.shape(), &shape);
    }
}
