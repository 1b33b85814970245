//! Optimizer state written by tf.keras 2 (`optimizer_weights` in a legacy `.h5` file), mapped
//! onto the Keras 3 optimizer by variable name.
//!
//! tf.keras names its slots `Adam/m/dense/kernel:0` (optimizers of tf.keras 2.11+) or
//! `Adam/dense/kernel/m:0` (the legacy ones), and its state does not line up with Keras 3's
//! one to one: Nadam keeps no `u_product`, SGD keeps momentum slots even at `momentum=0`,
//! legacy Nadam keeps a `momentum_cache`. Keras 3 itself gives up on such files and starts
//! from a fresh optimizer. keras-rs restores every variable that maps, recomputes Nadam's
//! `u_product` from the iteration count (it is a function of it), and reports exactly what
//! was dropped and what starts fresh.

use crate::{Result, Tensor};

/// The outcome of a mapping: values for every current optimizer variable, in order.
pub(crate) struct Mapped {
    /// One value per current variable (restored, recomputed, or the current value).
    pub values: Vec<Tensor>,
    /// What the user should be told, when anything was not restored as saved.
    pub report: Option<String>,
}

/// Slot names tf.keras 2.11+ optimizers use (`Opt/<slot>/<variable path>`).
const NEW_SLOTS: &[&str] = &[
    "m",
    "v",
    "vhat",
    "u",
    "velocity",
    "momentum",
    "average_gradient",
    "accumulator",
    "accumulated_grad",
    "accumulated_delta_var",
    "linear",
    "r",
    "c",
];

/// Slot names legacy tf.keras optimizers use (`Opt/<variable path>/<slot>`).
const LEGACY_SLOTS: &[&str] =
    &["m", "v", "vhat", "momentum", "rms", "mom", "mg", "accumulator", "accum_grad", "accum_var", "linear"];

/// What one saved name holds.
#[derive(Debug, PartialEq)]
enum Saved {
    Iteration,
    Slot { slot: String, var: String },
    Other,
}

fn parse(name: &str) -> Saved {
    let name = name.strip_suffix(":0").unwrap_or(name);
    let parts: Vec<&str> = name.split('/').collect();
    let last = parts.last().copied().unwrap_or("");
    if matches!(last, "iter" | "iteration") && parts.len() <= 2 {
        return Saved::Iteration;
    }
    if parts.len() >= 3 && NEW_SLOTS.contains(&parts[1]) {
        return Saved::Slot { slot: parts[1].to_string(), var: parts[2..].join("/") };
    }
    if parts.len() >= 3 && LEGACY_SLOTS.contains(&last) {
        return Saved::Slot { slot: last.to_string(), var: parts[1..parts.len() - 1].join("/") };
    }
    Saved::Other
}

/// The Keras 3 slot suffix of a tf.keras slot name, for an optimizer class.
fn keras3_slot(class: &str, slot: &str) -> Option<&'static str> {
    Some(match (class, slot) {
        ("Adamax", "m") => "momentum",
        ("Adamax", "u" | "v") => "norm",
        (_, "m" | "mom" | "momentum") => "momentum",
        (_, "v" | "rms" | "velocity") => "velocity",
        (_, "vhat") => "velocity_hat",
        (_, "mg" | "average_gradient") => "average_gradient",
        (_, "accumulator") => "accumulator",
        (_, "accum_grad" | "accumulated_grad") => "accumulated_grad",
        (_, "accum_var" | "accumulated_delta_var") => "accumulated_delta_var",
        (_, "linear") => "linear",
        _ => return None,
    })
}

/// Whether the Keras 3 variable `current` (`adam/dense_kernel_momentum`, possibly with a
/// model-name prefix) is slot `slot` of the variable at `var_path` (`dense/kernel`).
fn is_slot_of(current: &str, var_path: &str, slot: &str) -> bool {
    let rest = current.split_once('/').map_or(current, |(_, r)| r);
    let want = format!("{}_{slot}", var_path.replace('/', "_"));
    rest == want || rest.ends_with(&format!("_{want}"))
}

/// Keras 3 Nadam's `u_product` after `iterations` steps: `prod_t beta_1 * (1 - 0.5 * 0.96^t)`,
/// accumulated in float32 as the optimizer does step by step.
pub(crate) fn nadam_u_product(beta_1: f32, iterations: u64) -> f32 {
    let mut u = 1.0f32;
    for t in 1..=iterations {
        let next = u * beta_1 * (1.0 - 0.5 * 0.96f32.powf(t as f32));
        // Once 0.96^t rounds to 0 the factor is constant; when the product stops changing
        // (0, or stuck at the smallest subnormal) more steps give the same value.
        if next == u && 0.96f32.powf(t as f32) == 0.0 {
            break;
        }
        u = next;
    }
    u
}

/// Maps `saved` (`(name, value)` in file order) onto `current` (the built optimizer's
/// variables, Keras order). `None` when the file has no tf.keras-style name at all.
pub(crate) fn map_state(
    class: &str,
    beta_1: Option<f64>,
    current: &[(String, Tensor)],
    saved: &[(String, Tensor)],
) -> Result<Option<Mapped>> {
    let parsed: Vec<Saved> = saved.iter().map(|(n, _)| parse(n)).collect();
    if !parsed.iter().any(|p| matches!(p, Saved::Slot { .. } | Saved::Iteration)) {
        return Ok(None);
    }
    let mut used = vec![false; saved.len()];
    let mut values = Vec::with_capacity(current.len());
    let mut fresh: Vec<String> = Vec::new();
    let mut recomputed: Vec<String> = Vec::new();
    let mut iterations: u64 = 0;
    for (name, cur) in current {
        if name.ends_with("/iteration") {
            let found = parsed.iter().position(|p| *p == Saved::Iteration);
            match found.map(|i| (i, &saved[i].1)) {
                Some((i, v)) if v.numel() == 1 => {
                    used[i] = true;
                    let it = v.to_i64_vec()[0].max(0);
                    iterations = it as u64;
                    values.push(Tensor::from_i64(vec![it], cur.shape().to_vec())?);
                }
                _ => {
                    fresh.push(name.clone());
                    values.push(cur.clone());
                }
            }
            continue;
        }
        if name.ends_with("/learning_rate") {
            // tf.keras keeps the learning rate in the config, which was read already.
            values.push(cur.clone());
            continue;
        }
        let hit = parsed.iter().enumerate().position(|(i, p)| match p {
            Saved::Slot { slot, var } => {
                !used[i]
                    && keras3_slot(class, slot).is_some_and(|s| is_slot_of(name, var, s))
                    && saved[i].1.shape() == cur.shape()
            }
            _ => false,
        });
        match hit {
            Some(i) => {
                used[i] = true;
                values.push(saved[i].1.clone());
            }
            None if class == "Nadam" && name.ends_with("variable") && cur.numel() == 1 => {
                // Filled in below, once the iteration count is known.
                recomputed.push(name.clone());
                values.push(cur.clone());
            }
            None => {
                fresh.push(name.clone());
                values.push(cur.clone());
            }
        }
    }
    if !recomputed.is_empty() {
        let u = nadam_u_product(beta_1.unwrap_or(0.9) as f32, iterations);
        for (v, (name, _)) in values.iter_mut().zip(current) {
            if recomputed.contains(name) {
                *v = Tensor::scalar(u);
            }
        }
    }
    let dropped: Vec<String> = saved
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|((n, t), _)| format!("{n} {:?}", t.shape()))
        .collect();
    let restored = values.len() - fresh.len() - recomputed.len();
    let report = if dropped.is_empty() && fresh.is_empty() && recomputed.is_empty() {
        None
    } else {
        let mut msg = format!(
            "Restored {restored} of {} optimizer variables from the tf.keras optimizer state of \
             {class} ({} saved).",
            current.len(),
            saved.len()
        );
        if !dropped.is_empty() {
            msg.push_str(&format!(
                " Dropped from the file (no such variable in the Keras 3 {class}): {}.",
                dropped.join(", ")
            ));
        }
        if !recomputed.is_empty() {
            msg.push_str(&format!(
                " Recomputed from the iteration count ({iterations}): {} (Nadam's u_product, which \
                 tf.keras does not save).",
                recomputed.join(", ")
            ));
        }
        if !fresh.is_empty() {
            msg.push_str(&format!(" Not in the file, starting fresh: {}.", fresh.join(", ")));
        }
        Some(msg)
    };
    Ok(Some(Mapped { values, report }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_both_tf_keras_styles() {
        assert_eq!(parse("iteration:0"), Saved::Iteration);
        assert_eq!(parse("Adam/iter:0"), Saved::Iteration);
        assert_eq!(
            parse("Nadam/m/dense/kernel:0"),
            Saved::Slot { slot: "m".into(), var: "dense/kernel".into() }
        );
        assert_eq!(
            parse("Adam/lstm/lstm_cell/kernel/v:0"),
            Saved::Slot { slot: "v".into(), var: "lstm/lstm_cell/kernel".into() }
        );
        assert_eq!(parse("Nadam/momentum_cache:0"), Saved::Other);
        assert!(is_slot_of("adam/dense_1_kernel_momentum", "dense_1/kernel", "momentum"));
        assert!(is_slot_of("adam/seq_dense_1_kernel_momentum", "dense_1/kernel", "momentum"));
        assert!(!is_slot_of("adam/dense_11_kernel_momentum", "dense_1/kernel", "momentum"));
    }

    #[test]
    fn u_product_matches_stepwise_nadam() {
        let mut u = 1.0f32;
        for t in 1..=3 {
            u = u * 0.9 * (1.0 - 0.5 * 0.96f32.powf(t as f32));
        }
        assert_eq!(nadam_u_product(0.9, 3), u);
        assert_eq!(nadam_u_product(0.9, 0), 1.0);
        // Huge counts end at the product's fixed point instead of looping for ever.
        assert!(nadam_u_product(0.9, u64::MAX) < 1e-40);
    }
}
