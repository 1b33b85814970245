//! Bad graphs and bad files give Keras-like errors, never a panic, and leave nothing half
//! built: a failed `Model::new` takes no layer, a failed load returns no model, a failed
//! `load_weights` changes no weight.

// `&[x.clone()]` reads as "the list of inputs" in these tests.
#![allow(clippy::cloned_ref_to_slice_refs)]

use keras::layers::{Conv2D, Dense};
use keras::models::{Functional, Model, SharedLayer, SymbolicCall};
use keras::{Input, Tensor};

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/functional_errors").join(name)
}

#[test]
fn an_output_that_does_not_depend_on_an_input_is_refused() {
    let (a, b) = (Input::named(&[3], "used"), Input::named(&[3], "unused"));
    let y = Dense::new(1).apply(&a).unwrap();
    let err = Model::new(&[a.clone(), b], &[y.clone()]).unwrap_err();
    assert!(
        err.to_string().contains("Input \"unused\" of the model is not connected to any output"),
        "{err}"
    );
    // Nothing was taken: the same tensors still make a valid model.
    let m = Model::new(&[a], &[y]).unwrap();
    assert_eq!(m.count_params(), 4);
}

#[test]
fn a_disconnected_graph_is_refused() {
    let (a, b) = (Input::named(&[3], "a"), Input::named(&[3], "b"));
    let ha = Dense::new(2).apply(&a).unwrap();
    let hb = Dense::new(2).name("from_b").apply(&b).unwrap();
    // Outputs that need `b`, with only `a` given.
    let err = Model::new(&[a], &[ha, hb]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("Graph disconnected: cannot find parent for tensor"), "{msg}");
    assert!(msg.contains("from_b"), "{msg}");
}

#[test]
fn duplicate_layer_names_are_refused() {
    let x = Input::new(&[4]);
    let h = Dense::new(3).name("same").apply(&x).unwrap();
    let y = Dense::new(2).name("same").apply(&h).unwrap();
    let err = Model::new(&[x], &[y]).unwrap_err();
    assert!(
        err.to_string().contains(
            "The name \"same\" is used 2 times in the model. All operation names should be unique."
        ),
        "{err}"
    );
}

#[test]
fn a_layer_called_on_incompatible_shapes_is_refused() {
    let shared = SharedLayer::new(Dense::new(2).name("shared"));
    shared.apply(&Input::new(&[4])).unwrap();
    let err = shared.apply(&Input::new(&[5])).unwrap_err();
    assert!(
        err.to_string().contains(
            "Input 0 of layer \"shared\" is incompatible with the layer: expected axis -1 of input shape to have value 4, but received input with shape (None, 5)"
        ),
        "{err}"
    );
    // A rank the layer cannot take.
    assert!(Conv2D::new(2, [3, 3]).apply(&Input::new(&[4])).is_err());
    // Arrays that do not fit the model at predict time.
    let x = Input::new(&[4]);
    let m = Model::new(&[x.clone()], &[Dense::new(1).apply(&x).unwrap()]).unwrap();
    let err = m.predict_on_batch(&[Tensor::zeros(vec![2, 5])]).unwrap_err();
    assert!(err.to_string().contains("expected shape=(None, 4), found shape=(2, 5)"), "{err}");
    let err = m.predict_on_batch(&[Tensor::zeros(vec![2, 4]), Tensor::zeros(vec![2, 4])]).unwrap_err();
    assert!(err.to_string().contains("expects 1 input(s), but it received 2 input tensors"), "{err}");
}

#[test]
fn a_layer_moved_into_a_model_cannot_be_called_again() {
    let x = Input::new(&[2]);
    let shared = SharedLayer::new(Dense::new(2).name("owned"));
    let y = shared.apply(&x).unwrap();
    let _m = Model::new(&[x], &[y]).unwrap();
    let err = shared.apply(&Input::new(&[2])).unwrap_err();
    assert!(err.to_string().contains("already belongs to a model"), "{err}");
}

#[test]
fn unknown_and_unregistered_classes_in_files_are_refused() {
    for file in ["custom_layer.keras", "custom_layer.h5"] {
        let err = Functional::load(fixture(file)).unwrap_err();
        assert!(err.to_string().contains("Scale'"), "{file}: {err}");
    }
    let err = Functional::load(fixture("subclassed.keras")).unwrap_err();
    assert!(err.to_string().contains("Could not locate class 'Tower'"), "{err}");
    // A truncated file is an error, not a panic.
    let bytes = std::fs::read(fixture("custom_layer.keras")).unwrap();
    for cut in [10, bytes.len() / 2, bytes.len() - 7] {
        assert!(keras::saving::functional::load_functional_from_keras_bytes(&bytes[..cut]).is_err());
    }
    let bytes = std::fs::read(fixture("custom_layer.h5")).unwrap();
    assert!(keras::saving::functional::load_functional_from_h5_bytes(&bytes[..bytes.len() / 2]).is_err());
}

#[test]
fn a_failed_load_weights_changes_nothing() {
    let dir = std::env::temp_dir().join(format!("keras_rs_functional_errors_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let x = Input::new(&[3]);
    let h = Dense::new(4).name("a").apply(&x).unwrap();
    let other = Model::new(&[x], &[Dense::new(2).name("b").apply(&h).unwrap()]).unwrap();
    let p = dir.join("other.weights.h5");
    other.save_weights(&p).unwrap();
    let x = Input::new(&[3]);
    let h = Dense::new(4).name("a").apply(&x).unwrap();
    let mut model = Model::new(&[x], &[Dense::new(5).name("b").apply(&h).unwrap()]).unwrap();
    let before = model.get_weights();
    let err = model.load_weights(&p).unwrap_err();
    assert!(err.to_string().contains("could not be loaded"), "{err}");
    let after = model.get_weights();
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b.to_f32_vec(), a.to_f32_vec());
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Keras's Embedding has no input spec: one shared table embeds sequences of different lengths
/// (and ranks), where a kernel layer refuses a new last axis (above).
#[test]
fn a_shared_embedding_takes_sequences_of_different_lengths() {
    use keras::layers::{Concatenate, Embedding, GlobalAveragePooling1D};
    let shared = SharedLayer::new(Embedding::new(10, 3));
    let (q, a) = (Input::new(&[5]), Input::new(&[7]));
    let pooled: Vec<_> = [&q, &a]
        .into_iter()
        .map(|x| GlobalAveragePooling1D::new().apply(&shared.apply(x).unwrap()).unwrap())
        .collect();
    let out = Concatenate::new().apply_list(&pooled.iter().collect::<Vec<_>>()).unwrap();
    let m = Model::new(&[q, a], &[out]).unwrap();
    let ids = |n: usize| Tensor::from_i32((0..2 * n as i32).map(|v| v % 10).collect(), [2, n]).unwrap();
    let y = m.predict_on_batch(&[ids(5), ids(7)]).unwrap();
    assert_eq!(y[0].shape(), &[2, 6]);
}
