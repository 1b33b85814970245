//! Pieces shared by the layers that mix images with each other (MixUp, CutMix, and AugMix's
//! weights): the Gamma and Beta draws, and [`LabelMix`], the permutation and mix weights that
//! blend each image's label with its partner's, with the images-and-labels entry point.

use keras_engine::Rng;

use super::image_common::image_call;
use crate::layers::data_format::DataFormat;
use crate::preprocessing::image::images::Images;
use crate::{keras_bail, Result, Tensor};

/// The logarithm of a Gamma(`alpha`, 1) draw (Marsaglia and Tsang; an `alpha` below 1 takes
/// a Gamma(`alpha + 1`) draw times `u^(1 / alpha)`). Logarithms keep tiny shapes (CutMix's
/// `1e-6`) from underflowing to `0 / 0`. `alpha` must be finite and positive.
pub(crate) fn log_gamma_draw(r: &mut Rng, alpha: f64) -> f64 {
    if alpha < 1.0 {
        // `1 - u` is in (0, 1]: its logarithm is finite.
        let u = 1.0 - r.uniform_f64();
        return log_gamma_draw(r, alpha + 1.0) + u.ln() / alpha;
    }
    let d = alpha - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = r.normal_f64();
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = 1.0 - r.uniform_f64();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d.ln() + v.ln();
        }
    }
}

/// A Beta(`a`, `b`) draw: `X / (X + Y)` of two Gamma draws (as Keras's `random.beta`),
/// computed from their logarithms.
pub(crate) fn beta_draw(r: &mut Rng, a: f64, b: f64) -> f64 {
    let (x, y) = (log_gamma_draw(r, a), log_gamma_draw(r, b));
    let d = y - x;
    // Two infinitely small draws (shapes near the smallest float): an even coin.
    if d.is_nan() {
        return if r.uniform_f64() < 0.5 { 0.0 } else { 1.0 };
    }
    1.0 / (1.0 + d.exp())
}

/// The Beta/Dirichlet `alpha` of MixUp and AugMix, checked when the layer draws: positive
/// and finite (Keras takes any value and draws NaN weights).
pub(crate) fn draw_alpha(alpha: &serde_json::Number, class: &str) -> Result<f64> {
    let a = alpha.as_f64().unwrap_or(f64::NAN);
    if !(a > 0.0 && a.is_finite()) {
        keras_bail!(
            InvalidArgument,
            "{class} needs a positive, finite `alpha` to draw. Received: alpha={alpha}"
        );
    }
    Ok(a)
}

/// A Dirichlet(`alpha`, ..., `alpha`) draw of `k` weights (normalized Gamma draws, as
/// Keras's AugMix), from the Gammas' logarithms.
pub(crate) fn dirichlet_draw(r: &mut Rng, alpha: f64, k: usize) -> Vec<f64> {
    let logs: Vec<f64> = (0..k).map(|_| log_gamma_draw(r, alpha)).collect();
    let top = logs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = logs.iter().map(|l| (l - top).exp()).collect();
    let sum: f64 = w.iter().sum();
    w.iter().map(|v| v / sum).collect()
}

/// A uniform random permutation of `0..n` (Keras's `random.shuffle(arange(n))`).
pub(crate) fn permutation(r: &mut Rng, n: usize) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    r.shuffle(&mut p);
    p
}

/// How MixUp and CutMix blend the labels: image `i`'s label becomes
/// `mix_weight[i] * labels[i] + (1 - mix_weight[i]) * labels[permutation[i]]` (Keras's
/// `transform_labels`), for labels of shape `(batch, classes)`.
///
/// ```
/// use keras::layers::preprocessing::mixing::LabelMix;
/// let mix = LabelMix { permutation: vec![1, 0], mix_weight: vec![0.75, 1.0] };
/// let labels = keras::Tensor::new(vec![1.0, 0.0, 0.0, 1.0], [2, 2]).unwrap();
/// let y = mix.mix_labels(&labels).unwrap();
/// assert_eq!(y.to_f32_vec(), vec![0.75, 0.25, 0.0, 1.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LabelMix {
    /// `permutation[i]`: the image (and label) mixed into image `i`.
    pub permutation: Vec<usize>,
    /// The share of its own label (and, for MixUp, image) that image `i` keeps.
    pub mix_weight: Vec<f32>,
}

impl LabelMix {
    /// The check of a transformation against a batch of `n` images: one permutation entry
    /// and one weight per image, each entry an image of the batch.
    pub(crate) fn check(&self, n: usize, class: &str) -> Result<()> {
        if self.permutation.len() != n || self.mix_weight.len() != n {
            keras_bail!(
                InvalidArgument,
                "{class}: the transformation must have one permutation entry and one mix weight per \
                 image: {n} images, {} entries, {} weights",
                self.permutation.len(),
                self.mix_weight.len()
            );
        }
        if let Some(p) = self.permutation.iter().find(|&&p| p >= n) {
            keras_bail!(
                InvalidArgument,
                "{class}: permutation entry {p} is not an image of the batch of {n}"
            );
        }
        Ok(())
    }

    /// Keras's `transform_labels`: the labels `(batch, classes)` blended with their partners'.
    pub fn mix_labels(&self, labels: &Tensor) -> Result<Tensor> {
        let &[n, k] = labels.shape() else {
            keras_bail!(
                Shape,
                "The labels to mix must have shape (batch, classes) (one-hot or soft labels). \
                 Received: labels.shape={:?}",
                labels.shape()
            );
        };
        self.check(n, "mix_labels")?;
        let l = labels.to_f32_vec();
        let mut out = Vec::with_capacity(n * k);
        for (i, (&p, &w)) in self.permutation.iter().zip(&self.mix_weight).enumerate() {
            let (own, other) = (&l[i * k..(i + 1) * k], &l[p * k..(p + 1) * k]);
            out.extend(own.iter().zip(other).map(|(a, b)| w * a + (1.0 - w) * b));
        }
        Ok(Tensor::new(out, [n, k])?)
    }
}

/// A mixing layer's transformation: the label blend it carries.
pub(crate) trait MixesLabels {
    /// The permutation and weights that blend the labels.
    fn label_mix(&self) -> &LabelMix;
}

impl MixesLabels for LabelMix {
    fn label_mix(&self) -> &LabelMix {
        self
    }
}

/// A mixing layer's public `call_with_labels` (Keras's call on `{"images", "labels"}`), over
/// its `draw(&self, &Images) -> Result<Option<T>>` and the module's `apply(Images, &T)`.
macro_rules! call_with_labels_method {
    ($class:literal, $doc:literal) => {
        /// Keras's call on `{"images": images, "labels": labels}`: the mixed images and labels
        /// (`(batch, classes)`, or `(classes,)` for an unbatched image), both unchanged in
        /// inference.
        #[doc = $doc]
        pub fn call_with_labels(
            &self,
            images: &Tensor,
            labels: &Tensor,
            ctx: &mut CallContext,
        ) -> Result<(Tensor, Tensor)> {
            crate::layers::layer::check_pending(self)?;
            let draw = |img: &Images| self.draw(img);
            super::mixing::call_with_labels(
                self.args.data_format,
                images,
                labels,
                ctx.training,
                $class,
                draw,
                apply,
            )
        }
    };
}
pub(crate) use call_with_labels_method;

/// The images-and-labels call of a mixing layer (Keras's call on `{"images", "labels"}`):
/// in training, `draw` makes the transformation for the channels-last images (`None`: no
/// mixing), `images_with` applies it to the images and its label blend to the labels; an unbatched image
/// takes one label `(classes,)`, mixed as a batch of one.
pub(crate) fn call_with_labels<T: MixesLabels>(
    df: DataFormat,
    images: &Tensor,
    labels: &Tensor,
    training: bool,
    class: &str,
    draw: impl FnOnce(&Images) -> Result<Option<T>>,
    images_with: impl FnOnce(Images, &T) -> Result<Images>,
) -> Result<(Tensor, Tensor)> {
    let batched = images.rank() == 4;
    let labels_2d = match (batched, labels.rank()) {
        (true, 2) if labels.shape()[0] == images.shape()[0] => labels.clone(),
        (false, 1) => labels.reshape([1, labels.shape()[0]])?,
        _ => keras_bail!(
            Shape,
            "{class}: expected labels of shape (batch, classes) for a batch of images, or (classes,) \
             for a single image. Received: images.shape={:?}, labels.shape={:?}",
            images.shape(),
            labels.shape()
        ),
    };
    let mut t = None;
    let out = image_call(df, images, |x| {
        let img = Images::from_tensor(x, class)?;
        if !training {
            return img.into_tensor();
        }
        t = draw(&img)?;
        match &t {
            Some(t) => images_with(img, t)?.into_tensor(),
            None => img.into_tensor(),
        }
    })?;
    let mixed = match &t {
        Some(t) => t.label_mix().mix_labels(&labels_2d)?,
        None => labels_2d,
    };
    let mixed = if batched { mixed } else { mixed.reshape(labels.shape().to_vec())? };
    Ok((out, mixed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Beta(a, a) draws have mean 1/2 and variance 1 / (4 (2a + 1)), for shapes below and
    /// above 1; the tiny shapes of CutMix give 0s and 1s, never NaN.
    #[test]
    fn beta_moments() {
        let mut r = Rng::new(7);
        for a in [0.2, 1.0, 3.0] {
            let n = 40_000;
            let xs: Vec<f64> = (0..n).map(|_| beta_draw(&mut r, a, a)).collect();
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            let want = 1.0 / (4.0 * (2.0 * a + 1.0));
            assert!((mean - 0.5).abs() < 0.01, "a={a}: mean {mean}");
            assert!((var - want).abs() < 0.05 * want, "a={a}: var {var} want {want}");
        }
        let tiny: Vec<f64> = (0..1000).map(|_| beta_draw(&mut r, 1e-6, 1e-6)).collect();
        assert!(tiny.iter().all(|x| *x == 0.0 || *x == 1.0 || (x.is_finite() && (0.0..=1.0).contains(x))));
        let ones = tiny.iter().filter(|x| **x > 0.5).count();
        assert!((350..650).contains(&ones), "{ones}");
    }

    /// Gamma(a) draws have mean a (the Dirichlet weights of AugMix are normalized Gammas).
    #[test]
    fn gamma_mean() {
        let mut r = Rng::new(3);
        for a in [0.5, 1.0, 4.0] {
            let n = 40_000;
            let mean = (0..n).map(|_| log_gamma_draw(&mut r, a).exp()).sum::<f64>() / n as f64;
            assert!((mean - a).abs() < 0.03 * a.max(1.0), "a={a}: {mean}");
        }
    }

    #[test]
    fn permutations_are_permutations() {
        let mut r = Rng::new(1);
        let mut p = permutation(&mut r, 9);
        p.sort_unstable();
        assert_eq!(p, (0..9).collect::<Vec<_>>());
    }

    #[test]
    fn label_mix_errors() {
        let mix = LabelMix { permutation: vec![1, 0], mix_weight: vec![0.5, 0.5] };
        let e = mix.mix_labels(&Tensor::zeros([2])).unwrap_err().to_string();
        assert!(e.contains("(batch, classes)"), "{e}");
        let e = mix.mix_labels(&Tensor::zeros([3, 2])).unwrap_err().to_string();
        assert!(e.contains("3 images, 2 entries, 2 weights"), "{e}");
        let bad = LabelMix { permutation: vec![0, 2], mix_weight: vec![0.5, 0.5] };
        let e = bad.mix_labels(&Tensor::zeros([2, 2])).unwrap_err().to_string();
        assert!(e.contains("permutation entry 2"), "{e}");
    }
}
