//! Parameter types of [`crate::ops::fused`], shared by the CUDA backend.

/// Which fused per-row loss to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowLoss {
    /// Categorical crossentropy of logits: `-sum(t * log_softmax(x))`.
    SoftmaxXent,
    /// Categorical crossentropy of probabilities (renormalised, clipped to `[eps, 1-eps]`).
    ProbXent,
    /// Binary crossentropy of logits, averaged over the row.
    BceLogits,
    /// Binary crossentropy of probabilities (clipped), averaged over the row.
    BceProbs,
}

/// Hyper-parameters of a fused optimizer update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FusedRule {
    /// Adam / AdamW; a third slot turns on AMSGrad.
    Adam {
        /// `beta_1`.
        beta_1: f32,
        /// `beta_2`.
        beta_2: f32,
        /// `epsilon`.
        epsilon: f32,
    },
    /// SGD with optional momentum (one slot when momentum is used).
    Sgd {
        /// Momentum (0 for plain SGD).
        momentum: f32,
        /// Nesterov momentum.
        nesterov: bool,
    },
}
