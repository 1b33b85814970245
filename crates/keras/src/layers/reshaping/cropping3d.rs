//! `Cropping3D`: removes slices at both ends of the three spatial axes of NDHWC (or NCDHW)
//! volumes.

use keras_engine::ops;
use serde_json::{json, Value};

use crate::layers::data_format::DataFormat;
use crate::layers::layer::{CallContext, Layer, LayerBase, Shape};
use crate::layers::reshaping::args::{cropped_shape, data_format_builder, known, layer_common, pairs3d};
use crate::{Result, Tensor};

/// Keras `keras.layers.Cropping3D`: `cropping = [[before, after]; 3]` removed from the depth,
/// height and width axes of `(batch, d, h, w, channels)` (`(batch, channels, d, h, w)` with
/// `data_format("channels_first")`).
///
/// ```
/// use keras::layers::{CallContext, Cropping3D, Layer};
/// use keras::Tensor;
/// let y = Cropping3D::new([[1, 0], [0, 0], [1, 1]]).call(&Tensor::ones([1, 3, 2, 4, 1]), &mut CallContext::new(false)).unwrap();
/// assert_eq!(y.shape(), &[1, 2, 2, 2, 1]);
/// ```
pub struct Cropping3D {
    base: LayerBase,
    cropping: [[usize; 2]; 3],
    data_format: DataFormat,
}

impl Cropping3D {
    /// `cropping = [[before, after]; 3]` for depth, height and width.
    pub fn new(cropping: [[usize; 2]; 3]) -> Self {
        Cropping3D { base: LayerBase::new("cropping3d"), cropping, data_format: DataFormat::default() }
    }

    crate::layers::builders::base_builders!();
    data_format_builder!();

    /// Rebuilds from a Keras config (`cropping` an int, three ints or three pairs).
    pub fn from_config(cfg: &Value) -> Result<Self> {
        let c = match cfg.get("cropping") {
            None => [[1, 1]; 3],
            Some(v) => pairs3d(v, "cropping", "crop")?,
        };
        let mut l = Cropping3D::new(c);
        l.data_format = DataFormat::from_config(cfg)?;
        l.base.apply_config(cfg);
        Ok(l)
    }
}

impl Layer for Cropping3D {
    layer_common!("Cropping3D", true);

    fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
        self.data_format.map_shape(&self.base.name, 5, s, |last| cropped_shape(last, &self.cropping, s))
    }

    fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
        self.compute_output_shape(&known(x.shape()))?;
        self.data_format.map_call(x, |x| {
            let out = cropped_shape(&known(x.shape()), &self.cropping, &known(x.shape()))?;
            let size: Vec<usize> = out.iter().map(|d| d.unwrap_or(0)).collect();
            let begin = [0, self.cropping[0][0], self.cropping[1][0], self.cropping[2][0], 0];
            Ok(ops::slice(x, &begin, &size)?)
        })
    }

    fn get_config(&self) -> Value {
        let mut m = self.base.base_config();
        m.insert("cropping".into(), json!(self.cropping));
        m.insert("data_format".into(), json!(self.data_format.as_str()));
        Value::Object(m)
    }
}
