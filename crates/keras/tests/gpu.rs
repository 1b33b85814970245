//! Keras models on a CUDA GPU (run with `cargo test -p keras --features cuda --test gpu`).
//!
//! Its own runner (`harness = false`): without a GPU every case prints `SKIP` and counts as
//! skipped, never as passed. Cases run one after another (one CUDA stream, graph captures).

#[cfg(not(feature = "cuda"))]
fn main() {
    println!("SKIP gpu: built without the `cuda` feature");
    println!("0 passed, 0 failed, 1 skipped");
}

#[cfg(feature = "cuda")]
fn main() {
    cases::main()
}

#[cfg(feature = "cuda")]
mod cases {
    use keras::layers::{Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D};
    use keras::models::Sequential;
    use keras::optimizers::Adam;
    use keras::{backend, Tensor};
    use keras_engine::device::{self, Device};

    const GPU: Device = Device::Cuda(0);

    fn data(n: usize, row: &[usize], classes: usize, seed: u64) -> (Tensor, Tensor) {
        let mut r = keras_engine::Rng::new(seed);
        let len: usize = row.iter().product();
        let x: Vec<f32> = (0..n * len).map(|_| r.normal_f64() as f32).collect();
        let mut y = vec![0.0f32; n * classes];
        for i in 0..n {
            y[i * classes + r.below(classes as u64) as usize] = 1.0;
        }
        let mut shape = vec![n];
        shape.extend_from_slice(row);
        (Tensor::new(x, shape).unwrap(), Tensor::new(y, [n, classes]).unwrap())
    }

    fn mlp() -> Sequential {
        let mut m = Sequential::new();
        m.add(Input::new(&[784])).unwrap();
        m.add(Dense::new(512).activation("relu")).unwrap();
        m.add(Dense::new(512).activation("relu")).unwrap();
        m.add(Dense::new(10).activation("softmax")).unwrap();
        m.compile(Adam::new(), "categorical_crossentropy", &[]).unwrap();
        m
    }

    fn cnn() -> Sequential {
        let mut m = Sequential::new();
        m.add(Conv2D::new(32, [3, 3]).activation("relu").input_shape(&[32, 32, 3])).unwrap();
        m.add(Conv2D::new(64, [3, 3]).activation("relu")).unwrap();
        m.add(MaxPooling2D::new([2, 2])).unwrap();
        m.add(Dropout::new(0.2)).unwrap();
        m.add(Flatten::new()).unwrap();
        m.add(Dense::new(128).activation("relu")).unwrap();
        m.add(Dropout::new(0.2)).unwrap();
        m.add(Dense::new(10).activation("softmax")).unwrap();
        m.compile(Adam::new(), "categorical_crossentropy", &[]).unwrap();
        m
    }

    /// After warm-up, a training step copies only its batch in and its loss out.
    fn resident_step(name: &str, mut m: Sequential, row: &[usize]) {
        let (x, y) = data(64, row, 10, 1);
        assert_eq!(x.device(), GPU, "the default device is the GPU");
        for _ in 0..3 {
            m.train_on_batch(x.slice_rows(0, 32).unwrap(), y.slice_rows(0, 32).unwrap(), None).unwrap();
        }
        for w in m.trainable_weights() {
            assert_eq!(w.value().device(), GPU, "{name}: weight {} left the GPU", w.path());
        }
        let (xb, yb) = (x.slice_rows(32, 64).unwrap(), y.slice_rows(32, 64).unwrap());
        let before = device::transfer_stats();
        let logs = m.train_on_batch(&xb, &yb, None).unwrap();
        let d = device::transfer_stats().since(&before);
        assert!(logs["loss"].is_finite());
        assert_eq!(
            (d.h2d, d.d2h),
            (2, 1),
            "{name}: a step should copy x and y in and the loss out, got {d:?}"
        );
    }

    fn mlp_step_is_resident() {
        resident_step("mlp", mlp(), &[784]);
    }

    fn cnn_step_is_resident() {
        resident_step("cnn", cnn(), &[32, 32, 3]);
    }

    /// Inference stays on the GPU: `predict_on_batch` of the CNN (its Conv2D + MaxPooling2D
    /// pair runs as one fused inference op) copies at most its output back. Until
    /// 2026-12-05 the fused op ran its convolution on the host, copying each way per layer.
    fn cnn_predict_is_resident() {
        let (x, _) = data(64, &[32, 32, 3], 10, 5);
        let m = cnn();
        for _ in 0..2 {
            m.predict_on_batch(&x).unwrap();
        }
        let before = device::transfer_stats();
        let y = m.predict_on_batch(&x).unwrap();
        let d = device::transfer_stats().since(&before);
        assert!(d.h2d == 0 && d.d2h <= 1, "predict_on_batch should stay on the GPU, got {d:?}");
        assert_eq!(y.shape(), &[64, 10]);
        let rows = y.to_f32_vec();
        assert!(
            rows.chunks(10).all(|r| (r.iter().sum::<f32>() - 1.0).abs() < 1e-4),
            "softmax rows: {rows:?}"
        );
    }

    /// The same training on the CPU and on the GPU (full float32 GEMMs) gives the same losses.
    fn gpu_training_matches_cpu() {
        backend::enable_tensor_float_32_execution(false);
        let (x, y) = data(96, &[784], 10, 2);
        let run = |dev: &str| -> Vec<f32> {
            backend::with_device(dev, || {
                keras::utils::set_random_seed(7);
                let mut m = mlp();
                let x = x.to_device(keras_engine::device::default_device()).unwrap();
                let y = y.to_device(keras_engine::device::default_device()).unwrap();
                (0..3)
                    .map(|i| {
                        let (a, b) = (i * 32, (i + 1) * 32);
                        m.train_on_batch(x.slice_rows(a, b).unwrap(), y.slice_rows(a, b).unwrap(), None)
                            .unwrap()["loss"]
                    })
                    .collect()
            })
            .unwrap()
        };
        let (c, g) = (run("cpu"), run("gpu"));
        backend::enable_tensor_float_32_execution(true);
        for (a, b) in c.iter().zip(&g) {
            assert!((a - b).abs() <= 1e-4 * a.abs().max(1.0), "cpu {c:?} vs gpu {g:?}");
        }
    }

    /// A model trained on the GPU saves to a file that loads and predicts on the CPU.
    fn saved_on_gpu_loads_on_cpu() {
        let (x, y) = data(32, &[784], 10, 3);
        let mut m = mlp();
        m.train_on_batch(&x, &y, None).unwrap();
        let want = m.predict_on_batch(&x).unwrap();
        assert_eq!(want.device(), GPU);
        let dir = std::env::temp_dir().join(format!("keras_gpu_save_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.keras");
        m.save(&path).unwrap();
        let got = backend::with_device("cpu", || {
            let loaded = keras::saving::load_model(&path).unwrap();
            let quiet = keras::PredictArgs::default().verbose(0);
            loaded.predict(x.to_device(Device::Cpu).unwrap(), quiet).unwrap().remove(0)
        })
        .unwrap();
        assert_eq!(got.device(), Device::Cpu);
        let (a, b) = (want.to_f32_vec(), got.to_f32_vec());
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() < 2e-3, "GPU {p} vs CPU {q}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    /// With `KERAS_CUDA_GRAPHS=1`, steps replayed from a captured CUDA graph give the losses of eager steps (including a
    /// learning rate changed between steps), and do replay.
    fn graph_steps_match_eager() {
        // Restored at the end, so that a run under `KERAS_CUDA_GRAPHS=1` (gpu-check's
        // graphs step) keeps graphs on for the cases after this one.
        let outer = std::env::var("KERAS_CUDA_GRAPHS").ok();
        let (x, y) = data(256, &[784], 10, 5);
        let batches: Vec<(Tensor, Tensor)> = (0..8)
            .map(|i| {
                (x.slice_rows(i * 32, (i + 1) * 32).unwrap(), y.slice_rows(i * 32, (i + 1) * 32).unwrap())
            })
            .collect();
        let run = |graphs: bool| -> (Vec<f32>, u64) {
            std::env::set_var("KERAS_CUDA_GRAPHS", if graphs { "1" } else { "0" });
            keras::utils::set_random_seed(11);
            let mut m = mlp();
            let before = keras_engine::cuda::graph::replays();
            let mut losses = Vec::new();
            for (i, (a, b)) in batches.iter().enumerate() {
                if i == 6 {
                    m.compile_state_mut().unwrap().optimizer.set_learning_rate(3e-4);
                }
                losses.push(m.train_on_batch(a, b, None).unwrap()["loss"]);
            }
            (losses, keras_engine::cuda::graph::replays() - before)
        };
        let (eager, r0) = run(false);
        let (graphed, r1) = run(true);
        assert_eq!(r0, 0);
        assert!(r1 >= 4, "only {r1} graph launches");
        for (a, b) in eager.iter().zip(&graphed) {
            assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0), "eager {eager:?} vs graphed {graphed:?}");
        }
        // The CNN (dropout's device generator included) trains through graphs too.
        let (cx, cy) = data(128, &[32, 32, 3], 10, 6);
        let mut c = cnn();
        let before = keras_engine::cuda::graph::replays();
        for i in 0..4 {
            let l = c
                .train_on_batch(
                    cx.slice_rows(i * 32, (i + 1) * 32).unwrap(),
                    cy.slice_rows(i * 32, (i + 1) * 32).unwrap(),
                    None,
                )
                .unwrap()["loss"];
            assert!(l.is_finite());
        }
        assert!(keras_engine::cuda::graph::replays() > before, "the CNN step was not captured");
        // predict_on_batch replays too, and returns values the next call does not overwrite.
        let p1 = c.predict_on_batch(cx.slice_rows(0, 1).unwrap()).unwrap();
        let want = p1.to_f32_vec();
        for _ in 0..4 {
            c.predict_on_batch(cx.slice_rows(1, 2).unwrap()).unwrap();
        }
        let again = c.predict_on_batch(cx.slice_rows(0, 1).unwrap()).unwrap();
        assert_eq!(p1.to_f32_vec(), want, "a later replay overwrote an earlier result");
        close_all(&again.to_f32_vec(), &want);
        match outer {
            Some(v) => std::env::set_var("KERAS_CUDA_GRAPHS", v),
            None => std::env::remove_var("KERAS_CUDA_GRAPHS"),
        }
    }

    fn close_all(a: &[f32], b: &[f32]) {
        for (p, q) in a.iter().zip(b) {
            assert!((p - q).abs() < 1e-5, "{a:?} vs {b:?}");
        }
    }

    fn fit_runs_on_gpu() {
        let (x, y) = data(256, &[784], 10, 4);
        let mut m = mlp();
        let h = m.fit(&x, &y, keras::FitArgs::default().epochs(2).batch_size(64).verbose(0)).unwrap();
        let losses = &h.history["loss"];
        assert!(losses[1] < losses[0], "loss should fall: {losses:?}");
    }

    pub fn main() {
        let cases: Vec<(&str, fn())> = vec![
            ("mlp_step_is_resident", mlp_step_is_resident),
            ("cnn_step_is_resident", cnn_step_is_resident),
            ("cnn_predict_is_resident", cnn_predict_is_resident),
            ("gpu_training_matches_cpu", gpu_training_matches_cpu),
            ("saved_on_gpu_loads_on_cpu", saved_on_gpu_loads_on_cpu),
            ("fit_runs_on_gpu", fit_runs_on_gpu),
            ("graph_steps_match_eager", graph_steps_match_eager),
        ];
        let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
        let gpu = device::cuda_device_count() > 0;
        let (mut passed, mut failed, mut skipped) = (0, 0, 0);
        for (name, f) in cases {
            if !filter.is_empty() && !filter.iter().any(|p| name.contains(p.as_str())) {
                continue;
            }
            if !gpu {
                println!("test {name} ... SKIP (no CUDA GPU)");
                skipped += 1;
                continue;
            }
            let t = std::time::Instant::now();
            match std::panic::catch_unwind(f) {
                Ok(()) => {
                    println!("test {name} ... ok ({:.2}s)", t.elapsed().as_secs_f64());
                    passed += 1;
                }
                Err(e) => {
                    let msg = e
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()));
                    println!("test {name} ... FAILED: {}", msg.unwrap_or_default());
                    failed += 1;
                }
            }
        }
        println!("{passed} passed, {failed} failed, {skipped} skipped");
        if failed > 0 {
            std::process::exit(1);
        }
    }
}
