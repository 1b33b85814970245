//! `Cropping3D`: removes slices at both ends of the three spatial axes of NDHWC (or NCDHW)
//! volumes.

use keras_engine::ops;

use crate::layers::layer::{CallContext, Shape};
use crate::layers::reshaping::args::{cropped_shape, known, spatial_arg_layer};
use crate::{Result, Tensor};

spatial_arg_layer! {
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
    pub struct Cropping3D("Cropping3D", "cropping3d") in Cropping3DArgs {
        /// `cropping = [[before, after]; 3]` for depth, height and width.
        cropping: [[usize; 2]; 3] = [[1, 1]; 3],
    }
    /// Rebuilds from a Keras config (`cropping` an int, three ints or three pairs).
    from_config;
    impl Layer {
        fn compute_output_shape(&self, s: &[Option<usize>]) -> Result<Shape> {
            self.args.data_format.map_shape(&self.base.name, 5, s, |last| cropped_shape(last, &self.args.cropping.0, s))
        }

        fn call(&self, x: &Tensor, _ctx: &mut CallContext) -> Result<Tensor> {
            self.compute_output_shape(&known(x.shape()))?;
            self.args.data_format.map_call(x, |x| {
                let out = cropped_shape(&known(x.shape()), &self.args.cropping.0, &known(x.shape()))?;
                let size: Vec<usize> = out.iter().map(|d| d.unwrap_or(0)).collect();
                let begin = [0, self.args.cropping.0[0][0], self.args.cropping.0[1][0], self.args.cropping.0[2][0], 0];
                Ok(ops::slice(x, &begin, &size)?)
            })
        }
    }
}
