//! The AMX path of float32 matrix products (`keras::config::amx_matmul`), through the public
//! API: where this CPU has AMX it is on by default and gives a W1-shaped MLP's predictions
//! as accurate as the fused multiply-add kernels (against a float64 evaluation of the same
//! weights) and the same training losses within rounding; where it has none, it is off and
//! the switch changes nothing. One test function: the switch is process-wide.

use keras::layers::{Dense, Input};
use keras::models::Sequential;
use keras::optimizers::Adam;
use keras::{PredictArgs, Tensor};

/// Whether this CPU and kernel offer AMX-BF16 and AVX512-BF16 (Linux: `/proc/cpuinfo`).
fn cpu_has_amx() -> Option<bool> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let flags = info.lines().find(|l| l.starts_with("flags"))?;
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    Some(has("amx_tile") && has("amx_bf16") && has("avx512_bf16"))
}

fn data(n: usize, seed: f32) -> Vec<f32> {
    (0..n).map(|i| ((i as f32 + seed) * 0.731).sin()).collect()
}

/// W1's MLP (784 -> 512 relu -> 512 relu -> 10), linear head so the float64 check is direct.
fn mlp() -> Sequential {
    keras::utils::set_random_seed(11);
    let mut model = Sequential::new();
    model.add(Input::new(&[784])).unwrap();
    model.add(Dense::new(512).activation("relu")).unwrap();
    model.add(Dense::new(512).activation("relu")).unwrap();
    model.add(Dense::new(10)).unwrap();
    model
}

/// The model's forward in float64 from its float32 weights.
fn forward_f64(weights: &[Tensor], x: &[f32], rows: usize) -> Vec<f64> {
    let mut h: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let mut width = x.len() / rows;
    for (layer, pair) in weights.chunks(2).enumerate() {
        let (w, b) = (pair[0].to_f32_vec(), pair[1].to_f32_vec());
        let n = b.len();
        let mut out = vec![0.0f64; rows * n];
        for i in 0..rows {
            for j in 0..n {
                let mut s = b[j] as f64;
                for p in 0..width {
                    s += h[i * width + p] * w[p * n + j] as f64;
                }
                out[i * n + j] = if layer < 2 { s.max(0.0) } else { s };
            }
        }
        h = out;
        width = n;
    }
    h
}

fn max_err(got: &[f32], want: &[f64]) -> f64 {
    got.iter().zip(want).map(|(&g, &w)| (g as f64 - w).abs()).fold(0.0, f64::max)
}

#[test]
fn amx_products_are_as_accurate_as_the_fma_kernels_and_the_switch_works() {
    let expected = cpu_has_amx().unwrap_or(false) && std::env::var("KERAS_AMX").as_deref() != Ok("0");
    if cpu_has_amx().is_some() {
        assert_eq!(keras::config::amx_matmul(), expected, "AMX on exactly where the CPU has it");
    }
    let on_by_default = keras::config::amx_matmul();

    let rows = 128;
    let x = data(rows * 784, 0.5);
    let xt = Tensor::new(x.clone(), [rows, 784]).unwrap();
    let model = mlp();
    let want = forward_f64(&model.get_weights(), &x, rows);
    let predict = || model.predict(&xt, PredictArgs::default().verbose(0)).unwrap().to_f32_vec();

    let default_out = predict();
    keras::config::set_amx_matmul(false);
    assert!(!keras::config::amx_matmul());
    let fma_out = predict();
    keras::config::set_amx_matmul(true);
    assert_eq!(keras::config::amx_matmul(), on_by_default);
    let (err_default, err_fma) = (max_err(&default_out, &want), max_err(&fma_out, &want));
    println!("max |error| against float64: default path {err_default:.3e}, FMA kernels {err_fma:.3e}");
    let scale = want.iter().fold(0.0f64, |a, &b| a.max(b.abs()));
    assert!(err_fma < 1e-5 * scale, "the FMA kernels' error {err_fma} against a scale of {scale}");
    assert!(err_default <= 1.5 * err_fma + 1e-7 * scale, "default {err_default} against FMA {err_fma}");
    if !on_by_default {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&default_out), bits(&fma_out), "without AMX the switch changes nothing");
    }

    // Three Adam steps from the same weights: the losses agree within rounding.
    let y: Vec<f32> = (0..rows * 10).map(|i| if i % 10 == (i / 10) % 10 { 1.0 } else { 0.0 }).collect();
    let y = Tensor::new(y, [rows, 10]).unwrap();
    let losses = |amx: bool| {
        keras::config::set_amx_matmul(amx);
        let mut m = mlp();
        m.compile(Adam::new(), "mean_squared_error", &[]).unwrap();
        let out: Vec<f64> = (0..3).map(|_| m.train_on_batch(&xt, &y, None).unwrap()["loss"] as f64).collect();
        keras::config::set_amx_matmul(true);
        out
    };
    let (with_amx, without) = (losses(true), losses(false));
    println!("losses with AMX {with_amx:?}, without {without:?}");
    for (a, b) in with_amx.iter().zip(&without) {
        assert!((a - b).abs() <= 1e-5 * b.abs().max(1e-3), "{a} against {b}");
    }
}
