//! Bad input gives a `keras::Error` naming the layer or argument and the expected and
//! received values, never a panic (issue: engine and Sequential workflow, "Bad input").

use keras::layers::{Conv2D, Dense, Dropout, Input, MaxPooling2D};
use keras::models::Sequential;
use keras::{Error, EvaluateArgs, FitArgs, PredictArgs, Tensor};

fn mlp(loss: &str) -> Sequential {
    keras::backend::clear_session();
    let mut m = Sequential::new();
    m.add(Input::new(&[4])).unwrap();
    m.add(Dense::new(3).activation("softmax")).unwrap();
    m.compile("sgd", loss, &["accuracy"]).unwrap();
    m
}

fn quiet() -> FitArgs<'static> {
    FitArgs::default().verbose(0)
}

fn msg(e: Error) -> String {
    e.message().to_string()
}

#[test]
fn input_shape_that_does_not_fit_the_model() {
    let mut m = mlp("categorical_crossentropy");
    let x = Tensor::zeros([8, 5]);
    let y = Tensor::zeros([8, 3]);
    let e = m.fit(&x, &y, quiet()).unwrap_err();
    assert!(matches!(e, Error::Shape(_)), "{e:?}");
    let s = msg(e);
    assert!(s.contains("sequential") && s.contains("(None, 4)") && s.contains("(8, 5)"), "{s}");
    let e = m.predict(Tensor::zeros([2, 4, 1]), PredictArgs::default().verbose(0)).unwrap_err();
    assert!(msg(e).contains("expected shape=(None, 4)"));
}

#[test]
fn sparse_labels_out_of_range() {
    let mut m = mlp("sparse_categorical_crossentropy");
    let x = Tensor::zeros([4, 4]);
    let y = Tensor::from_i32(vec![0, 1, 2, 7], [4]).unwrap();
    let e = m.fit(&x, &y, quiet()).unwrap_err();
    assert!(matches!(e, Error::Value(_)), "{e:?}");
    let s = msg(e);
    assert!(s.contains('7') && s.contains('3'), "{s}");
    let neg = Tensor::from_i32(vec![0, -1, 2, 1], [4]).unwrap();
    assert!(m.evaluate(&x, &neg, EvaluateArgs::default().verbose(0)).is_err());
}

#[test]
fn one_hot_labels_of_the_wrong_width() {
    let mut m = mlp("categorical_crossentropy");
    let e = m.fit(Tensor::zeros([4, 4]), Tensor::zeros([4, 5]), quiet()).unwrap_err();
    assert!(matches!(e, Error::Shape(_)), "{e:?}");
    let s = msg(e);
    assert!(s.contains('5') && s.contains('3'), "{s}");
}

#[test]
fn x_and_y_of_different_lengths() {
    let mut m = mlp("categorical_crossentropy");
    let e = m.fit(Tensor::zeros([10, 4]), Tensor::zeros([9, 3]), quiet()).unwrap_err();
    assert!(matches!(e, Error::Value(_)));
    let s = msg(e);
    assert!(s.contains("'x' sizes: 10") && s.contains("'y' sizes: 9"), "{s}");
    let w = Tensor::ones([3]);
    let e = m.fit(Tensor::zeros([10, 4]), Tensor::zeros([10, 3]), quiet().sample_weight(&w)).unwrap_err();
    assert!(msg(e).contains("'sample_weight' sizes: 3"));
}

#[test]
fn empty_data() {
    let mut m = mlp("categorical_crossentropy");
    let e = m.fit(Tensor::zeros([0, 4]), Tensor::zeros([0, 3]), quiet()).unwrap_err();
    assert!(msg(e).contains("non-empty"));
    assert!(m.predict(Tensor::zeros([0, 4]), PredictArgs::default()).is_err());
}

#[test]
fn batch_size_zero() {
    let mut m = mlp("categorical_crossentropy");
    let x = Tensor::zeros([4, 4]);
    let y = Tensor::zeros([4, 3]);
    let e = m.fit(&x, &y, quiet().batch_size(0)).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)));
    assert!(msg(e).contains("batch_size=0"));
    assert!(m.evaluate(&x, &y, EvaluateArgs::default().batch_size(0)).is_err());
    assert!(m.predict(&x, PredictArgs::default().batch_size(0)).is_err());
}

#[test]
fn invalid_layer_arguments() {
    let mut m = Sequential::new();
    let e = m.add(Dense::new(0)).unwrap_err();
    assert!(msg(e).contains("units=0"));
    let e = m.add(Dense::new(3).activation("nope")).unwrap_err();
    assert!(msg(e).contains("nope"));
    let e = m.add(Dropout::new(1.5)).unwrap_err();
    assert!(msg(e).contains("rate=1.5"));
    let e = m.add(Conv2D::new(0, [3, 3])).unwrap_err();
    assert!(msg(e).contains("filters=0"));
    let e = m.add(Conv2D::new(4, [3, 3]).padding("full")).unwrap_err();
    assert!(msg(e).contains("padding=full"));
    let e = m.add(Conv2D::new(4, [3, 3]).strides([2, 2]).dilation_rate([2, 2])).unwrap_err();
    assert!(msg(e).contains("dilation_rate"));
}

#[test]
fn pool_or_kernel_larger_than_input() {
    let mut m = Sequential::new();
    m.add(Input::new(&[2, 2, 3])).unwrap();
    let e = m.add(MaxPooling2D::new([3, 3])).unwrap_err();
    assert!(matches!(e, Error::Shape(_)));
    let s = msg(e);
    assert!(s.contains("max_pooling2d") && s.contains("(None, 2, 2, 3)") && s.contains("[3, 3]"), "{s}");
    let e = m.add(Conv2D::new(8, [3, 3])).unwrap_err();
    assert!(msg(e).contains("negative"));
    // The failed layers were not kept: a valid one still fits.
    m.add(Conv2D::new(8, [2, 2])).unwrap();
    assert_eq!(m.layers().len(), 1);
}

#[test]
fn wrong_rank_for_conv2d() {
    let mut m = Sequential::new();
    m.add(Input::new(&[8, 3])).unwrap();
    let e = m.add(Conv2D::new(4, [3, 3])).unwrap_err();
    assert!(msg(e).contains("expected ndim=4"));
}

#[test]
fn fit_before_compile_and_unknown_names() {
    let mut m = Sequential::new();
    m.add(Input::new(&[4])).unwrap();
    m.add(Dense::new(2)).unwrap();
    let e = m.fit(Tensor::zeros([2, 4]), Tensor::zeros([2, 2]), quiet()).unwrap_err();
    assert!(matches!(e, Error::State(_)));
    assert!(m.compile("adamm", "mse", &[]).is_err());
    assert!(m.compile("adam", "msee", &[]).is_err());
    assert!(m.compile("adam", "mse", &["accurracy"]).is_err());
}

#[test]
fn set_weights_with_wrong_count_or_shape() {
    let mut m = mlp("mse");
    let e = m.set_weights(&[Tensor::zeros([4, 3])]).unwrap_err();
    assert!(msg(e).contains("expecting 2 weights"));
    let s = msg(m.set_weights(&[Tensor::zeros([4, 2]), Tensor::zeros([3])]).unwrap_err());
    assert!(s.contains("[4, 3]") && s.contains("[4, 2]"), "{s}");
}

#[test]
fn invalid_validation_split() {
    let mut m = mlp("categorical_crossentropy");
    let x = Tensor::zeros([4, 4]);
    let y = Tensor::zeros([4, 3]);
    assert!(m.fit(&x, &y, quiet().validation_split(1.5)).is_err());
    let one = (Tensor::zeros([1, 4]), Tensor::zeros([1, 3]));
    let s = msg(m.fit(&one.0, &one.1, quiet().validation_split(0.5)).unwrap_err());
    assert!(s.contains("not sufficient") && s.contains("validation_split=0.5"), "{s}");
}
