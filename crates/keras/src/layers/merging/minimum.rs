//! `Minimum`: the element-wise minimum of a list of inputs.

use crate::layers::merging::base_merge::masked_fold_merge_layer;

masked_fold_merge_layer!(
    Minimum,
    "minimum",
    "Minimum",
    crate::ops::minimum,
    "Keras `keras.layers.Minimum`: the element-wise minimum of a list of tensors. A masked-out \
     entry of one input takes the other inputs' value (Keras's `_apply_merge_op_and_or_mask`)."
);
