//! Automatic names as Keras's `auto_name` gives them: an object made with an explicit name
//! uses up no number (after `Dense(3, name="x")` the next unnamed `Dense` is `dense`), models
//! are `functional`, `functional_1`, ..., and `clear_session` starts again.

use keras::backend::clear_session;
use keras::layers::{Dense, Layer};
use keras::models::{Model, Sequential, SymbolicCall};
use keras::optimizers::{Adam, Optimizer};
use keras::Input;

/// The layer's name (the trait method: `Dense::name(&str)` is the builder).
fn n(l: &Dense) -> &str {
    Layer::name(l)
}

#[test]
fn an_explicit_name_uses_up_no_automatic_number() {
    clear_session();
    let named = Dense::new(3).name("x");
    assert_eq!(n(&named), "x");
    assert_eq!(n(&Dense::new(3)), "dense");
    assert_eq!(n(&Dense::new(3)), "dense_1");
    // Renaming to the base name itself: the next unnamed one is numbered after it, as in Keras.
    assert_eq!(n(&Dense::new(3).name("dense")), "dense");
    assert_eq!(n(&Dense::new(3)), "dense_2");
}

#[test]
fn models_and_optimizers_count_as_keras_does() {
    clear_session();
    let model = || {
        let i = Input::new(&[2]);
        let o = Dense::new(1).apply(&i).unwrap();
        Model::new(&[i], &[o]).unwrap()
    };
    let (m1, m2) = (model(), model());
    assert_eq!((m1.name(), m2.name()), ("functional", "functional_1"));
    let _ = Adam::new().name("x");
    assert_eq!(Optimizer::name(&Adam::new()), "adam");
    let _ = Sequential::new().with_name("s");
    assert_eq!(Sequential::new().name(), "sequential");
}

#[test]
fn a_name_given_back_is_never_handed_out_twice() {
    clear_session();
    let a = Dense::new(3); // dense
    let b = Dense::new(3); // dense_1
                           // `a` renamed after `b` was made: its number is not the last one, so nothing is given back.
    let a = a.name("a");
    let c = Dense::new(3);
    assert_eq!((n(&a), n(&b), n(&c)), ("a", "dense_1", "dense_2"));
}
