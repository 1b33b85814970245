//! `ZeroPadding3D`: zeros around the three spatial axes of NDHWC (or NCDHW) volumes.

use keras_engine::ops;
use serde_json::{json, Value};

use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::reshaping::args::{data_format_builder, known, layer_common, pairs3d};
use crate::{Result, Tensor};

/// Keras `keras.layers.ZeroPadding3D`: `padding = [[before, after]; 3]` zeros on the depth,
/// height and width axes of `(batch, d, h, w, channels)` (`(batch, channels, d, h, w)` with
/// `data_format("channels_first")`).
///
/// ```
/// use keras::layers::{CallContext, Layer, ZeroPadding3D};
/// use keras::Tensor;
/// let y = ZeroPadding3D::new([[1, 1], [0, 0], [0, 2]]).call(&Tensor::ones([1, 2, 2, 2, 1]), &mut CallContext::new(false)).unwrap();
/// assert_eq!(y.shape(), &[1, 4, 2, 4, 1]);
/// ```
pub struct ZeroPadding3D {
    base: LayerBase,
    padding: [[usize; 2]; 3],
    data_format: DataFormat,
}

impl ZeroPadding3D {
    /// `padding = [[before, after]; 3]` for depth, height and width.
    pub fn new(padding: [[usize; 2]; 3]) -> Self {
        ZeroPadding3D { base: LayerBase::new("zero_padding3d"), padding, data_format: DataFormat::default() }
    }

    crate::layers::builders::base_builders!();
    data_format_builder!();

    /// Rebuilds from a Keras config (`padding` an int, three ints or three pairs).
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let p = match cfg.get("padding") {
            None => [[1, 1]; 3],
            Some(v) => pairs3d(v, "padding", "pad")?,
        };
        let mut l = ZeroPadding3D::new(p);
        l.data_format = DataFormat::from_config(cfg)?;
        l.base.apply_config(cfg);
        Ok(l)
    }
}

impl Layer for ZeroPadding3D {
    layer_common!("ZeroPadding3D", true);

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        self.data_format.map_shape(&self.base.name, 5, s, |s| {
            let mut out = s.to_vec();
            for (i, p) in self.padding.iter().enumerate() {
                out[i + 1] = s[i + 1].map(|d| d + p[0] + p[1]);
            }
            Ok(out)
        })
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        self.compute_output_shape(&known(x.shape()))?;
        let [d, h, w] = self.padding;
        self.data_format.map_call(x, |x| Ok(ops::pad(x, &[[0, 0], d, h, w, [0, 0]])?))
    }

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("padding".into(), json!(self.padding));
        m.insert("data_format".into(), json!(self.data_format.as_str()));
        Value::Object(m)
    }
}
