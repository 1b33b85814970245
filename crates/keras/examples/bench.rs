//! Throughput benchmark against the anchors in `../shared/bench` (same protocol as its
//! `common.py`): build, one epoch over 10,000 synthetic samples (`first_epoch_s` includes
//! process start-up), then 6 windows of ~2 s with the first discarded; `steady_samples_per_s`
//! is the median of the rest. Prints one JSON line per run.
//!
//! ```text
//! cargo run --release -p keras --example bench -- --workload mlp|cnn|lstm|cnn_infer [--batch N] [--device cpu|gpu|gpu:N]
//! cargo run --release -p keras --example bench -- --workload resnet50_infer|mobilenet_v2_infer
//! ```
//!
//! W5 (`resnet50_infer`, `mobilenet_v2_infer`) follows the protocol of
//! `tools/bench/anchors/bench_w5_keras.py`: the `keras.applications` model at 224x224x3 with
//! random weights and 1000 classes, standard-normal input; `infer_b1_latency_ms` is the median
//! of at least `BENCH_MIN_CALLS_B1` (20) batch-1 `predict` calls within `BENCH_WINDOW_S` (3 s),
//! `infer_b32_sps` 32 over the median batch-32 `predict` call (at least `BENCH_MIN_CALLS_B32`,
//! 5); `predict_on_batch` figures are recorded beside them. A model whose builder this build
//! lacks prints `"status": "unavailable"`.
//!
//! `--device` (or `KERAS_DEVICE`) picks where the model runs; GPUs need a build with
//! `--features cuda`. Predict timings include reading the outputs back to the host.
//!
//! The glibc allocator tuning (`keras::config::enable_malloc_tuning`) is on, as for every
//! figure in BENCHMARKS.md; `BENCH_MALLOC_TUNING=0` leaves the allocator as it is.

use std::time::Instant;

use keras::layers::{Conv2D, Dense, Dropout, Embedding, Flatten, Input, MaxPooling2D, LSTM};
use keras::models::Sequential;
use keras::optimizers::Adam;
use keras::Tensor;
use keras_engine::Rng;

const N_TRAIN: usize = 10_000;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn env_f(name: &str, default: f64) -> f64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Synthetic data as the anchors make it: standard normal inputs, one-hot labels.
fn make_data(workload: &str, n: usize) -> (Tensor, Tensor) {
    let mut rng = Rng::new(0);
    if workload == "lstm" {
        // W3: 80 token ids in [0, 20000) per sample, binary labels.
        let x: Vec<i32> = (0..n * 80).map(|_| rng.below(20_000) as i32).collect();
        let y: Vec<f32> = (0..n).map(|_| rng.below(2) as f32).collect();
        return (Tensor::from_i32(x, [n, 80]).unwrap(), Tensor::new(y, [n, 1]).unwrap());
    }
    let row: usize = if workload == "mlp" { 784 } else { 32 * 32 * 3 };
    // A ziggurat, as numpy's `standard_normal` that makes the anchors' data (Box-Muller's
    // logarithm, square root and cosine per pair made data generation most of the start-up).
    // One stream per engine thread, each filling its own contiguous part.
    let mut x = vec![0.0f32; n * row];
    let parts = keras_engine::parallel::num_threads().max(1);
    std::thread::scope(|s| {
        for (i, part) in x.chunks_mut((n * row).div_ceil(parts).max(1)).enumerate() {
            s.spawn(move || Rng::new(1 + i as u64).fill_standard_normal_f32(part));
        }
    });
    let mut y = vec![0.0f32; n * 10];
    for i in 0..n {
        y[i * 10 + rng.below(10) as usize] = 1.0;
    }
    let shape = if workload == "mlp" { vec![n, 784] } else { vec![n, 32, 32, 3] };
    (Tensor::new(x, shape).unwrap(), Tensor::new(y, [n, 10]).unwrap())
}

fn build(workload: &str) -> keras::Result<Sequential> {
    let mut m = Sequential::new();
    if workload == "lstm" {
        m.add(Input::new(&[80]))?;
        m.add(Embedding::new(20_000, 128))?;
        m.add(LSTM::new(128))?;
        m.add(Dense::new(1).activation("sigmoid"))?;
        m.compile(Adam::new(), "binary_crossentropy", &[])?;
        return Ok(m);
    }
    if workload == "mlp" {
        m.add(Input::new(&[784]))?;
        m.add(Dense::new(512).activation("relu"))?;
        m.add(Dense::new(512).activation("relu"))?;
        m.add(Dense::new(10).activation("softmax"))?;
    } else {
        m.add(Conv2D::new(32, [3, 3]).activation("relu").input_shape(&[32, 32, 3]))?;
        m.add(Conv2D::new(64, [3, 3]).activation("relu"))?;
        m.add(MaxPooling2D::new([2, 2]))?;
        m.add(Dropout::new(0.2))?;
        m.add(Flatten::new())?;
        m.add(Dense::new(128).activation("relu"))?;
        m.add(Dropout::new(0.2))?;
        m.add(Dense::new(10).activation("softmax"))?;
    }
    m.compile(Adam::new(), "categorical_crossentropy", &[])?;
    Ok(m)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() -> keras::Result<()> {
    let t0 = Instant::now();
    // The numbers in BENCHMARKS.md were measured with the allocator tuning on.
    if std::env::var("BENCH_MALLOC_TUNING").map_or(true, |v| v != "0") {
        keras::config::enable_malloc_tuning();
    }
    let workload = arg("--workload").unwrap_or_else(|| "mlp".into());
    let default_batch = match workload.as_str() {
        "mlp" => 128,
        "cnn" | "lstm" => 32,
        "cnn_infer" => 1,
        "resnet50_infer" | "mobilenet_v2_infer" => W5_BATCH,
        w => {
            eprintln!("unknown workload {w} (mlp, cnn, lstm, cnn_infer, resnet50_infer, mobilenet_v2_infer)");
            std::process::exit(2);
        }
    };
    let batch: usize = arg("--batch").and_then(|b| b.parse().ok()).unwrap_or(default_batch);
    if let Some(d) = arg("--device") {
        keras::backend::set_device(&d)?;
    }
    let device = keras::backend::device()?;
    keras::utils::set_random_seed(0);
    if let Some(app) = workload.strip_suffix("_infer").filter(|w| *w != "cnn") {
        return w5(app, t0, &device.to_string());
    }
    let mut model = build(&workload)?;
    let (x, y) = make_data(&workload, if workload == "cnn_infer" { 256 } else { N_TRAIN });
    let threads = keras_engine::parallel::num_threads();

    if workload == "cnn_infer" {
        let x1 = x.slice_rows(0, 1)?;
        // Outputs are read back to the host, as a caller of predict would.
        let predict = |x: &Tensor| -> keras::Result<f32> { Ok(model.predict_on_batch(x)?.to_f32_vec()[0]) };
        for _ in 0..10 {
            predict(&x1)?;
        }
        for _ in 0..3 {
            predict(&x)?;
        }
        let ready = t0.elapsed().as_secs_f64();
        let mut lat = Vec::new();
        let end = Instant::now() + std::time::Duration::from_secs(3);
        while lat.len() < 30 || (Instant::now() < end && lat.len() < 2000) {
            let t = Instant::now();
            predict(&x1)?;
            lat.push(t.elapsed().as_secs_f64());
        }
        // The same call through `predict()` (batching, checks), Keras's usual entry point.
        let mut lat_predict = Vec::new();
        let quiet = || keras::PredictArgs::default().verbose(0);
        for _ in 0..200 {
            let t = Instant::now();
            model.predict(&x1, quiet())?.to_f32_vec();
            lat_predict.push(t.elapsed().as_secs_f64());
        }
        let mut b256 = Vec::new();
        let end = Instant::now() + std::time::Duration::from_secs(3);
        while b256.len() < 5 || (Instant::now() < end && b256.len() < 500) {
            let t = Instant::now();
            predict(&x)?;
            b256.push(t.elapsed().as_secs_f64());
        }
        println!(
            "{{\"framework\": \"keras-rs\", \"workload\": \"cnn_infer\", \"batch\": 1, \"device\": \"{device}\", \"threads\": {threads}, \"ready_s\": {ready:.3}, \"latency_ms\": {:.4}, \"predict_b1_latency_ms\": {:.4}, \"infer_b1_calls\": {}, \"infer_b256_sps\": {:.1}, \"peak_rss_mb\": {:.1}}}",
            median(lat.clone()) * 1000.0,
            median(lat_predict) * 1000.0,
            lat.len(),
            256.0 / median(b256),
            peak_rss_mb()
        );
        return Ok(());
    }

    // First epoch over all samples (the last batch partial), timed from process start.
    let ready = t0.elapsed().as_secs_f64();
    let t_ep = Instant::now();
    let mut s = 0;
    while s < N_TRAIN {
        let e = (s + batch).min(N_TRAIN);
        model.train_on_batch(&x.slice_rows(s, e)?, &y.slice_rows(s, e)?, None)?;
        s = e;
    }
    let epoch1 = t_ep.elapsed().as_secs_f64();
    // Calibrate, then windows of ~WINDOW_S seconds.
    // Full batches are cut when they are used, as the anchors slice theirs (a batch copy is
    // ~0.1% of a step; holding all of them would double the dataset's memory).
    let nfull = N_TRAIN / batch;
    let batch_at = |i: usize| -> keras::Result<(Tensor, Tensor)> {
        let (s, e) = ((i % nfull) * batch, (i % nfull + 1) * batch);
        Ok((x.slice_rows(s, e)?, y.slice_rows(s, e)?))
    };
    let t = Instant::now();
    for i in 0..3 {
        let b = batch_at(i)?;
        model.train_on_batch(&b.0, &b.1, None)?;
    }
    let est = 3.0 * batch as f64 / t.elapsed().as_secs_f64();
    let window_s = env_f("BENCH_WINDOW_S", 2.0);
    let windows = env_f("BENCH_WINDOWS", 6.0) as usize;
    let k = ((window_s * est / batch as f64).round() as usize).clamp(3, 5000);
    let mut wins = Vec::new();
    let mut pos = 0;
    let copies_before = keras_engine::device::transfer_stats();
    let mut loss = 0.0;
    for _ in 0..windows {
        let t = Instant::now();
        for _ in 0..k {
            let b = batch_at(pos)?;
            loss = model.train_on_batch(&b.0, &b.1, None)?["loss"];
            pos += 1;
        }
        wins.push((k * batch) as f64 / t.elapsed().as_secs_f64());
    }
    let copies = keras_engine::device::transfer_stats().since(&copies_before);
    if std::env::var("BENCH_SUBNORMALS").is_ok() {
        // Subnormal values in the optimizer's slots and the weights: on Intel cores every
        // vector operation that meets one takes a microcode assist.
        if let Some(c) = model.compile_state() {
            for (name, t) in c.optimizer.variables() {
                let Ok(v) = t.as_f32() else { continue };
                // BENCH_SUBNORMALS=DIR (a directory) also writes each slot's floats there
                // (little-endian), for `adam_pass`'s ADAM_STATE.
                let dir = std::path::PathBuf::from(std::env::var("BENCH_SUBNORMALS").unwrap_or_default());
                if dir.is_dir() {
                    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                    std::fs::write(dir.join(format!("{}.f32", name.replace('/', "_"))), bytes)?;
                }
                let sub = v.iter().filter(|x| x.is_subnormal()).count();
                let zero = v.iter().filter(|x| **x == 0.0).count();
                let mut hist = [0usize; 24];
                v.iter()
                    .filter(|x| x.is_subnormal())
                    .for_each(|x| hist[(x.to_bits() & 0x7fff_ffff).ilog2() as usize] += 1);
                eprintln!(
                    "{name}: {} elements, {sub} subnormal (by log2 of the units: {hist:?}), {zero} zero",
                    v.len()
                );
            }
        }
    }
    let steps = (k * windows).max(1) as f64;
    let kept = if wins.len() > 2 { wins[1..].to_vec() } else { wins.clone() };
    let steady = median(kept);
    let flops_fwd: f64 = if workload == "mlp" {
        2.0 * (784.0 * 512.0 + 512.0 * 512.0 + 512.0 * 10.0)
    } else if workload == "lstm" {
        2.0 * (80.0 * 4.0 * 128.0 * 256.0 + 128.0)
    } else {
        2.0 * (30.0 * 30.0 * 32.0 * 27.0 + 28.0 * 28.0 * 64.0 * 288.0 + 12544.0 * 128.0 + 128.0 * 10.0)
    };
    let wins_s: Vec<String> = wins.iter().map(|w| format!("{w:.1}")).collect();
    println!(
        "{{\"framework\": \"keras-rs\", \"workload\": \"{workload}\", \"batch\": {batch}, \"device\": \"{device}\", \"threads\": {threads}, \"ready_s\": {ready:.3}, \"first_epoch_s\": {:.3}, \"epoch1_sps\": {:.1}, \"steady_samples_per_s\": {steady:.1}, \"steady_window_sps\": [{}], \"steps_per_window\": {k}, \"train_gflops\": {:.2}, \"final_loss\": {loss:.4}, \"h2d_per_step\": {:.2}, \"d2h_per_step\": {:.2}, \"peak_rss_mb\": {:.1}}}",
        ready + epoch1,
        N_TRAIN as f64 / epoch1,
        wins_s.join(", "),
        3.0 * flops_fwd * steady / 1e9,
        copies.h2d as f64 / steps,
        copies.d2h as f64 / steps,
        peak_rss_mb()
    );
    Ok(())
}

/// W5's batch for throughput and image size.
const W5_BATCH: usize = 32;
const W5_SIZE: usize = 224;

/// W5: inference of a `keras.applications` model (`app` is its snake_case name), as the Keras
/// anchor `tools/bench/anchors/bench_w5_keras.py` measures it.
fn w5(app: &str, t0: Instant, device: &str) -> keras::Result<()> {
    use keras::applications::{by_name, ApplicationArgs, Weights};

    let threads = keras_engine::parallel::num_threads();
    let workload = format!("{app}_infer");
    let Ok(application) = by_name(app) else {
        println!(
            "{{\"framework\": \"keras-rs\", \"workload\": \"{workload}\", \"model\": \"{app}\", \"status\": \"unavailable\"}}"
        );
        return Ok(());
    };
    // 2 x the multiply-adds of the Conv2D, DepthwiseConv2D and Dense layers (common_w5.py).
    let flops_fwd: f64 = match app {
        "resnet50" => 2.0 * 3_857_973_248.0,
        "mobilenet_v2" => 2.0 * 300_774_272.0,
        _ => 0.0,
    };
    let args =
        ApplicationArgs::new().weights(Weights::None).input_shape(&[W5_SIZE, W5_SIZE, 3]).classes(1000);
    let model = (application.build)(&args)?;
    let mut rng = Rng::new(0);
    let n = W5_BATCH * W5_SIZE * W5_SIZE * 3;
    let mut x32 = vec![0.0f32; n];
    rng.fill_standard_normal_f32(&mut x32);
    let x32 = Tensor::new(x32, [W5_BATCH, W5_SIZE, W5_SIZE, 3])?;
    let x1 = x32.slice_rows(0, 1)?;
    // Outputs are read back to the host, as a caller of predict would.
    let quiet = || keras::PredictArgs::default().verbose(0);
    let predict = |x: &Tensor| -> keras::Result<f32> { Ok(model.predict(x, quiet())?[0].to_f32_vec()[0]) };
    let on_batch = |x: &Tensor| -> keras::Result<f32> {
        Ok(model.predict_on_batch(std::slice::from_ref(x))?[0].to_f32_vec()[0])
    };
    for _ in 0..3 {
        predict(&x1)?;
        on_batch(&x1)?;
    }
    for _ in 0..2 {
        predict(&x32)?;
        on_batch(&x32)?;
    }
    let ready = t0.elapsed().as_secs_f64();
    let window = env_f("BENCH_WINDOW_S", 3.0);
    let min_b1 = env_f("BENCH_MIN_CALLS_B1", 20.0) as usize;
    let min_b32 = env_f("BENCH_MIN_CALLS_B32", 5.0) as usize;
    // At least `min_calls` calls, then until the window ends (at most 2000), as common_w5.bench.
    let bench = |f: &dyn Fn() -> keras::Result<f32>, min_calls: usize| -> keras::Result<Vec<f64>> {
        let mut ts = Vec::new();
        let end = Instant::now() + std::time::Duration::from_secs_f64(window);
        while ts.len() < min_calls || (Instant::now() < end && ts.len() < 2000) {
            let t = Instant::now();
            f()?;
            ts.push(t.elapsed().as_secs_f64());
        }
        Ok(ts)
    };
    let lat = bench(&|| predict(&x1), min_b1)?;
    let lat_pob = bench(&|| on_batch(&x1), min_b1)?;
    let b32 = bench(&|| predict(&x32), min_b32)?;
    let b32_pob = bench(&|| on_batch(&x32), min_b32)?;
    let sps = W5_BATCH as f64 / median(b32.clone());
    println!(
        "{{\"framework\": \"keras-rs\", \"variant\": \"predict\", \"workload\": \"{workload}\", \"model\": \"{app}\", \"batch\": {W5_BATCH}, \"image_size\": {W5_SIZE}, \"device\": \"{device}\", \"threads\": {threads}, \"ready_s\": {ready:.3}, \"params\": {}, \"infer_b1_latency_ms\": {:.3}, \"infer_b1_predict_on_batch_ms\": {:.3}, \"infer_b1_calls\": {}, \"infer_b32_sps\": {sps:.2}, \"infer_b32_predict_on_batch_sps\": {:.2}, \"infer_b32_calls\": {}, \"infer_b32_gflops\": {:.2}, \"flops_fwd_per_sample\": {flops_fwd:.0}, \"peak_rss_mb\": {:.1}}}",
        model.count_params(),
        median(lat.clone()) * 1000.0,
        median(lat_pob) * 1000.0,
        lat.len(),
        W5_BATCH as f64 / median(b32_pob),
        b32.len(),
        flops_fwd * sps / 1e9,
        peak_rss_mb()
    );
    Ok(())
}
