//! A Functional model with two inputs and two outputs, trained on the shipped Fashion-MNIST
//! images: the image and a side feature vector go in, the clothing class and a regression
//! target come out.
//!
//! * input `image` (28x28x1) goes through a small CNN; input `side` holds the mean intensity
//!   of each image quadrant (4 numbers), through a Dense layer; the two are concatenated;
//! * output `class`: the 10-way softmax (sparse categorical crossentropy, accuracy);
//! * output `ink`: the fraction of bright pixels (> 0.5) of the image (mean squared error,
//!   mean absolute error), weighted 0.5 in the total loss.
//!
//! History and the evaluation logs use Keras's names: `loss`, `class_loss`, `ink_loss`,
//! `class_accuracy`, `ink_mae` and their `val_` forms.
//!
//! ```text
//! cargo run --release -p keras --example functional_two_heads [-- --epochs N --batch-size N]
//! ```

mod common;

use common::arg;
use keras::datasets::fashion_mnist;
use keras::layers::{Concatenate, Conv2D, Dense, Flatten, MaxPooling2D};
use keras::models::{Model, SymbolicCall};
use keras::optimizers::Adam;
use keras::trainers::{CompileArgs, LossWeights, Losses, Metrics};
use keras::{EvaluateArgs, FitArgs, Input, Result, Tensor};

/// The model's three arrays for `(n, 28, 28)` pixels 0..255: images in [0, 1], the quadrant
/// means `(n, 4)` and the bright-pixel fraction `(n, 1)`.
fn arrays(x: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
    let n = x.shape()[0];
    let v: Vec<f32> = x.as_f32()?.iter().map(|p| p / 255.0).collect();
    let (mut side, mut ink) = (vec![0f32; n * 4], vec![0f32; n]);
    for i in 0..n {
        let img = &v[i * 784..(i + 1) * 784];
        for r in 0..28 {
            for c in 0..28 {
                let p = img[r * 28 + c];
                side[i * 4 + (r / 14) * 2 + c / 14] += p / 196.0;
                if p > 0.5 {
                    ink[i] += 1.0 / 784.0;
                }
            }
        }
    }
    Ok((Tensor::new(v, [n, 28, 28, 1])?, Tensor::new(side, [n, 4])?, Tensor::new(ink, [n, 1])?))
}

fn main() -> Result<()> {
    let epochs = arg("--epochs", 3);
    let batch_size = arg("--batch-size", 64);
    keras::utils::set_random_seed(7);

    let ((x_train, y_train), (x_test, y_test)) = fashion_mnist::load_data()?;
    let (img_train, side_train, ink_train) = arrays(&x_train)?;
    let (img_test, side_test, ink_test) = arrays(&x_test)?;
    println!("Fashion-MNIST (shipped): {} train, {} test images", x_train.shape()[0], x_test.shape()[0]);

    let image = Input::named(&[28, 28, 1], "image");
    let side = Input::named(&[4], "side");
    let h = Conv2D::new(16, [3, 3]).activation("relu").apply(&image)?;
    let h = MaxPooling2D::new([2, 2]).apply(&h)?;
    let h = Conv2D::new(32, [3, 3]).activation("relu").apply(&h)?;
    let h = MaxPooling2D::new([2, 2]).apply(&h)?;
    let h = Flatten::new().apply(&h)?;
    let s = Dense::new(8).activation("relu").apply(&side)?;
    let both = Concatenate::new().apply_list(&[&h, &s])?;
    let both = Dense::new(64).activation("relu").apply(&both)?;
    let class = Dense::new(10).activation("softmax").name("class").apply(&both)?;
    let ink = Dense::new(1).activation("sigmoid").name("ink").apply(&both)?;
    let mut model = Model::named("two_heads", &[image, side], &[class, ink])?;
    model.compile_args(
        CompileArgs::new(Adam::new())
            .loss(Losses::from([("class", "sparse_categorical_crossentropy"), ("ink", "mse")]))
            .loss_weights(LossWeights::from([("class", 1.0), ("ink", 0.5)]))
            .metrics(Metrics::from(vec![vec!["accuracy"], vec!["mae"]])),
    )?;
    model.summary();

    let start = std::time::Instant::now();
    let history = model.fit(
        vec![img_train, side_train],
        vec![y_train, ink_train],
        FitArgs::default().validation_split(0.1).epochs(epochs).batch_size(batch_size),
    )?;
    let secs = start.elapsed().as_secs_f64();
    println!("\nHistory keys: {:?}", history.history.keys().collect::<Vec<_>>());
    println!("History:\n{history}");
    let logs = model.evaluate(
        vec![img_test, side_test],
        vec![y_test, ink_test],
        EvaluateArgs::default().verbose(0),
    )?;
    println!(
        "Test: loss {:.4}, class_loss {:.4}, ink_loss {:.5}, class_accuracy {:.4}, ink_mae {:.4} \
         (training took {secs:.1} s)",
        logs["loss"], logs["class_loss"], logs["ink_loss"], logs["class_accuracy"], logs["ink_mae"]
    );
    Ok(())
}
