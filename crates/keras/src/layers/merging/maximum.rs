//! `Maximum`: the element-wise maximum of a list of inputs.

use crate::layers::merging::base_merge::masked_fold_merge_layer;

masked_fold_merge_layer!(
    Maximum,
    "maximum",
    "Maximum",
    crate::ops::maximum,
    "Keras `keras.layers.Maximum`: the element-wise maximum of a list of tensors. A masked-out \
     entry of one input takes the other inputs' value (Keras's `_apply_merge_op_and_or_mask`)."
);
