//! Image augmentation from files: writes the shipped Fashion-MNIST images as PNG files into a
//! folder tree (`<root>/train/<class>/*.png`, `<root>/test/<class>/*.png`), then trains a
//! small CNN on them with `ImageDataGenerator.flow_from_directory` (rotation, shifts, zoom,
//! horizontal flips; 20% of the training folder held out through `validation_split`) and
//! evaluates it on the test folder read with `image_dataset_from_directory`.
//!
//! ```text
//! cargo run --release -p keras --example fashion_mnist_augmentation [-- --per-class N --epochs N]
//! ```

mod common;

use common::arg;
use std::path::Path;

use keras::datasets::fashion_mnist;
use keras::layers::{Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D};
use keras::models::Sequential;
use keras::preprocessing::image::{
    save_img, ClassMode, ColorMode, FlowArgs, ImageDataGenerator, PilInterpolation, Subset,
};
use keras::utils::{image_dataset_from_directory, ImageDatasetArgs, LabelMode, Sequence};
use keras::{EvaluateArgs, FitArgs, Tensor};

/// Writes up to `per_class` images of each class as `dir/<class name>/<i>.png`.
fn write_split(dir: &Path, x: &Tensor, y: &Tensor, per_class: usize) -> keras::Result<usize> {
    let (pixels, labels) = (x.to_f32_vec(), y.to_i64_vec());
    let mut counts = [0usize; 10];
    for (i, &label) in labels.iter().enumerate() {
        let c = label as usize;
        if counts[c] >= per_class {
            continue;
        }
        let class_dir = dir.join(fashion_mnist::CLASS_NAMES[c].replace('/', "_"));
        std::fs::create_dir_all(&class_dir)?;
        let img = Tensor::new(pixels[i * 784..(i + 1) * 784].to_vec(), [28, 28, 1])?;
        save_img(class_dir.join(format!("{i:05}.png")), &img, None, false)?;
        counts[c] += 1;
    }
    Ok(counts.iter().sum())
}

fn main() -> keras::Result<()> {
    let per_class = arg("--per-class", 300);
    let epochs = arg("--epochs", 5);
    keras::utils::set_random_seed(42);
    let root = std::env::temp_dir().join(format!("keras_rs_fashion_mnist_{}", std::process::id()));
    let ((x_train, y_train), (x_test, y_test)) = fashion_mnist::load_data()?;
    let written = write_split(&root.join("train"), &x_train, &y_train, per_class)?;
    let written_test = write_split(&root.join("test"), &x_test, &y_test, per_class / 3)?;
    println!("wrote {written} training and {written_test} test PNG files under {}", root.display());

    let generator = ImageDataGenerator::new()
        .rescale(1.0 / 255.0)
        .rotation_range(10.0)
        .width_shift_range(0.1)
        .height_shift_range(0.1)
        .zoom_range(0.1)
        .horizontal_flip(true)
        .validation_split(0.2);
    let flow = |subset| {
        generator.flow_from_directory(
            root.join("train"),
            FlowArgs::default()
                .batch_size(32)
                .seed(1)
                .subset(subset)
                .target_size(28, 28)
                .color_mode(ColorMode::Grayscale)
                .class_mode(ClassMode::Categorical)
                .interpolation(PilInterpolation::Nearest),
        )
    };
    let mut train = flow(Subset::Training)?;
    let mut validation = flow(Subset::Validation)?;
    println!("classes: {:?}", train.class_names());

    let mut model = Sequential::new();
    model.add(Input::new(&[28, 28, 1]))?;
    model.add(Conv2D::new(16, [3, 3]).activation("relu"))?;
    model.add(MaxPooling2D::new([2, 2]))?;
    model.add(Conv2D::new(32, [3, 3]).activation("relu"))?;
    model.add(MaxPooling2D::new([2, 2]))?;
    model.add(Flatten::new())?;
    model.add(Dropout::new(0.3))?;
    model.add(Dense::new(64).activation("relu"))?;
    model.add(Dense::new(10).activation("softmax"))?;
    model.compile("adam", "categorical_crossentropy", &["accuracy"])?;
    model.summary();

    for epoch in 0..epochs {
        let h = model.fit_sequence(&mut train, FitArgs::default().epochs(1).verbose(0))?;
        let v = model.evaluate_sequence(&mut validation, EvaluateArgs::default().verbose(0))?;
        println!(
            "epoch {}/{epochs}: loss {:.4} accuracy {:.4} | val_loss {:.4} val_accuracy {:.4}",
            epoch + 1,
            h.history["loss"][0],
            h.history["accuracy"][0],
            v["loss"],
            v["accuracy"]
        );
    }

    // The test folder through `image_dataset_from_directory` (pixels 0..255, so rescale here).
    let test = image_dataset_from_directory(
        root.join("test"),
        ImageDatasetArgs {
            image_size: (28, 28),
            color_mode: ColorMode::Grayscale,
            label_mode: LabelMode::Categorical,
            shuffle: false,
            ..Default::default()
        },
    )?;
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for i in 0..test.len() {
        let b = test.get_batch(i)?;
        let x = b.x.as_tensor()?;
        xs.push(Tensor::new(x.to_f32_vec().iter().map(|p| p / 255.0).collect(), x.shape().to_vec())?);
        ys.push(b.y.expect("labels").as_tensor()?.clone());
    }
    let (x, y) = (Tensor::concat_rows(&xs)?, Tensor::concat_rows(&ys)?);
    let t = model.evaluate(&x, &y, EvaluateArgs::default().verbose(0))?;
    println!("test: loss {:.4} accuracy {:.4} on {} images", t["loss"], t["accuracy"], x.shape()[0]);
    std::fs::remove_dir_all(&root).ok();
    Ok(())
}
