//! Image preprocessing end to end: properties of the random augmentation layers, the
//! `ImageDataGenerator` iterators and the folder datasets on real PNG/JPEG files, `fit` on
//! them, and every bad input promised (unreadable or non-image files named by path,
//! mismatched x/y, target size 0, empty folders).

use std::path::{Path, PathBuf};

use keras::layers::{
    CallContext, Conv2D, Dense, Flatten, Input, Layer, RandomBrightness, RandomContrast, RandomCrop,
    RandomFlip, RandomRotation, RandomTranslation, RandomZoom,
};
use keras::models::Sequential;
use keras::preprocessing::image::{
    load_img, save_img, ClassMode, ColorMode, FlowArgs, ImageDataGenerator, LoadImgArgs, PilInterpolation,
    Subset,
};
use keras::utils::{
    image_dataset_from_directory, text_dataset_from_directory, DatasetSubset, ImageDatasetArgs, LabelMode,
    Sequence, TextDatasetArgs,
};
use keras::{Error, FitArgs, Tensor};

fn images(n: usize, h: usize, w: usize, c: usize) -> Tensor {
    Tensor::new((0..n * h * w * c).map(|v| ((v * 37 + 11) % 251) as f32).collect(), [n, h, w, c]).unwrap()
}

fn close(a: &Tensor, b: &Tensor, tol: f32) -> bool {
    a.shape() == b.shape() && a.to_f32_vec().iter().zip(b.to_f32_vec()).all(|(x, y)| (x - y).abs() <= tol)
}

fn run(l: &dyn Layer, x: &Tensor, training: bool) -> Tensor {
    l.call(x, &mut CallContext::new(training)).unwrap()
}

#[test]
fn random_layers_are_identity_in_inference() {
    let x = images(3, 6, 7, 3);
    let layers: Vec<Box<dyn Layer>> = vec![
        Box::new(RandomFlip::new("horizontal_and_vertical")),
        Box::new(RandomRotation::new(0.3)),
        Box::new(RandomZoom::new(0.3)),
        Box::new(RandomTranslation::new(0.2, 0.2)),
        Box::new(RandomContrast::new(0.5)),
        Box::new(RandomBrightness::new(0.5)),
        Box::new(RandomCrop::new(4, 4)),
    ];
    for l in &layers {
        assert_eq!(run(l.as_ref(), &x, false).to_f32_vec(), x.to_f32_vec(), "{}", l.class_name());
    }
}

#[test]
fn flip_twice_is_identity_and_flips_are_exact_mirrors() {
    let x = images(8, 3, 4, 2);
    let flip = RandomFlip::new("horizontal").seed(5);
    let once = run(&flip, &x, true);
    let (xs, ys) = (x.to_f32_vec(), once.to_f32_vec());
    let per = 3 * 4 * 2;
    let (mut flipped, mut kept) = (0, 0);
    for b in 0..8 {
        let (xi, yi) = (&xs[b * per..(b + 1) * per], &ys[b * per..(b + 1) * per]);
        if xi == yi {
            kept += 1;
        } else {
            // Column j of the output is column w - 1 - j of the input.
            for r in 0..3 {
                for j in 0..4 {
                    for c in 0..2 {
                        assert_eq!(yi[(r * 4 + j) * 2 + c], xi[(r * 4 + 3 - j) * 2 + c]);
                    }
                }
            }
            flipped += 1;
        }
    }
    assert!(flipped > 0 && kept > 0, "8 images: {flipped} flipped, {kept} kept");
    // Flipping along the same axis twice gives the input back.
    let vertical = keras::preprocessing::image::flip_axis;
    let one = Tensor::new(xs[..per].to_vec(), [3, 4, 2]).unwrap();
    assert_eq!(vertical(&vertical(&one, 0).unwrap(), 0).unwrap().to_f32_vec(), one.to_f32_vec());
}

#[test]
fn zero_rotation_and_unit_zoom_are_identity() {
    let x = images(2, 5, 6, 1);
    assert!(close(&run(&RandomRotation::range(0.0, 0.0), &x, true), &x, 1e-3));
    assert!(close(&run(&RandomZoom::new(0.0), &x, true), &x, 1e-3));
    assert!(close(&run(&RandomTranslation::new(0.0, 0.0), &x, true), &x, 1e-3));
    assert!(close(&run(&RandomContrast::new(0.0), &x, true), &x, 1e-4));
}

#[test]
fn brightness_and_contrast_stay_in_range_and_respect_factors() {
    let x = images(16, 4, 4, 3);
    let b = RandomBrightness::new(0.3).seed(1);
    for _ in 0..20 {
        let y = run(&b, &x, true).to_f32_vec();
        assert!(y.iter().all(|v| (0.0..=255.0).contains(v)));
        // Unclipped pixels move by at most 0.3 * 255.
        for (yv, xv) in y.iter().zip(x.to_f32_vec()) {
            if *yv > 0.0 && *yv < 255.0 {
                assert!((yv - xv).abs() <= 0.3 * 255.0 + 1e-3);
            }
        }
    }
    let c = RandomContrast::new(0.9).value_range(0.0, 255.0).seed(2);
    let y = run(&c, &x, true);
    assert!(y.to_f32_vec().iter().all(|v| (0.0..=255.0).contains(v)));
}

#[test]
fn same_seed_gives_the_same_batch() {
    let x = images(4, 6, 6, 3);
    let make = || -> Vec<Box<dyn Layer>> {
        vec![
            Box::new(RandomFlip::new("horizontal").seed(7)),
            Box::new(RandomRotation::new(0.2).seed(7)),
            Box::new(RandomZoom::new(0.2).seed(7)),
            Box::new(RandomTranslation::new(0.2, 0.1).seed(7)),
            Box::new(RandomContrast::new(0.4).seed(7)),
            Box::new(RandomBrightness::new(0.4).seed(7)),
            Box::new(RandomCrop::new(3, 4).seed(7)),
        ]
    };
    let (a, b) = (make(), make());
    for (la, lb) in a.iter().zip(&b) {
        let ya = run(la.as_ref(), &x, true);
        assert_eq!(ya.to_f32_vec(), run(lb.as_ref(), &x, true).to_f32_vec(), "{}", la.class_name());
    }
    // Generator flows: the same seed gives the same batches, whatever the order they are read in.
    let g = ImageDataGenerator::new().rotation_range(20.0).zoom_range(0.2).horizontal_flip(true);
    let f1 = g.flow(&x, None, FlowArgs::default().batch_size(2).seed(3)).unwrap();
    let f2 = g.flow(&x, None, FlowArgs::default().batch_size(2).seed(3)).unwrap();
    let later = f2.get_batch(1).unwrap().x;
    let later = later.as_tensor().unwrap();
    assert_eq!(
        f1.get_batch(0).unwrap().x.as_tensor().unwrap().to_f32_vec(),
        f2.get_batch(0).unwrap().x.as_tensor().unwrap().to_f32_vec()
    );
    assert_eq!(f1.get_batch(1).unwrap().x.as_tensor().unwrap().to_f32_vec(), later.to_f32_vec());
}

#[test]
fn zoom_and_rotation_ranges_are_respected_over_many_draws() {
    // A single bright pixel at the centre of a dark 9x9 image: rotation about the centre keeps
    // it there; translation moves it by at most the factor.
    let mut v = vec![0.0f32; 81];
    v[40] = 100.0;
    let x = Tensor::new(v, [1, 9, 9, 1]).unwrap();
    let rot = RandomRotation::new(0.5).fill_mode("constant").seed(11);
    let shift = RandomTranslation::new(0.2, 0.2).fill_mode("constant").interpolation("nearest").seed(12);
    for _ in 0..50 {
        assert!((run(&rot, &x, true).to_f32_vec()[40] - 100.0).abs() < 1e-3);
        let y = run(&shift, &x, true).to_f32_vec();
        let at = y.iter().position(|&p| p == 100.0).expect("the pixel stays inside");
        let (r, c) = ((at / 9) as i32, (at % 9) as i32);
        assert!((r - 4).abs() <= 2 && (c - 4).abs() <= 2, "moved to ({r}, {c})");
    }
    let g = ImageDataGenerator::new().zoom_range_between(0.5, 0.9).channel_shift_range(5.0);
    let mut rng = keras::preprocessing::image::Rng::new(1);
    for _ in 0..300 {
        let p = g.get_random_transform(9, 9, &mut rng);
        assert!((0.5..0.9).contains(&p.affine.zx) && (0.5..0.9).contains(&p.affine.zy));
        assert!(p.channel_shift_intensity.unwrap().abs() <= 5.0);
    }
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keras_rs_img_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Two classes of 6 small images each (PNG for "dark", JPEG for "light").
fn write_tree(root: &Path) {
    for (class, ext, base) in [("dark", "png", 20.0f32), ("light", "jpg", 220.0)] {
        let d = root.join(class);
        std::fs::create_dir_all(&d).unwrap();
        for i in 0..6 {
            let img = Tensor::new(
                (0..10 * 12 * 3).map(|v| base + (v % 7) as f32 + i as f32).collect(),
                [10, 12, 3],
            )
            .unwrap();
            save_img(d.join(format!("img_{i}.{ext}")), &img, None, false).unwrap();
        }
    }
}

#[test]
fn flow_from_directory_and_datasets_read_real_files() {
    let root = tempdir("tree");
    write_tree(&root);
    std::fs::write(root.join("dark").join("notes.md"), "not an image, wrong extension: skipped").unwrap();
    let g = ImageDataGenerator::new().rescale(1.0 / 255.0).validation_split(0.5);
    let train = g
        .flow_from_directory(
            &root,
            FlowArgs::default()
                .batch_size(4)
                .seed(1)
                .subset(Subset::Training)
                .target_size(8, 8)
                .color_mode(ColorMode::Rgb)
                .class_mode(ClassMode::Categorical)
                .interpolation(PilInterpolation::Bilinear),
        )
        .unwrap();
    assert_eq!(train.samples(), 6);
    assert_eq!(train.class_names(), ["dark", "light"]);
    let b = train.get_batch(0).unwrap();
    assert_eq!(b.x.as_tensor().unwrap().shape(), &[4, 8, 8, 3]);
    let (xs, ys) = (b.x.as_tensor().unwrap().to_f32_vec(), b.y.unwrap().as_tensor().unwrap().to_f32_vec());
    for i in 0..4 {
        let mean: f32 = xs[i * 192..(i + 1) * 192].iter().sum::<f32>() / 192.0;
        let light = ys[i * 2 + 1] == 1.0;
        assert!(if light { mean > 0.7 } else { mean < 0.3 }, "label {light} but mean {mean}");
    }
    let gray = ImageDataGenerator::new()
        .flow_from_directory(
            &root,
            FlowArgs::default()
                .target_size(5, 6)
                .color_mode(ColorMode::Grayscale)
                .classes(&["light"])
                .class_mode(ClassMode::Sparse)
                .interpolation(PilInterpolation::Nearest),
        )
        .unwrap();
    assert_eq!(gray.samples(), 6);
    assert_eq!(gray.get_batch(0).unwrap().x.as_tensor().unwrap().shape(), &[6, 5, 6, 1]);

    let opts = |subset| ImageDatasetArgs {
        image_size: (6, 6),
        batch_size: 4,
        seed: Some(9),
        validation_split: Some(0.25),
        subset: Some(subset),
        label_mode: LabelMode::Categorical,
        verbose: false,
        ..Default::default()
    };
    let tr = image_dataset_from_directory(&root, opts(DatasetSubset::Training)).unwrap();
    let va = image_dataset_from_directory(&root, opts(DatasetSubset::Validation)).unwrap();
    assert_eq!((tr.file_paths().len(), va.file_paths().len()), (9, 3));
    assert!(tr.file_paths().iter().all(|p| !va.file_paths().contains(p)), "the subsets overlap");
    let b = tr.get_batch(2).unwrap();
    assert_eq!(b.x.as_tensor().unwrap().shape(), &[1, 6, 6, 3]);
    assert_eq!(b.y.unwrap().as_tensor().unwrap().shape(), &[1, 2]);

    let text_root = tempdir("texts");
    for (class, words) in [("neg", "bad awful"), ("pos", "good great")] {
        std::fs::create_dir_all(text_root.join(class)).unwrap();
        for i in 0..3 {
            std::fs::write(text_root.join(class).join(format!("{i}.txt")), format!("{words} {i}")).unwrap();
        }
    }
    let ds = text_dataset_from_directory(
        &text_root,
        TextDatasetArgs {
            batch_size: 4,
            max_length: Some(4),
            seed: Some(1),
            verbose: false,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(ds.len(), 2);
    let all = ds.all().unwrap();
    assert_eq!(all.texts.len(), 6);
    let labels = all.labels.unwrap().as_i32().unwrap().to_vec();
    for (t, l) in all.texts.iter().zip(labels) {
        assert_eq!(t.len(), 4);
        assert_eq!(l, if t.starts_with("bad") { 0 } else { 1 }, "{t}");
    }
    std::fs::remove_dir_all(root).ok();
    std::fs::remove_dir_all(text_root).ok();
}

#[test]
fn fit_consumes_flow_and_directory_iterators() {
    keras::utils::set_random_seed(0);
    let root = tempdir("fit");
    write_tree(&root);
    let g = ImageDataGenerator::new().rescale(1.0 / 255.0).horizontal_flip(true).rotation_range(5.0);
    let mut it = g
        .flow_from_directory(
            &root,
            FlowArgs::default()
                .batch_size(4)
                .seed(2)
                .target_size(8, 8)
                .color_mode(ColorMode::Rgb)
                .class_mode(ClassMode::Categorical)
                .interpolation(PilInterpolation::Nearest),
        )
        .unwrap();
    let mut model = Sequential::new();
    model.add(Input::new(&[8, 8, 3])).unwrap();
    model.add(Conv2D::new(4, [3, 3]).activation("relu")).unwrap();
    model.add(Flatten::new()).unwrap();
    model.add(Dense::new(2).activation("softmax")).unwrap();
    model.compile("adam", "categorical_crossentropy", &["accuracy"]).unwrap();
    let h = model.fit_sequence(&mut it, FitArgs::default().epochs(2).verbose(0)).unwrap();
    assert_eq!(h.history["loss"].len(), 2);
    assert!(h.history["loss"].iter().all(|l| l.is_finite()));
    let x = images(10, 8, 8, 3);
    let y = Tensor::from_i32((0..10).map(|i| i % 2).collect(), [10]).unwrap();
    let y = keras::utils::to_categorical(&y, None).unwrap();
    let mut flow = g.flow(&x, Some(&y), FlowArgs::default().batch_size(4).seed(1)).unwrap();
    let h = model.fit_sequence(&mut flow, FitArgs::default().epochs(1).verbose(0)).unwrap();
    assert!(h.history["loss"][0].is_finite());
    std::fs::remove_dir_all(root).ok();
}

/// Worker threads change where batches are made, not what they are: training through
/// `with_workers(3)` ends with the same weights as training on the calling thread.
#[test]
fn workers_give_the_same_training_as_the_calling_thread() {
    use keras::utils::SequenceExt;
    let root = tempdir("workers");
    write_tree(&root);
    let g = ImageDataGenerator::new().rescale(1.0 / 255.0).horizontal_flip(true).rotation_range(10.0);
    let train = |workers: usize| {
        keras::backend::clear_session();
        keras::utils::set_random_seed(3);
        let it = g
            .flow_from_directory(
                &root,
                FlowArgs::default()
                    .batch_size(2)
                    .seed(5)
                    .target_size(8, 8)
                    .color_mode(ColorMode::Rgb)
                    .class_mode(ClassMode::Categorical)
                    .interpolation(PilInterpolation::Nearest),
            )
            .unwrap();
        let mut it = it.with_workers(workers).queue_size(2);
        let mut model = Sequential::new();
        model.add(Input::new(&[8, 8, 3])).unwrap();
        model.add(Flatten::new()).unwrap();
        model.add(Dense::new(2).activation("softmax")).unwrap();
        model.compile("sgd", "categorical_crossentropy", &["accuracy"]).unwrap();
        let h = model.fit_sequence(&mut it, FitArgs::default().epochs(3).verbose(0)).unwrap();
        (h.history["loss"].clone(), model.get_weights())
    };
    let (loss1, w1) = train(1);
    let (loss3, w3) = train(3);
    assert_eq!(loss1, loss3);
    for (a, b) in w1.iter().zip(&w3) {
        assert_eq!(a.as_f32().unwrap(), b.as_f32().unwrap());
    }
    std::fs::remove_dir_all(root).ok();
}

#[test]
fn bad_inputs_are_clear_errors() {
    let g = ImageDataGenerator::new();
    // Mismatched x and y.
    let e = g.flow(&images(4, 3, 3, 1), Some(&Tensor::zeros([3])), FlowArgs::default()).err().unwrap();
    assert!(matches!(e, Error::Shape(_)) && e.message().contains("same length"), "{e}");
    // Not a batch of images.
    assert!(g.flow(&Tensor::zeros([4, 3]), None, FlowArgs::default()).is_err());
    let root = tempdir("bad");
    // Empty folder.
    let empty = root.join("empty");
    std::fs::create_dir_all(empty.join("class_a")).unwrap();
    let e = image_dataset_from_directory(&empty, ImageDatasetArgs { verbose: false, ..Default::default() })
        .err()
        .unwrap();
    assert!(e.message().contains("No images found"), "{e}");
    assert!(text_dataset_from_directory(&empty, TextDatasetArgs { verbose: false, ..Default::default() })
        .is_err());
    // A file with an image extension that is not an image: the batch error names it.
    let tree = root.join("tree");
    write_tree(&tree);
    std::fs::write(tree.join("dark").join("broken.png"), b"definitely not a png").unwrap();
    let ds = image_dataset_from_directory(
        &tree,
        ImageDatasetArgs {
            shuffle: false,
            batch_size: 64,
            image_size: (4, 4),
            verbose: false,
            ..Default::default()
        },
    )
    .unwrap();
    let e = ds.get_batch(0).err().unwrap();
    assert!(e.message().contains("broken.png"), "{e}");
    let it = g
        .flow_from_directory(
            &tree,
            FlowArgs::default()
                .shuffle(false)
                .batch_size(64)
                .target_size(4, 4)
                .color_mode(ColorMode::Rgb)
                .class_mode(ClassMode::Sparse)
                .interpolation(PilInterpolation::Nearest),
        )
        .unwrap();
    assert!(it.get_batch(0).err().unwrap().message().contains("broken.png"));
    // A target size of zero.
    let zero = ImageDatasetArgs { image_size: (0, 4), verbose: false, ..Default::default() };
    assert!(image_dataset_from_directory(&tree, zero).is_err());
    assert!(g
        .flow_from_directory(
            &tree,
            FlowArgs::default()
                .target_size(0, 4)
                .color_mode(ColorMode::Rgb)
                .class_mode(ClassMode::Sparse)
                .interpolation(PilInterpolation::Nearest)
        )
        .is_err());
    // Missing folder, split without seed, binary with wrong class count, invalid UTF-8 text.
    assert!(matches!(
        image_dataset_from_directory(root.join("nope"), ImageDatasetArgs::default()).err().unwrap(),
        Error::Io(_)
    ));
    let no_seed = ImageDatasetArgs {
        validation_split: Some(0.2),
        subset: Some(DatasetSubset::Training),
        verbose: false,
        ..Default::default()
    };
    assert!(image_dataset_from_directory(&tree, no_seed).err().unwrap().message().contains("seed"));
    let texts = root.join("texts");
    std::fs::create_dir_all(texts.join("a")).unwrap();
    std::fs::create_dir_all(texts.join("b")).unwrap();
    std::fs::create_dir_all(texts.join("c")).unwrap();
    std::fs::write(texts.join("a").join("bad.txt"), [0xff, 0xfe, 0x41]).unwrap();
    let binary = TextDatasetArgs { label_mode: LabelMode::Binary, verbose: false, ..Default::default() };
    assert!(text_dataset_from_directory(&texts, binary).err().unwrap().message().contains("exactly 2"));
    let ds = text_dataset_from_directory(&texts, TextDatasetArgs { verbose: false, ..Default::default() })
        .unwrap();
    let e = ds.get_batch(0).err().unwrap();
    assert!(e.message().contains("bad.txt") && e.message().contains("UTF-8"), "{e}");
    // Bad layer arguments.
    let mut m = Sequential::new();
    assert!(m.add(RandomRotation::new(2.0)).is_err());
    assert!(m.add(RandomZoom::new(-1.0)).is_err());
    assert!(m.add(RandomFlip::new("diagonal")).is_err());
    assert!(m.add(RandomContrast::new(1.5)).is_err());
    assert!(m.add(RandomCrop::new(0, 3)).is_err());
    std::fs::remove_dir_all(root).ok();
}

#[test]
fn load_img_from_memory_equals_load_img_on_the_same_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/applications/oracle/images");
    for name in ["cifar_01.png", "cifar_06.png"] {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).unwrap();
        for (mode, size, interpolation) in [
            (ColorMode::Rgb, None, PilInterpolation::Nearest),
            (ColorMode::Grayscale, Some((20, 24)), PilInterpolation::Bilinear),
            (ColorMode::Rgba, Some((48, 40)), PilInterpolation::Bicubic),
        ] {
            let opts = || LoadImgArgs {
                color_mode: mode,
                target_size: size,
                interpolation,
                keep_aspect_ratio: false,
            };
            let a = load_img(&path, opts()).unwrap();
            let b = keras::preprocessing::image::load_img_from_memory(&bytes, opts()).unwrap();
            assert_eq!((a.width(), a.height(), a.color()), (b.width(), b.height(), b.color()));
            assert_eq!(a.as_bytes(), b.as_bytes(), "{name} {mode:?} {size:?}");
        }
    }
    // Truncated bytes are an error naming the source, not a panic.
    let bytes = std::fs::read(dir.join("cifar_11.png")).unwrap();
    let e =
        keras::preprocessing::image::load_img_from_memory(&bytes[..bytes.len() / 2], LoadImgArgs::default())
            .unwrap_err();
    assert!(e.to_string().contains("'<memory>'"), "{e}");
}
