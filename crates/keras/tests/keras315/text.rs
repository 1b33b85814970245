//! Legacy text and sequence helpers: the errors they promise (values against tf-keras are in
//! the oracle cases).

use keras::preprocessing::text::{hashing_trick, one_hot, HashFunction, DEFAULT_FILTERS};
use keras::preprocessing::{pad_sequences_nd, skipgrams, PadSequencesArgs, SkipgramsArgs};
use keras::utils::python_random::PyRandom;
use keras::Tensor;

#[test]
fn bad_arguments_are_errors() {
    assert!(hashing_trick("a b", 1, HashFunction::Md5, DEFAULT_FILTERS, true, " ").is_err());
    assert!(one_hot("a b", 0, 0, DEFAULT_FILTERS, true, " ").is_err());
    let a = Tensor::zeros([2, 3]);
    let b = Tensor::zeros([1, 4]);
    let e = pad_sequences_nd(&[a.clone(), b], &PadSequencesArgs::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("Shape of sample [4] of sequence at position 1 is different from expected shape [3]"),
        "{e}"
    );
    assert!(
        pad_sequences_nd(std::slice::from_ref(&a), &PadSequencesArgs::default().padding("middle")).is_err()
    );
    assert!(pad_sequences_nd(&[Tensor::scalar(1.0)], &PadSequencesArgs::default()).is_err());
    let mut rng = PyRandom::new(0);
    let neg = SkipgramsArgs { negative_samples: -1.0, ..Default::default() };
    assert!(skipgrams(&[1, 2], 5, &neg, &mut rng).is_err());
    assert!(skipgrams(&[1, 2], 1, &SkipgramsArgs::default(), &mut rng).is_err());
    let table = SkipgramsArgs { sampling_table: Some(vec![1.0; 2]), ..Default::default() };
    assert!(skipgrams(&[1, 5], 6, &table, &mut rng).is_err());
    // Empty input: no pairs, no draws needed.
    let s = skipgrams(&[0, 0], 5, &SkipgramsArgs::default(), &mut rng).unwrap();
    assert!(s.couples.is_empty() && s.labels.is_empty());
}
