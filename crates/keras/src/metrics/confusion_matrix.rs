//! The counting every threshold metric shares: Keras's
//! `metrics_utils.update_confusion_matrix_variables`, including the bucketed path Keras takes
//! for evenly spaced thresholds (`_update_confusion_matrix_variables_optimized`), `top_k`,
//! `class_id`, `multi_label` and `label_weights`.

use super::mean::{broadcast_to, fmt_shape, incompatible_shapes};
use crate::{keras_bail, Result, Tensor};

/// Keras `metrics_utils.NEG_INF`: what `top_k` filtering puts in place of the other scores.
pub(crate) const NEG_INF: f32 = -1e10;

/// Keras `metrics_utils.is_evenly_distributed_thresholds`: at least 3 thresholds equal to
/// `i / (n - 1)` within `epsilon()`.
pub(crate) fn evenly_distributed(thresholds: &[f64]) -> bool {
    let n = thresholds.len();
    n >= 3
        && thresholds.iter().enumerate().all(|(i, &t)| {
            let even = (i as f32 / (n - 1) as f32) as f64;
            (t - even).abs() <= 1e-7 + 1e-5 * even.abs()
        })
}

/// Keras `squeeze_or_expand_to_same_rank` on shapes, with the `expand_rank_1` switch.
pub(crate) fn squeeze_or_expand(s1: &[usize], s2: &[usize], expand_rank_1: bool) -> (Vec<usize>, Vec<usize>) {
    let (mut a, mut b) = (s1.to_vec(), s2.to_vec());
    let (r1, r2) = (s1.len(), s2.len());
    if r1 == r2 + 1 && s1.last() == Some(&1) {
        if r2 == 1 && expand_rank_1 {
            b.push(1);
        } else {
            a.pop();
        }
    }
    if r2 == r1 + 1 && s2.last() == Some(&1) {
        if r1 == 1 && expand_rank_1 {
            a.push(1);
        } else {
            b.pop();
        }
    }
    (a, b)
}

/// Which counts a metric keeps.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Wanted {
    pub tp: bool,
    pub fp: bool,
    pub tn: bool,
    pub fn_: bool,
}

impl Wanted {
    pub(crate) const ALL: Wanted = Wanted { tp: true, fp: true, tn: true, fn_: true };
}

/// The options of one update.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct UpdateOptions<'a> {
    pub top_k: Option<usize>,
    pub class_id: Option<usize>,
    pub multi_label: bool,
    /// Per-label weights (only without `multi_label`, as Keras).
    pub label_weights: Option<&'a [f32]>,
}

/// True/false positives/negatives per threshold (and per label with `multi_label`), laid out
/// `[threshold * labels + label]` like Keras's `(num_thresholds, num_labels)` variables.
#[derive(Clone, Debug)]
pub(crate) struct Counts {
    /// The thresholds as the float32 values Keras compares with.
    pub thresholds: Vec<f32>,
    evenly: bool,
    with_epsilon: bool,
    /// Labels per threshold: 1, or the label count with `multi_label`.
    pub labels: usize,
    pub tp: Vec<f32>,
    pub fp: Vec<f32>,
    pub tn: Vec<f32>,
    pub fn_: Vec<f32>,
}

impl Counts {
    /// Counts for `thresholds` (Keras's Python floats), `labels` columns each.
    pub(crate) fn new(thresholds: &[f64], evenly: bool, labels: usize) -> Counts {
        let n = thresholds.len() * labels;
        Counts {
            thresholds: thresholds.iter().map(|&t| t as f32).collect(),
            evenly,
            with_epsilon: evenly
                && (thresholds.first().is_some_and(|&t| t < 0.0)
                    || thresholds.last().is_some_and(|&t| t > 1.0)),
            labels,
            tp: vec![0.0; n],
            fp: vec![0.0; n],
            tn: vec![0.0; n],
            fn_: vec![0.0; n],
        }
    }

    pub(crate) fn reset(&mut self) {
        for v in [&mut self.tp, &mut self.fp, &mut self.tn, &mut self.fn_] {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
    }

    /// Keras `update_confusion_matrix_variables` for the counts in `wanted`.
    pub(crate) fn update(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
        opts: UpdateOptions<'_>,
        wanted: Wanted,
    ) -> Result<()> {
        let (ps0, ts0) = squeeze_or_expand(y_pred.shape(), y_true.shape(), true);
        let mut p = y_pred.to_f32_vec();
        let mut t = y_true.to_f32_vec();
        if p.len() != t.len() {
            return Err(incompatible_shapes(y_true, y_pred));
        }
        let mut ps = ps0.clone();
        // Sample weights: expand_dims(-1), then squeezed or expanded against y_true.
        let mut w: Option<(Vec<f32>, Vec<usize>)> = sample_weight.map(|sw| {
            let mut s = sw.shape().to_vec();
            s.push(1);
            let (_, ws) = squeeze_or_expand(&ts0, &s, false);
            (sw.to_f32_vec(), ws)
        });
        let classes = ps.last().copied().unwrap_or(1);
        if let Some(k) = opts.top_k {
            if ps.is_empty() {
                keras_bail!(Shape, "`top_k` needs predictions with a class axis. Received: y_pred.shape=()");
            }
            for row in p.chunks_mut(classes.max(1)) {
                let mut idx: Vec<usize> = (0..row.len()).collect();
                // tf.math.top_k: largest first, the lower index first on ties.
                idx.sort_by(|&a, &b| row[b].partial_cmp(&row[a]).unwrap_or(std::cmp::Ordering::Equal));
                let mut keep = vec![false; row.len()];
                idx.iter().take(k).for_each(|&i| keep[i] = true);
                for (v, kept) in row.iter_mut().zip(keep) {
                    *v = if kept { *v } else { NEG_INF };
                }
            }
        }
        if let Some(c) = opts.class_id {
            if ps.len() <= 1 {
                keras_bail!(
                    InvalidArgument,
                    "When class_id is provided, y_pred must be a 2D array with shape (num_samples, \
                     num_classes), found shape: {}",
                    fmt_shape(&ps)
                );
            }
            if c >= classes {
                keras_bail!(
                    InvalidArgument,
                    "class_id {c} is out of range for predictions with {classes} classes"
                );
            }
            let pick = |v: &[f32]| v.iter().skip(c).step_by(classes).copied().collect::<Vec<f32>>();
            p = pick(&p);
            t = pick(&t);
            let last = ps.len() - 1;
            ps[last] = 1;
        }
        let weights: Option<Vec<f32>> = match w.take() {
            Some((wv, ws)) => Some(broadcast_to(&wv, &ws, &ps)?),
            None => None,
        };
        let labels = if opts.multi_label {
            if ps.len() != 2 {
                keras_bail!(
                    InvalidArgument,
                    "`y_pred` must have rank 2 when `multi_label=True`. Found rank {}. Full shape \
                     received for `y_pred`: {}",
                    ps.len(),
                    fmt_shape(&ps)
                );
            }
            if ps[1] != self.labels {
                keras_bail!(
                    Shape,
                    "This metric was built for {} labels and received y_pred.shape={}",
                    self.labels,
                    fmt_shape(&ps)
                );
            }
            ps[1]
        } else {
            1
        };
        let label_w: Option<Vec<f32>> = match (opts.label_weights, opts.multi_label) {
            (Some(lw), false) => {
                let mut s = vec![1];
                s.push(lw.len());
                Some(broadcast_to(lw, &s, &ps).map_err(|_| {
                    crate::Error::Shape(format!(
                        "`label_weights` of length {} do not fit predictions of shape {}",
                        lw.len(),
                        fmt_shape(&ps)
                    ))
                })?)
            }
            _ => None,
        };
        let weight = |j: usize| -> f32 {
            let a = weights.as_ref().map_or(1.0, |w| w[j]);
            let b = label_w.as_ref().map_or(1.0, |w| w[j]);
            a * b
        };
        let nth = self.thresholds.len();
        if self.evenly {
            // Bucket each prediction by the thresholds it exceeds, then cumulate.
            let n = nth as f32;
            let lab = labels;
            let mut tpb = vec![0.0f32; nth * lab];
            let mut fpb = vec![0.0f32; nth * lab];
            let mut tot_t = vec![0.0f32; lab];
            let mut tot_f = vec![0.0f32; lab];
            for j in 0..p.len() {
                let l = j % lab;
                let wj = match (&weights, &label_w) {
                    (None, None) => 1.0,
                    _ => weight(j),
                };
                let tb = if t[j] != 0.0 { 1.0 } else { 0.0 };
                let (tl, fl) = (tb * wj, (1.0 - tb) * wj);
                tot_t[l] += tl;
                tot_f[l] += fl;
                let y = p[j].clamp(0.0, 1.0);
                let mut bucket = (y * (n - 1.0)).ceil() - 1.0;
                if self.with_epsilon {
                    bucket = bucket.max(0.0);
                }
                if bucket >= 0.0 && (bucket as usize) < nth {
                    let bi = bucket as usize;
                    tpb[bi * lab + l] += tl;
                    fpb[bi * lab + l] += fl;
                }
            }
            for l in 0..lab {
                let (mut ct, mut cf) = (0.0f32, 0.0f32);
                for i in (0..nth).rev() {
                    ct += tpb[i * lab + l];
                    cf += fpb[i * lab + l];
                    let k = i * lab + l;
                    if wanted.tp {
                        self.tp[k] += ct;
                    }
                    if wanted.fp {
                        self.fp[k] += cf;
                    }
                    if wanted.tn {
                        self.tn[k] += tot_f[l] - cf;
                    }
                    if wanted.fn_ {
                        self.fn_[k] += tot_t[l] - ct;
                    }
                }
            }
            return Ok(());
        }
        for (i, &th) in self.thresholds.iter().enumerate() {
            let mut acc = vec![[0.0f32; 4]; labels];
            for j in 0..p.len() {
                let wj = weight(j);
                let label = t[j] != 0.0;
                let pred = p[j] > th;
                let slot = match (label, pred) {
                    (true, true) => 0,
                    (false, true) => 1,
                    (false, false) => 2,
                    (true, false) => 3,
                };
                acc[j % labels][slot] += wj;
            }
            for (l, a) in acc.iter().enumerate() {
                let k = i * labels + l;
                self.tp[k] += a[0];
                self.fp[k] += a[1];
                self.tn[k] += a[2];
                self.fn_[k] += a[3];
            }
        }
        Ok(())
    }
}

/// `divide_no_nan`.
pub(crate) fn no_nan(a: f32, b: f32) -> f32 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_thresholds_are_detected_like_keras() {
        assert!(evenly_distributed(&[0.0, 0.5, 1.0]));
        assert!(!evenly_distributed(&[0.0, 1.0]));
        assert!(!evenly_distributed(&[0.0, 0.4, 1.0]));
        assert_eq!(squeeze_or_expand(&[4], &[4, 1], false), (vec![4], vec![4]));
        assert_eq!(squeeze_or_expand(&[4], &[4, 1], true), (vec![4, 1], vec![4, 1]));
    }

    #[test]
    fn bucketed_and_direct_counts_agree() {
        let y = Tensor::new(vec![1.0, 0.0, 1.0, 1.0, 0.0], [5]).unwrap();
        let p = Tensor::new(vec![0.9, 0.3, 0.5, 0.1, 0.7], [5]).unwrap();
        let th = [0.0, 0.25, 0.5, 0.75, 1.0];
        let mut a = Counts::new(&th, true, 1);
        let mut b = Counts::new(&th, false, 1);
        a.update(&y, &p, None, UpdateOptions::default(), Wanted::ALL).unwrap();
        b.update(&y, &p, None, UpdateOptions::default(), Wanted::ALL).unwrap();
        assert_eq!((a.tp.clone(), a.fp.clone(), a.tn.clone(), a.fn_.clone()), (b.tp, b.fp, b.tn, b.fn_));
        assert_eq!(a.tp, vec![3.0, 2.0, 1.0, 1.0, 0.0]);
    }
}
