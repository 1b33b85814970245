//! `MaxNumBoundingBoxes`: pads or truncates the bounding boxes of each image to a fixed
//! number (images pass unchanged).

use serde_json::Value;

use super::image_common::{image_call, image_shape};
use crate::layers::data_format::DataFormat;
use crate::layers::layer::{configured, CallContext, Layer, LayerBase, Shape};
use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::utils::config_args::config_args;
use crate::{keras_bail, DType, Result, Tensor};

/// Keras `keras.layers.MaxNumBoundingBoxes`: gives every image exactly `max_number` bounding
/// boxes. [`transform_bounding_boxes`](Self::transform_bounding_boxes) takes Keras's
/// `bounding_boxes` dict as its two tensors, `boxes` `(batch, num_boxes, 4)` and `labels`
/// `(batch, num_boxes)` (or one image's `(num_boxes, 4)` and `(num_boxes,)`): the first
/// `max_number` boxes and labels are kept, and missing ones are filled with `fill_value`
/// (default -1). The layer's `call` on images returns them unchanged, as Keras does for
/// images. As in Keras, `fill_value` is not part of the config (a loaded layer fills with -1).
///
/// ```
/// use keras::layers::{CallContext, Layer, MaxNumBoundingBoxes};
/// let layer = MaxNumBoundingBoxes::new(3).fill_value(-2);
/// let boxes = keras::Tensor::new(vec![1.0, 2.0, 3.0, 4.0], [1, 1, 4]).unwrap();
/// let labels = keras::Tensor::new(vec![7.0], [1, 1]).unwrap();
/// let (b, l) = layer.transform_bounding_boxes(&boxes, &labels).unwrap();
/// assert_eq!(b.shape(), &[1, 3, 4]);
/// assert_eq!(l.to_f32_vec(), vec![7.0, -2.0, -2.0]);
/// let images = keras::Tensor::zeros([1, 4, 4, 3]);
/// assert_eq!(layer.call(&images, &mut CallContext::new(true)).unwrap().shape(), &[1, 4, 4, 3]);
/// ```
pub struct MaxNumBoundingBoxes {
    base: LayerBase,
    args: MaxNumBoundingBoxesArgs,
}

config_args! {
    /// MaxNumBoundingBoxes's Keras arguments, in the order of its `get_config()`.
    pub(crate) struct MaxNumBoundingBoxesArgs in MaxNumBoundingBoxes.args, family LayerArgs {
        data_format: DataFormat = DataFormat::default(),
        /// The boxes' format (`"xyxy"`, ...), which Keras requires for a call on a dict with
        /// boxes; written only when set.
        bounding_box_format: Option<String> = None;
            builder bounding_box_format(format: &str) => Some(format.to_string()),
        /// The number of boxes per image.
        max_number: usize = 0,
        /// The value of the added boxes and labels (not in Keras's config).
        fill_value: i64 = -1; builder fill_value(v: i64) => v; write false,
    }
}

impl MaxNumBoundingBoxes {
    /// `max_number` boxes per image, filled with -1.
    pub fn new(max_number: usize) -> Self {
        MaxNumBoundingBoxes {
            base: LayerBase::new("max_num_bounding_boxes"),
            args: MaxNumBoundingBoxesArgs { max_number, ..MaxNumBoundingBoxesArgs::defaults() },
        }
    }

    crate::layers::builders::name_builder!();

    crate::layers::reshaping::args::data_format_builder!(args);

    /// Rebuilds from a Keras config (`max_number` required).
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let mut src = LayerCfg::new(cfg, "MaxNumBoundingBoxes");
        if cfg.get("max_number").is_none() {
            keras_bail!(InvalidArgument, "MaxNumBoundingBoxes: the config needs `max_number`");
        }
        let args = MaxNumBoundingBoxesArgs::read_args(&mut src)?;
        configured(MaxNumBoundingBoxes { base: LayerBase::new("max_num_bounding_boxes"), args }, cfg)
    }

    /// Keras's `transform_bounding_boxes`: `boxes` `(batch, n, 4)` and `labels` `(batch, n)`
    /// (or `(n, 4)` and `(n,)` for one image) cut or padded to `max_number` boxes each, the
    /// added ones `fill_value`; the dtypes are kept.
    pub fn transform_bounding_boxes(&self, boxes: &Tensor, labels: &Tensor) -> Result<(Tensor, Tensor)> {
        crate::layers::layer::check_pending(self)?;
        let (bs, ls) = (boxes.shape(), labels.shape());
        let (batch, n, batched) = match (bs, ls) {
            ([b, n, 4], [lb, ln]) if b == lb && n == ln => (*b, *n, true),
            ([n, 4], [ln]) if n == ln => (1, *n, false),
            _ => keras_bail!(
                Shape,
                "MaxNumBoundingBoxes: expected `boxes` of shape (batch, num_boxes, 4) and `labels` of shape \
                 (batch, num_boxes) (or (num_boxes, 4) and (num_boxes,) for one image). Received: \
                 boxes.shape={bs:?}, labels.shape={ls:?}"
            ),
        };
        let m = self.args.max_number;
        let fill = self.args.fill_value;
        // In the tensor's own dtype, so integer labels stay exact.
        let cut = |t: &Tensor, per: usize| -> Result<Tensor> {
            let shape = match (batched, per) {
                (true, 4) => vec![batch, m, 4],
                (true, _) => vec![batch, m],
                (false, 4) => vec![m, 4],
                (false, _) => vec![m],
            };
            Ok(match t.dtype() {
                DType::F32 => Tensor::new(pad_or_cut(t.as_f32()?, batch, n, m, per, fill as f32)?, shape)?,
                DType::I32 => {
                    Tensor::from_i32(pad_or_cut(t.as_i32()?, batch, n, m, per, fill as i32)?, shape)?
                }
                DType::I64 => Tensor::from_i64(pad_or_cut(t.as_i64()?, batch, n, m, per, fill)?, shape)?,
            })
        };
        Ok((cut(boxes, 4)?, cut(labels, 1)?))
    }

    /// Keras's `transform_images`: the images (rank 3 or 4) unchanged.
    fn call_last(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        if x.rank() != 3 && x.rank() != 4 {
            keras_bail!(
                Shape,
                "Expected image tensor to have rank 3 (single image) or 4 (batch of images). Received: \
                 data.shape={:?}",
                x.shape()
            );
        }
        Ok(x.clone())
    }
}

/// `batch` rows of `n` items of `per` values each, cut or padded with `fill` to `m` items.
fn pad_or_cut<T: Copy>(v: &[T], batch: usize, n: usize, m: usize, per: usize, fill: T) -> Result<Vec<T>> {
    let len = keras_engine::alloc::checked_numel(&[batch, m, per], std::mem::size_of::<T>())?;
    let mut out = keras_engine::alloc::try_filled(len, fill)?;
    let keep = n.min(m) * per;
    for b in 0..batch {
        out[b * m * per..b * m * per + keep].copy_from_slice(&v[b * n * per..b * n * per + keep]);
    }
    Ok(out)
}

impl Layer for MaxNumBoundingBoxes {
    crate::layers::preprocessing::image_common::preprocessing_layer_boilerplate!(
        "MaxNumBoundingBoxes",
        same_shape
    );

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        self.args.write_args(&mut m);
        // Keras writes the format only when it is set.
        if m.get("bounding_box_format").is_some_and(Value::is_null) {
            m.shift_remove("bounding_box_format");
        }
        Value::Object(m)
    }
}
