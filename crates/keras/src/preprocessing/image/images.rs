//! A checked, flat NHWC float view of a rank-3 `(h, w, c)` or rank-4 `(n, h, w, c)` tensor,
//! the working form of every image function here.

use keras_engine::DType;

use crate::{keras_bail, Result, Tensor};

/// Images as flat float32 NHWC data. A rank-3 input is one image (`batched == false`).
#[derive(Clone, Debug)]
pub(crate) struct Images {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub batched: bool,
    pub data: Vec<f32>,
}

impl Images {
    /// Reads a rank-3 or rank-4 tensor (any dtype; cast to float32).
    pub fn from_tensor(t: &Tensor, what: &str) -> Result<Images> {
        let (n, h, w, c, batched) = match *t.shape() {
            [h, w, c] => (1, h, w, c, false),
            [n, h, w, c] => (n, h, w, c, true),
            _ => keras_bail!(
                Shape,
                "{what}: expected rank 3 (single image) or rank 4 (batch of images), got shape {:?}",
                t.shape()
            ),
        };
        let data = if t.dtype() == DType::F32 { t.as_f32()?.to_vec() } else { t.to_f32_vec() };
        Ok(Images { n, h, w, c, batched, data })
    }

    /// Zero-filled images of the given size (for sizes bounded by an existing image).
    pub fn zeros(n: usize, h: usize, w: usize, c: usize, batched: bool) -> Images {
        Images { n, h, w, c, batched, data: vec![0.0; n * h * w * c] }
    }

    /// Zero-filled images of a size that comes from an argument (a resize target): an error,
    /// not an abort, when it is too large to allocate.
    pub fn try_zeros(n: usize, h: usize, w: usize, c: usize, batched: bool) -> Result<Images> {
        let len = keras_engine::alloc::checked_numel(&[n, h, w, c], 4)?;
        let data = keras_engine::alloc::try_filled(len, 0.0)?;
        Ok(Images { n, h, w, c, batched, data })
    }

    /// Values of one image.
    pub fn image(&self, b: usize) -> &[f32] {
        let s = self.h * self.w * self.c;
        &self.data[b * s..(b + 1) * s]
    }

    /// Values of one image, mutable.
    pub fn image_mut(&mut self, b: usize) -> &mut [f32] {
        let s = self.h * self.w * self.c;
        &mut self.data[b * s..(b + 1) * s]
    }

    /// Back to a tensor of the input's rank.
    pub fn into_tensor(self) -> Result<Tensor> {
        let shape =
            if self.batched { vec![self.n, self.h, self.w, self.c] } else { vec![self.h, self.w, self.c] };
        Ok(Tensor::new(self.data, shape)?)
    }

    /// The `[h0, h0 + hh) x [w0, w0 + ww)` window of every image (clipped to the image).
    pub fn crop(&self, h0: usize, w0: usize, hh: usize, ww: usize) -> Images {
        let h1 = h0.saturating_add(hh).min(self.h);
        let w1 = w0.saturating_add(ww).min(self.w);
        let (hh, ww) = (h1.saturating_sub(h0), w1.saturating_sub(w0));
        let mut out = Images::zeros(self.n, hh, ww, self.c, self.batched);
        let c = self.c;
        if hh == 0 || ww == 0 {
            // An empty window (an empty image, or a start past its edge): nothing to copy, and
            // the start offsets need not lie inside the image.
            return out;
        }
        for b in 0..self.n {
            let src = self.image(b);
            let dst = out.image_mut(b);
            for y in 0..hh {
                let s = ((h0 + y) * self.w + w0) * c;
                dst[y * ww * c..(y + 1) * ww * c].copy_from_slice(&src[s..s + ww * c]);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Images;

    /// The panic the robustness property test found: cropping an image of width 0 with a start
    /// past its edge indexed out of the buffer.
    #[test]
    fn empty_windows_crop_to_empty_images() {
        let img = Images::zeros(1, 2, 0, 1, false);
        let out = img.crop(0, usize::MAX / 2, 1, 1);
        assert_eq!((out.h, out.w), (1, 0));
        let out = Images::zeros(2, 3, 3, 1, true).crop(5, 5, 2, 2);
        assert_eq!((out.h, out.w), (0, 0));
    }
}
