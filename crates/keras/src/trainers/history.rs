//! `History`: what `fit` returns.

use std::collections::BTreeMap;

/// Metric name -> value, as Keras's `logs` dict (sorted by name, as Keras displays them).
pub type Logs = BTreeMap<String, f32>;

/// Per-epoch training history (Keras `History`): `history["loss"][e]` is the value reported
/// for epoch `epoch[e]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Epoch indices (0-based, starting at `initial_epoch`).
    pub epoch: Vec<usize>,
    /// Metric name -> one value per epoch.
    pub history: BTreeMap<String, Vec<f32>>,
}

impl History {
    /// Appends one epoch's logs.
    pub fn record(&mut self, epoch: usize, logs: &Logs) {
        self.epoch.push(epoch);
        for (k, v) in logs {
            self.history.entry(k.clone()).or_default().push(*v);
        }
    }

    /// The values of one metric (`None` when it was never logged).
    pub fn get(&self, key: &str) -> Option<&[f32]> {
        self.history.get(key).map(Vec::as_slice)
    }
}

impl std::fmt::Display for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (k, vs) in &self.history {
            let vals: Vec<String> = vs.iter().map(|v| format!("{v:.4}")).collect();
            writeln!(f, "{k}: [{}]", vals.join(", "))?;
        }
        Ok(())
    }
}
