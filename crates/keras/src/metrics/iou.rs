//! `IoU`, `BinaryIoU`, `OneHotIoU` and `OneHotMeanIoU` (Keras's `_IoUBase` family): a
//! confusion matrix of class ids accumulated over batches; IoU averaged over target classes.

use keras_engine::{ops, DType};
use serde_json::{json, Value};

use super::mean::broadcast_to;
use super::Metric;
use crate::{keras_bail, Result, Tensor};

const EPSILON: f32 = 1e-7;

/// The `dtype` argument of the IoU metrics. Keras's default is `"int"` (int64): class ids and
/// sample weights are truncated to integers before counting (a weight of 0.5 counts as 0);
/// with `"float32"` they are used as given.
pub(crate) fn iou_dtype(name: &str) -> Result<&'static str> {
    Ok(match name {
        "float32" => "float32",
        "int32" => "int32",
        "int64" | "int" => "int64",
        other => keras_bail!(
            InvalidArgument,
            "IoU metrics support dtype 'float32', 'int32' or 'int64' in keras-rs. Received: dtype={other}"
        ),
    })
}

/// Casts values to the metric dtype (truncation toward zero for integer dtypes).
fn cast_to(dtype: &str, v: Vec<f32>) -> Vec<f32> {
    if dtype == "float32" {
        v
    } else {
        v.into_iter().map(|x| x.trunc()).collect()
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    IoU,
    Binary(f64),
    OneHot,
    OneHotMean,
}

/// Keras's IoU metrics. Build with [`IoU::new`] (`keras.metrics.IoU`), [`IoU::binary`]
/// (`BinaryIoU`), [`IoU::one_hot`] (`OneHotIoU`) or [`IoU::one_hot_mean`] (`OneHotMeanIoU`).
#[derive(Clone, Debug)]
pub struct IoU {
    name: String,
    kind: Kind,
    target_class_ids: Vec<usize>,
    base: IoUBase,
}

/// The arguments and state every IoU metric shares (Keras's `_IoUBase`): a confusion matrix of
/// class ids accumulated over batches.
#[derive(Clone, Debug)]
struct IoUBase {
    num_classes: usize,
    ignore_class: Option<i64>,
    sparse_y_true: bool,
    sparse_y_pred: bool,
    axis: isize,
    dtype: &'static str,
    cm: Vec<f64>,
}

impl IoUBase {
    /// An empty matrix for `num_classes` classes (which must be > 0), with Keras's defaults
    /// (`axis=-1`, `dtype="int"`).
    fn new(num_classes: usize, ignore_class: Option<i64>, sparse: bool) -> Result<IoUBase> {
        if num_classes == 0 {
            keras_bail!(InvalidArgument, "`num_classes` must be > 0. Received: 0");
        }
        Ok(IoUBase {
            num_classes,
            ignore_class,
            sparse_y_true: sparse,
            sparse_y_pred: sparse,
            axis: -1,
            dtype: "int64",
            cm: vec![0.0; num_classes * num_classes],
        })
    }

    /// `_IoUBase.update_state`: the class ids of a batch (weights broadcast to them) counted
    /// into the matrix.
    fn update(&mut self, y_true: &Tensor, y_pred: &Tensor, sample_weight: Option<&Tensor>) -> Result<()> {
        let t = cast_to(self.dtype, ids(y_true, self.sparse_y_true, self.axis)?);
        let p = cast_to(self.dtype, ids(y_pred, self.sparse_y_pred, self.axis)?);
        if t.len() != p.len() {
            keras_bail!(
                Shape,
                "Incompatible shapes: y_true.shape={:?} and y_pred.shape={:?}",
                y_true.shape(),
                y_pred.shape()
            );
        }
        let w = match sample_weight {
            Some(w) if w.numel() == t.len() => Some(w.to_f32_vec()),
            Some(w) => Some(broadcast_to(&w.to_f32_vec(), w.shape(), &[t.len()])?),
            None => None,
        };
        let w = w.map(|w| cast_to(self.dtype, w));
        accumulate_confusion(&mut self.cm, self.num_classes, &t, &p, w.as_deref(), self.ignore_class);
        Ok(())
    }

    /// `_IoUBase.result`: the IoU averaged over `classes`; classes with an empty denominator
    /// do not count, and both divisions add `epsilon()`.
    fn mean_iou(&self, classes: impl IntoIterator<Item = usize>) -> f32 {
        let n = self.num_classes;
        let mut sum = 0.0f32;
        let mut valid = 0.0f32;
        for c in classes {
            let row: f64 = (0..n).map(|j| self.cm[c * n + j]).sum();
            let col: f64 = (0..n).map(|i| self.cm[i * n + c]).sum();
            let tp = self.cm[c * n + c];
            let den = (row + col - tp) as f32;
            if den > 1e-9 {
                valid += 1.0;
            }
            sum += tp as f32 / (den + EPSILON);
        }
        sum / (valid + EPSILON)
    }

    fn reset(&mut self) {
        self.cm.iter_mut().for_each(|v| *v = 0.0);
    }
}

/// The builders both IoU metric types share, setting their [`IoUBase`] (`base`).
macro_rules! iou_common_builders {
    () => {
        crate::metrics::metric_name!(builder);
        crate::setters::setters! {
            /// The axis holding class scores for dense inputs (default `-1`).
            with_axis(base.axis): isize,
        }
        /// The accumulated `num_classes x num_classes` confusion matrix (rows: true class).
        pub fn total_cm(&self) -> &[f64] {
            &self.base.cm
        }
        /// Keras's `dtype`: `"int64"` (Keras's default `"int"`) or `"int32"`, which truncate ids
        /// and weights to integers before counting, or `"float32"`.
        pub fn with_dtype(mut self, dtype: &str) -> Result<Self> {
            self.base.dtype = iou_dtype(dtype)?;
            Ok(self)
        }
    };
}

impl IoU {
    fn build(kind: Kind, name: &str, num_classes: usize, target_class_ids: Vec<usize>) -> Result<IoU> {
        let dense = matches!(kind, Kind::OneHot | Kind::OneHotMean);
        let base = IoUBase::new(num_classes, None, !dense)?;
        if let Some(&m) = target_class_ids.iter().max() {
            if m >= num_classes {
                keras_bail!(
                    InvalidArgument,
                    "Target class id {m} is out of range, which is [0, {num_classes})."
                );
            }
        }
        Ok(IoU { name: name.into(), kind, target_class_ids, base })
    }

    /// `keras.metrics.IoU(num_classes, target_class_ids)` (name `io_u`).
    pub fn new(num_classes: usize, target_class_ids: Vec<usize>) -> Result<IoU> {
        IoU::build(Kind::IoU, "io_u", num_classes, target_class_ids)
    }
    /// `keras.metrics.BinaryIoU(target_class_ids, threshold)` (Keras defaults: `[0, 1]`,
    /// `0.5`): predictions `>= threshold` are class 1.
    pub fn binary(target_class_ids: Vec<usize>, threshold: f64) -> Result<IoU> {
        IoU::build(Kind::Binary(threshold), "binary_io_u", 2, target_class_ids)
    }
    /// `keras.metrics.OneHotIoU(num_classes, target_class_ids)`: one-hot `y_true`, scores
    /// `y_pred` (argmax along `axis`).
    pub fn one_hot(num_classes: usize, target_class_ids: Vec<usize>) -> Result<IoU> {
        IoU::build(Kind::OneHot, "one_hot_io_u", num_classes, target_class_ids)
    }
    /// `keras.metrics.OneHotMeanIoU(num_classes)`: `OneHotIoU` over every class.
    pub fn one_hot_mean(num_classes: usize) -> Result<IoU> {
        IoU::build(Kind::OneHotMean, "one_hot_mean_io_u", num_classes, (0..num_classes).collect())
    }
    iou_common_builders!();
    crate::setters::setters! {
        /// Skips samples whose true class is `ignore_class` (not for `BinaryIoU`).
        with_ignore_class(base.ignore_class): Option<i64>,
        /// Whether `y_pred` holds class ids (`true`) or scores to argmax along `axis`.
        with_sparse_y_pred(base.sparse_y_pred): bool,
    }
    /// Whether `y_true` holds class ids (only `IoU` lets this be set, as Keras).
    pub fn with_sparse_y_true(mut self, sparse: bool) -> Self {
        if self.kind == Kind::IoU {
            self.base.sparse_y_true = sparse;
        }
        self
    }
}

/// Class ids as Keras sees them: float values (`y` cast to the metric dtype), or the
/// argmax along `axis` for dense inputs.
pub(crate) fn ids(x: &Tensor, sparse: bool, axis: isize) -> Result<Vec<f32>> {
    if sparse {
        return Ok(x.to_f32_vec());
    }
    if x.rank() == 0 {
        keras_bail!(Shape, "Cannot take the argmax of a 0-d tensor");
    }
    Ok(ops::argmax(&x.cast(DType::F32), axis)?.to_f32_vec())
}

/// Adds one batch to a `num_classes x num_classes` confusion matrix exactly as Keras's
/// `_IoUBase.update_state`: a sample whose true or predicted id lies outside
/// `[0, num_classes)`, or whose true id is `ignore_class`, does not count; the others are
/// truncated to integers (`confusion_matrix` casts to int64) and weighted.
pub(crate) fn accumulate_confusion(
    cm: &mut [f64],
    num_classes: usize,
    t: &[f32],
    p: &[f32],
    w: Option<&[f32]>,
    ignore_class: Option<i64>,
) {
    let n = num_classes as f32;
    for i in 0..t.len() {
        let in_range = |v: f32| v >= 0.0 && v < n;
        if !in_range(t[i]) || !in_range(p[i]) || ignore_class.is_some_and(|c| t[i] == c as f32) {
            continue;
        }
        let (ti, pi) = (t[i] as usize, p[i] as usize);
        cm[ti * num_classes + pi] += w.map_or(1.0, |w| w[i] as f64);
    }
}

impl Metric for IoU {
    crate::metrics::metric_name!();
    fn update_state(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        let yp;
        let y_pred = match self.kind {
            Kind::Binary(th) => {
                let th = th as f32;
                let v = y_pred.to_f32_vec().iter().map(|p| if *p >= th { 1.0 } else { 0.0 }).collect();
                yp = Tensor::new(v, y_pred.shape().to_vec())?;
                &yp
            }
            _ => y_pred,
        };
        self.base.update(y_true, y_pred, sample_weight)
    }
    fn result(&self) -> f32 {
        self.base.mean_iou(self.target_class_ids.iter().copied())
    }
    fn reset_state(&mut self) {
        self.base.reset();
    }
    fn get_config(&self) -> Value {
        let b = &self.base;
        let (name, nc, ids, ic, axis) =
            (&self.name, b.num_classes, &self.target_class_ids, b.ignore_class, b.axis);
        match self.kind {
            Kind::IoU => json!({
                "name": name, "dtype": b.dtype, "num_classes": nc, "target_class_ids": ids,
                "ignore_class": ic, "sparse_y_true": b.sparse_y_true,
                "sparse_y_pred": b.sparse_y_pred, "axis": axis,
            }),
            Kind::Binary(th) => json!({
                "target_class_ids": ids, "threshold": th, "name": name, "dtype": b.dtype,
            }),
            Kind::OneHot => json!({
                "num_classes": nc, "target_class_ids": ids, "name": name, "dtype": b.dtype,
                "ignore_class": ic, "sparse_y_pred": b.sparse_y_pred, "axis": axis,
            }),
            Kind::OneHotMean => json!({
                "num_classes": nc, "name": name, "dtype": b.dtype, "ignore_class": ic,
                "sparse_y_pred": b.sparse_y_pred, "axis": axis,
            }),
        }
    }
    fn class_name(&self) -> &str {
        match self.kind {
            Kind::IoU => "IoU",
            Kind::Binary(_) => "BinaryIoU",
            Kind::OneHot => "OneHotIoU",
            Kind::OneHotMean => "OneHotMeanIoU",
        }
    }
}

/// `keras.metrics.MeanIoU(num_classes)`: a confusion matrix of class ids (or of the argmax of
/// scores, with `sparse_y_true` / `sparse_y_pred` false) accumulated over batches; the mean IoU
/// over the classes that appear. Ids outside `[0, num_classes)` and `ignore_class` samples do
/// not count, as in Keras.
#[derive(Clone, Debug)]
pub struct MeanIoU {
    name: String,
    base: IoUBase,
}

impl MeanIoU {
    /// A mean IoU over `num_classes` classes, optionally ignoring one label value.
    pub fn new(num_classes: usize, ignore_class: Option<i64>) -> Result<MeanIoU> {
        Ok(MeanIoU { name: "mean_io_u".into(), base: IoUBase::new(num_classes, ignore_class, true)? })
    }
    iou_common_builders!();
    crate::setters::setters! {
        /// Whether `y_true` holds class ids (`true`, the default) or scores to argmax.
        with_sparse_y_true(base.sparse_y_true): bool,
        /// Whether `y_pred` holds class ids (`true`, the default) or scores to argmax.
        with_sparse_y_pred(base.sparse_y_pred): bool,
    }
}

impl Metric for MeanIoU {
    crate::metrics::metric_name!();
    fn update_state(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        self.base.update(y_true, y_pred, sample_weight)
    }
    fn result(&self) -> f32 {
        self.base.mean_iou(0..self.base.num_classes)
    }
    fn reset_state(&mut self) {
        self.base.reset();
    }
    fn get_config(&self) -> Value {
        json!({
            "num_classes": self.base.num_classes,
            "name": self.name,
            "dtype": self.base.dtype,
            "ignore_class": self.base.ignore_class,
            "sparse_y_true": self.base.sparse_y_true,
            "sparse_y_pred": self.base.sparse_y_pred,
            "axis": self.base.axis,
        })
    }
    fn class_name(&self) -> &str {
        "MeanIoU"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics;
    use crate::test_util::t;

    fn close(a: f32, b: f32) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }

    #[test]
    fn iou_over_target_classes() {
        let mut m = IoU::new(3, vec![0, 2]).unwrap();
        assert_eq!((m.name(), m.class_name()), ("io_u", "IoU"));
        m.update_state(&t(vec![0.0, 1.0, 2.0], &[3]), &t(vec![0.0, 2.0, 2.0], &[3]), None).unwrap();
        // cm: (0,0)=1, (1,2)=1, (2,2)=1. class 0: 1/1; class 2: 1/(1+2-1)=0.5
        close(m.result(), 0.75);
        m.update_state(&t(vec![2.0, 0.0], &[2]), &t(vec![0.0, 0.0], &[2]), Some(&t(vec![2.0, 1.0], &[2])))
            .unwrap();
        // cm: (0,0)=2, (2,0)=2, (1,2)=1, (2,2)=1. class 0: 2/(2+4-2)=0.5; class 2: 1/(3+2-1)=0.25
        close(m.result(), 0.375);
        m.update_state(&t(vec![1.0], &[1]), &t(vec![1.0], &[1]), None).unwrap();
        close(m.result(), 0.375);
        assert_eq!(m.get_config()["target_class_ids"], json!([0, 2]));
        assert!(IoU::new(3, vec![3]).unwrap_err().to_string().contains("Target class id 3 is out of range"));
        // Out-of-range ids (either side) are left out, as Keras 3.15 does.
        let before = m.total_cm().to_vec();
        m.update_state(&t(vec![5.0, 0.0, -1.0], &[3]), &t(vec![0.0, 3.0, 0.0], &[3]), None).unwrap();
        assert_eq!(m.total_cm(), &before[..]);
        // Keras's default dtype ("int") truncates first: -0.5 is class 0, a weight of 0.5 is 0.
        m.update_state(&t(vec![-0.5, 1.0], &[2]), &t(vec![0.0, 1.0], &[2]), Some(&t(vec![1.0, 0.5], &[2])))
            .unwrap();
        assert_eq!(m.total_cm()[0], before[0] + 1.0);
        assert_eq!(m.total_cm()[4], before[4]);
        let mut f = IoU::new(3, vec![0]).unwrap().with_dtype("float32").unwrap();
        f.update_state(&t(vec![-0.5, 1.0], &[2]), &t(vec![0.0, 1.0], &[2]), Some(&t(vec![1.0, 0.5], &[2])))
            .unwrap();
        assert_eq!((f.total_cm()[0], f.total_cm()[4]), (0.0, 0.5));
        assert!(IoU::new(3, vec![0]).unwrap().with_dtype("float16").is_err());
        m.reset_state();
        assert_eq!(m.result(), 0.0);
    }

    #[test]
    fn binary_and_one_hot_iou() {
        let mut b = metrics::get("BinaryIoU").unwrap();
        assert_eq!(b.name(), "binary_io_u");
        b.update_state(&t(vec![0.0, 1.0, 0.0, 1.0], &[4]), &t(vec![0.1, 0.5, 0.6, 0.2], &[4]), None).unwrap();
        // preds >= 0.5 -> [0, 1, 1, 0]; cm (0,0)=1,(0,1)=1,(1,1)=1,(1,0)=1: each IoU 1/3
        close(b.result(), 1.0 / 3.0);
        b.update_state(&t(vec![1.0], &[1]), &t(vec![0.9], &[1]), Some(&t(vec![2.0], &[1]))).unwrap();
        // (1,1)=3: class 0 IoU 1/(2+2-1)=1/3, class 1 3/(4+4-3)=0.6
        close(b.result(), (1.0 / 3.0 + 0.6) / 2.0);
        assert_eq!(
            b.get_config(),
            json!({"target_class_ids": [0, 1], "threshold": 0.5,
                                           "name": "binary_io_u", "dtype": "int64"})
        );
        let mut o = IoU::one_hot_mean(3).unwrap();
        let yt = t(vec![0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0], &[4, 3]);
        let yp = t(vec![0.2, 0.3, 0.5, 0.1, 0.2, 0.7, 0.5, 0.3, 0.1, 0.1, 0.4, 0.5], &[4, 3]);
        o.update_state(&yt, &yp, None).unwrap();
        // true [2,1,0,0], pred [2,2,0,2]: class 0: 1/2; class 1: 0/1; class 2: 1/3
        close(o.result(), (0.5 + 1.0 / 3.0) / 3.0);
        assert_eq!(o.class_name(), "OneHotMeanIoU");
        let mut oh = IoU::one_hot(3, vec![0]).unwrap();
        oh.update_state(&yt, &yp, None).unwrap();
        close(oh.result(), 0.5);
        assert!(metrics::get("IoU").is_err());
    }
}
