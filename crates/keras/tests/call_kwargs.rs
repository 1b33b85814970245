//! The per-call keyword arguments of the `Layer` trait (Keras node `"kwargs"`), as a graph
//! runtime or a user would drive them from outside the crate.

use keras::layers::{CallContext, CallKwargs, Dense, Dropout, Layer};
use keras::Tensor;
use serde_json::json;

#[test]
fn unknown_keyword_arguments_are_refused_with_pythons_message() {
    let mut d = Dense::new(2);
    d.build(&[None, Some(3)]).unwrap();
    let x = Tensor::ones([1, 3]);
    let kw: CallKwargs = CallKwargs::new().with_value("return_attention_scores", json!(true));
    let err =
        d.call_with_kwargs(std::slice::from_ref(&x), &[None], &kw, &mut CallContext::new(false)).unwrap_err();
    assert_eq!(err.message(), "Dense.call() got an unexpected keyword argument 'return_attention_scores'");
    let shape_err = d.compute_output_shapes_with_kwargs(&[vec![None, Some(3)]], &kw.shapes()).unwrap_err();
    assert_eq!(shape_err, err);
    assert_eq!(d.build_with_kwargs(&[vec![None, Some(3)]], &kw.shapes()).unwrap_err(), err);
    assert_eq!(d.compute_masks_with_kwargs(std::slice::from_ref(&x), &[None], &kw).unwrap_err(), err);
    // `training` and `mask` (null: filled from the inputs) are accepted by every layer.
    let kw: CallKwargs =
        CallKwargs::new().with_value("training", json!(false)).with_value("mask", json!(null));
    let out =
        d.call_with_kwargs(std::slice::from_ref(&x), &[None], &kw, &mut CallContext::new(false)).unwrap();
    assert_eq!(out[0].shape(), &[1, 2]);
    assert_eq!(
        d.compute_output_shapes_with_kwargs(&[vec![None, Some(3)]], &kw.shapes()).unwrap(),
        vec![vec![None, Some(2)]]
    );
}

#[test]
fn explicit_training_overrides_the_outer_mode() {
    keras::utils::set_random_seed(3);
    let drop = Dropout::new(0.5);
    let x = Tensor::ones([4, 64]);
    let dropped = |v: &[f32]| v.iter().filter(|&&e| e == 0.0).count();
    // Outer mode training, node says training=False: identity.
    let kw: CallKwargs = CallKwargs::new().with_value("training", json!(false));
    let mut ctx = CallContext::new(true);
    let y = drop.call_with_kwargs(std::slice::from_ref(&x), &[None], &kw, &mut ctx).unwrap();
    assert_eq!(dropped(&y[0].to_f32_vec()), 0);
    assert!(ctx.training, "the outer mode is restored");
    // Outer mode inference, node says training=True: dropout runs.
    let kw: CallKwargs = CallKwargs::new().with_value("training", json!(true));
    let mut ctx = CallContext::new(false);
    let y = drop.call_with_kwargs(std::slice::from_ref(&x), &[None], &kw, &mut ctx).unwrap();
    let n = dropped(&y[0].to_f32_vec());
    assert!(n > 64 && n < 192, "{n} of 256 dropped");
    assert!(!ctx.training);
    // A non-boolean training value is an error, not a silent default.
    let kw: CallKwargs = CallKwargs::new().with_value("training", json!("yes"));
    let e = drop.call_with_kwargs(&[x], &[None], &kw, &mut CallContext::new(false)).unwrap_err();
    assert_eq!(
        e.message(),
        "Dropout.call(): argument `training` should be a boolean. Received: training=\"yes\""
    );
}

#[test]
fn explicit_mask_replaces_the_input_mask() {
    let drop = Dropout::new(0.1);
    let x = Tensor::ones([2, 3]);
    let carried = Tensor::new(vec![1.0, 1.0, 0.0, 1.0, 0.0, 0.0], [2, 3]).unwrap();
    let given = Tensor::new(vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], [2, 3]).unwrap();
    let kw = CallKwargs::new().with_tensor("mask", given.clone());
    let masks =
        drop.compute_masks_with_kwargs(std::slice::from_ref(&x), &[Some(carried.clone())], &kw).unwrap();
    assert_eq!(masks[0].as_ref().unwrap().to_f32_vec(), given.to_f32_vec());
    let none: CallKwargs = CallKwargs::new();
    let masks = drop.compute_masks_with_kwargs(&[x], &[Some(carried.clone())], &none).unwrap();
    assert_eq!(masks[0].as_ref().unwrap().to_f32_vec(), carried.to_f32_vec());
}
