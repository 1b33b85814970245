//! `ZeroPadding3D`: zeros around the three spatial axes of NDHWC (or NCDHW) volumes.

use keras_engine::ops;

use crate::layers::layer::{CallContext, Shape};
use crate::layers::reshaping::args::{known, spatial_arg_layer};
use crate::{Result, Tensor};

spatial_arg_layer! {
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
    pub struct ZeroPadding3D("ZeroPadding3D", "zero_padding3d") in ZeroPadding3DArgs {
        /// `padding = [[before, after]; 3]` for depth, height and width.
        padding: [[usize; 2]; 3] = [[1, 1]; 3],
    }
    /// Rebuilds from a Keras config (`padding` an int, three ints or three pairs).
    from_config;
    impl Layer {
        fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
            self.args.data_format.map_shape(&self.base.name, 5, s, |s| {
                let mut out = s.to_vec();
                for (i, p) in self.args.padding.0.iter().enumerate() {
                    out[i + 1] = s[i + 1].map(|d| d + p[0] + p[1]);
                }
                Ok(out)
            })
        }

        fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
            self.compute_output_shape(&known(x.shape()))?;
            let [d, h, w] = self.args.padding.0;
            self.args.data_format.map_call(x, |x| Ok(ops::pad(x, &[[0, 0], d, h, w, [0, 0]])?))
        }
    }
}
