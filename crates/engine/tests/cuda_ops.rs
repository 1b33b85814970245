//! Every CUDA op against the CPU op, forward and gradients (run with
//! `cargo test -p keras-engine --features cuda --test cuda_ops`).
//!
//! This is its own runner (`harness = false`): without a GPU each GPU case prints `SKIP` and
//! is counted as skipped, never as passed. The NVRTC case compiles every kernel to machine
//! code for sm_90 wherever libnvrtc can be loaded (no GPU needed).

#![allow(clippy::cloned_ref_to_slice_refs)] // one-input cases read best as `&[x.clone()]`

#[cfg(not(feature = "cuda"))]
fn main() {
    println!("SKIP cuda_ops: built without the `cuda` feature");
    println!("0 passed, 0 failed, 1 skipped");
}

#[cfg(feature = "cuda")]
fn main() {
    cases::main()
}

#[cfg(feature = "cuda")]
mod cases {
    use keras_engine::device::{self, Device};
    use keras_engine::ops::{self, Unary};
    use keras_engine::{GradientTape, Tensor};

    type Case = (&'static str, bool, fn());

    const GPU: Device = Device::Cuda(0);

    fn rand(shape: &[usize], seed: u64) -> Tensor {
        let mut r = keras_engine::Rng::new(seed);
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| r.normal_f64() as f32).collect();
        Tensor::new(v, shape.to_vec()).unwrap().to_device(Device::Cpu).unwrap()
    }

    fn close(name: &str, what: &str, got: &[f32], want: &[f32], tol: f32) {
        assert_eq!(got.len(), want.len(), "{name} {what}: lengths");
        let num: f64 = got.iter().zip(want).map(|(a, b)| ((a - b) as f64).powi(2)).sum();
        let den: f64 = want.iter().map(|b| (*b as f64).powi(2)).sum::<f64>().max(1e-12);
        let rel = (num / den).sqrt();
        assert!(got.iter().all(|v| !v.is_nan()) || want.iter().any(|v| v.is_nan()), "{name} {what}: NaN");
        assert!(rel <= tol as f64, "{name} {what}: relative error {rel:.3e} > {tol:e}");
    }

    /// Runs `f` on CPU copies and on GPU copies of `inputs`; compares outputs and the
    /// gradients of `sum(out * cotangent)` with respect to every input.
    fn compare(
        name: &str,
        inputs: &[Tensor],
        f: impl Fn(&[&Tensor]) -> keras_engine::Result<Tensor>,
        tol: f32,
    ) {
        let run = |dev: Device| {
            let xs: Vec<Tensor> = inputs.iter().map(|t| t.to_device(dev).unwrap().requiring_grad()).collect();
            let refs: Vec<&Tensor> = xs.iter().collect();
            let tape = GradientTape::new();
            let y = f(&refs).unwrap_or_else(|e| panic!("{name} on {dev}: {e}"));
            assert_eq!(y.device(), dev, "{name}: result on the wrong device");
            let cot: Vec<f32> = (0..y.numel()).map(|i| ((i * 7919 % 13) as f32 - 6.0) / 6.0).collect();
            let cot = Tensor::new(cot, y.shape().to_vec()).unwrap().to_device(dev).unwrap();
            let grads = tape.gradient_with(&y, &cot, &refs).unwrap();
            let gs: Vec<Option<Vec<f32>>> = grads
                .into_iter()
                .map(|g| {
                    g.map(|g| {
                        assert_eq!(g.device(), dev, "{name}: gradient on the wrong device");
                        g.to_f32_vec()
                    })
                })
                .collect();
            (y.shape().to_vec(), y.to_f32_vec(), gs)
        };
        let (cs, cy, cg) = run(Device::Cpu);
        let (gsh, gy, gg) = run(GPU);
        assert_eq!(cs, gsh, "{name}: shapes");
        close(name, "forward", &gy, &cy, tol);
        for (i, (c, g)) in cg.iter().zip(&gg).enumerate() {
            match (c, g) {
                (Some(c), Some(g)) => close(name, &format!("gradient {i}"), g, c, tol.max(1e-4)),
                (None, None) => {}
                _ => panic!("{name}: gradient {i} present on one device only"),
            }
        }
    }

    fn unary_all() {
        let x = rand(&[7, 33], 1);
        let pos = Tensor::new(x.to_f32_vec().iter().map(|v| v.abs() + 0.1).collect(), [7, 33]).unwrap();
        for f in [
            Unary::Linear,
            Unary::Relu,
            Unary::ReluParams { negative_slope: 0.1, max_value: 2.0, threshold: 0.5 },
            Unary::ReluParams { negative_slope: 0.0, max_value: 6.0, threshold: 0.0 },
            Unary::ReluParams { negative_slope: 0.2, max_value: f32::INFINITY, threshold: 0.0 },
            Unary::Sigmoid,
            Unary::Tanh,
            Unary::Elu(1.0),
            Unary::Selu,
            Unary::Softplus,
            Unary::Silu,
            Unary::Exp,
            Unary::Neg,
            Unary::Square,
            Unary::Abs,
            Unary::Celu(0.7),
            Unary::Gelu,
            Unary::GeluTanh,
            Unary::HardSigmoid,
            Unary::HardSilu,
            Unary::HardTanh,
            Unary::HardShrink(0.5),
            Unary::SoftShrink(0.5),
            Unary::LogSigmoid,
            Unary::Mish,
            Unary::Softsign,
            Unary::Squareplus(4.0),
            Unary::TanhShrink,
            Unary::SparsePlus,
            Unary::SparseSigmoid,
            Unary::Threshold { threshold: 0.1, default_value: -2.0 },
        ] {
            compare(&format!("{f:?}"), &[x.clone()], |t| ops::unary(t[0], f), 1e-5);
        }
        for f in [Unary::Log, Unary::Sqrt] {
            compare(&format!("{f:?}"), &[pos.clone()], |t| ops::unary(t[0], f), 1e-5);
        }
    }

    fn binary_broadcasting() {
        let a = rand(&[4, 5, 6], 2);
        let b_pos = |shape: &[usize], s| {
            let t = rand(shape, s);
            Tensor::new(t.to_f32_vec().iter().map(|v| v.abs() + 0.5).collect(), shape.to_vec()).unwrap()
        };
        for shape in [vec![4, 5, 6], vec![6], vec![5, 1], vec![4, 1, 6], vec![1], vec![]] {
            let b = b_pos(&shape, 3);
            for (n, op) in [
                ("add", ops::add as fn(&Tensor, &Tensor) -> _),
                ("sub", ops::sub),
                ("mul", ops::mul),
                ("div", ops::div),
            ] {
                compare(&format!("{n} {shape:?}"), &[a.clone(), b.clone()], |t| op(t[0], t[1]), 1e-5);
                compare(
                    &format!("{n} {shape:?} swapped"),
                    &[b.clone(), b_pos(&[4, 5, 6], 9)],
                    |t| op(t[0], t[1]),
                    1e-5,
                );
            }
        }
    }

    fn reductions() {
        let x = rand(&[3, 4, 50], 4);
        for axis in [0isize, 1, 2, -1] {
            compare(&format!("sum_axis {axis}"), &[x.clone()], |t| ops::sum_axis(t[0], axis, false), 1e-5);
            compare(&format!("mean_axis {axis}"), &[x.clone()], |t| ops::mean_axis(t[0], axis, true), 1e-5);
        }
        compare("sum_all", &[x.clone()], |t| ops::sum_all(t[0]), 1e-5);
        compare("mean_all", &[x.clone()], |t| ops::mean_all(t[0]), 1e-5);
        let big = rand(&[3000], 5);
        compare("sum_all big", &[big], |t| ops::sum_all(t[0]), 1e-5);
        for axis in [1isize, 2] {
            let c = ops::argmax(&x, axis).unwrap();
            let g = ops::argmax(&x.to_device(GPU).unwrap(), axis).unwrap();
            assert_eq!(g.device(), GPU);
            assert_eq!(c.to_i64_vec(), g.to_i64_vec(), "argmax {axis}");
        }
    }

    fn softmaxes() {
        let x = rand(&[6, 10], 6);
        compare("softmax last", &[x.clone()], |t| ops::softmax(t[0], -1), 1e-5);
        compare("log_softmax last", &[x.clone()], |t| ops::log_softmax(t[0], -1), 1e-5);
        compare("softmax axis 0", &[x.clone()], |t| ops::softmax(t[0], 0), 1e-5);
        let wide = rand(&[3, 3000], 7);
        compare("softmax wide", &[wide], |t| ops::softmax(t[0], -1), 1e-5);
        let g = ops::softmax(&x.to_device(GPU).unwrap(), -1).unwrap();
        assert!(g.keras_logits().is_some(), "softmax keeps its logits on the GPU");
    }

    /// TF32 GEMMs and convolutions round operands to 10 mantissa bits.
    const TF32_TOL: f32 = 5e-3;

    fn gemms() {
        let a = rand(&[37, 70], 8);
        let b = rand(&[70, 19], 9);
        compare("matmul", &[a.clone(), b.clone()], |t| ops::matmul(t[0], t[1]), TF32_TOL);
        let x = rand(&[2, 9, 70], 10);
        let bias = rand(&[19], 11);
        for act in [Unary::Linear, Unary::Relu, Unary::Sigmoid, Unary::Tanh, Unary::Elu(1.0), Unary::Selu] {
            compare(
                &format!("dense {act:?}"),
                &[x.clone(), b.clone(), bias.clone()],
                |t| ops::dense(t[0], t[1], Some(t[2]), act),
                TF32_TOL,
            );
        }
        compare(
            "dense no bias",
            &[x.clone(), b.clone()],
            |t| ops::dense(t[0], t[1], None, Unary::Relu),
            TF32_TOL,
        );
        keras_engine::cuda::blas::set_tf32(false);
        compare("matmul full f32", &[a, b], |t| ops::matmul(t[0], t[1]), 1e-5);
        keras_engine::cuda::blas::set_tf32(true);
    }

    fn convolutions() {
        let x = rand(&[2, 9, 8, 3], 12);
        let w = rand(&[3, 3, 3, 5], 13);
        let b = rand(&[5], 14);
        for (same, strides) in [(false, [1, 1]), (true, [1, 1]), (false, [2, 2])] {
            for act in [Unary::Linear, Unary::Relu] {
                compare(
                    &format!("conv2d same={same} strides={strides:?} {act:?}"),
                    &[x.clone(), w.clone(), b.clone()],
                    |t| ops::conv2d(t[0], t[1], Some(t[2]), strides, [1, 1], same, act),
                    TF32_TOL,
                );
            }
        }
        // TensorFlow's asymmetric "same" padding takes the host path and must still agree.
        let w2 = rand(&[2, 2, 3, 4], 15);
        compare(
            "conv2d asymmetric same",
            &[x.clone(), w2],
            |t| ops::conv2d(t[0], t[1], None, [1, 1], [1, 1], true, Unary::Linear),
            TF32_TOL,
        );
        for (pool, strides, same) in
            [([2, 2], [2, 2], false), ([3, 3], [2, 2], true), ([2, 2], [1, 1], false)]
        {
            compare(
                &format!("max_pool2d {pool:?} {strides:?} {same}"),
                &[x.clone()],
                |t| ops::max_pool2d(t[0], pool, strides, same),
                1e-6,
            );
            compare(
                &format!("avg_pool2d {pool:?} {strides:?} {same}"),
                &[x.clone()],
                |t| ops::avg_pool2d(t[0], pool, strides, same),
                1e-6,
            );
        }
    }

    fn fused_losses() {
        use keras_engine::ops::fused::{row_loss, RowLoss};
        let x = rand(&[8, 10], 16);
        let mut t = vec![0.0f32; 80];
        for r in 0..8 {
            t[r * 10 + (r * 3) % 10] = 1.0;
        }
        let tt = Tensor::new(t.clone(), [8, 10]).unwrap();
        let probs = ops::softmax(&x, -1).unwrap().detach();
        let sig = ops::unary(&x, Unary::Sigmoid).unwrap().detach();
        // Host formulas, as keras::losses computes them.
        let host = |kind: RowLoss, xs: &[f32]| -> Vec<f32> {
            (0..8)
                .map(|r| {
                    let xr = &xs[r * 10..(r + 1) * 10];
                    let tr = &t[r * 10..(r + 1) * 10];
                    match kind {
                        RowLoss::SoftmaxXent => {
                            let m = xr.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                            let lse = xr.iter().map(|v| (v - m).exp()).sum::<f32>().ln() + m;
                            -xr.iter().zip(tr).map(|(x, t)| t * (x - lse)).sum::<f32>()
                        }
                        RowLoss::ProbXent => {
                            let s: f32 = xr.iter().sum();
                            -xr.iter()
                                .zip(tr)
                                .map(|(p, t)| t * (p / s).clamp(1e-7, 1.0 - 1e-7).ln())
                                .sum::<f32>()
                        }
                        RowLoss::BceLogits => {
                            xr.iter()
                                .zip(tr)
                                .map(|(&x, &t)| x.max(0.0) - x * t + (-x.abs()).exp().ln_1p())
                                .sum::<f32>()
                                / 10.0
                        }
                        RowLoss::BceProbs => {
                            xr.iter()
                                .zip(tr)
                                .map(|(&p, &t)| {
                                    let o = p.clamp(1e-7, 1.0 - 1e-7);
                                    -(t * o.ln() + (1.0 - t) * (1.0 - o).ln())
                                })
                                .sum::<f32>()
                                / 10.0
                        }
                    }
                })
                .collect()
        };
        for (kind, input) in [
            (RowLoss::SoftmaxXent, &x),
            (RowLoss::ProbXent, &probs),
            (RowLoss::BceLogits, &x),
            (RowLoss::BceProbs, &sig),
        ] {
            let gi = input.to_device(GPU).unwrap().requiring_grad();
            let gt = tt.to_device(GPU).unwrap();
            let tape = GradientTape::new();
            let v = row_loss(kind, &gi, &gt).unwrap();
            let s = ops::sum_all(&v).unwrap();
            let g = tape.gradient(&s, &[&gi]).unwrap()[0].clone().unwrap();
            drop(tape);
            close(&format!("{kind:?}"), "values", &v.to_f32_vec(), &host(kind, &input.to_f32_vec()), 1e-5);
            // Gradient against central differences of the host formula.
            let base = input.to_f32_vec();
            let gv = g.to_f32_vec();
            for i in [0usize, 3, 17, 42, 79] {
                // A step relative to the value: probabilities can be small, where log curves.
                let h = 1e-3 * base[i].abs().max(0.05);
                let mut p = base.clone();
                p[i] += h;
                let mut m = base.clone();
                m[i] -= h;
                let fd =
                    (host(kind, &p).iter().sum::<f32>() - host(kind, &m).iter().sum::<f32>()) / (2.0 * h);
                assert!(
                    (fd - gv[i]).abs() <= 2e-2 * fd.abs().max(1.0),
                    "{kind:?} gradient {i}: {} vs {fd}",
                    gv[i]
                );
            }
        }
        assert!(row_loss(RowLoss::SoftmaxXent, &x, &tt).is_err(), "CPU tensors are refused");
    }

    fn dropout_statistics() {
        let x = Tensor::ones([100_000]).to_device(GPU).unwrap().requiring_grad();
        let tape = GradientTape::new();
        let y = ops::fused::dropout(&x, 0.25, 7).unwrap();
        let s = ops::sum_all(&y).unwrap();
        let g = tape.gradient(&s, &[&x]).unwrap()[0].clone().unwrap();
        drop(tape);
        let yv = y.to_f32_vec();
        let kept = yv.iter().filter(|&&v| v != 0.0).count() as f64 / yv.len() as f64;
        assert!((kept - 0.75).abs() < 0.01, "kept fraction {kept}");
        assert!(yv.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
        assert_eq!(g.to_f32_vec(), yv, "the gradient is the mask");
        let y2 = ops::fused::dropout(&x.detach(), 0.25, 7).unwrap().to_f32_vec();
        assert_ne!(y2, yv, "the device counter advances between calls");
    }

    fn fused_adam_matches_keras_formula() {
        use keras_engine::ops::fused::{fused_update, FusedRule};
        let w0 = rand(&[1000], 20).to_f32_vec();
        let g0 = rand(&[1000], 21).to_f32_vec();
        let (lr, b1, b2, eps) = (0.01f32, 0.9f32, 0.999f32, 1e-7f32);
        let mut w = Tensor::new(w0.clone(), [1000]).unwrap().to_device(GPU).unwrap();
        let grad = Tensor::new(g0.clone(), [1000]).unwrap().to_device(GPU).unwrap();
        let mut m = Tensor::zeros([1000]).to_device(GPU).unwrap();
        let mut v = Tensor::zeros([1000]).to_device(GPU).unwrap();
        let (mut hw, mut hm, mut hv) = (w0.clone(), vec![0.0f32; 1000], vec![0.0f32; 1000]);
        for it in 0..3 {
            let hyper = Tensor::new(vec![lr, it as f32], [2]).unwrap().to_device(GPU).unwrap();
            fused_update(
                &mut w,
                &grad,
                &mut [&mut m, &mut v],
                &hyper,
                FusedRule::Adam { beta_1: b1, beta_2: b2, epsilon: eps },
                0.0,
            )
            .unwrap();
            let t = (it + 1) as f32;
            let alpha = lr * (1.0 - b2.powf(t)).sqrt() / (1.0 - b1.powf(t));
            for i in 0..1000 {
                hm[i] += (g0[i] - hm[i]) * (1.0 - b1);
                hv[i] += (g0[i] * g0[i] - hv[i]) * (1.0 - b2);
                hw[i] -= hm[i] * alpha / (hv[i].sqrt() + eps);
            }
        }
        close("adam", "weights", &w.to_f32_vec(), &hw, 1e-6);
        close("adam", "momentum", &m.to_f32_vec(), &hm, 1e-6);
    }

    fn devices_and_transfers() {
        assert!(device::list_devices().contains(&GPU));
        let a = rand(&[4, 4], 30);
        let ga = a.to_device(GPU).unwrap();
        let e = ops::add(&a, &ga).unwrap_err().to_string();
        assert!(e.contains("same device") && e.contains("gpu:0") && e.contains("cpu"), "{e}");
        // Host scalars join any device.
        assert_eq!(ops::scale(&ga, 2.0).unwrap().device(), GPU);
        // A dense training step on resident tensors copies nothing but the loss out.
        let x = rand(&[32, 64], 31).to_device(GPU).unwrap();
        let w = rand(&[64, 10], 32).to_device(GPU).unwrap().requiring_grad();
        let step = || {
            let tape = GradientTape::new();
            let y = ops::dense(&x, &w, None, Unary::Relu).unwrap();
            let l = ops::mean_all(&ops::unary(&y, Unary::Square).unwrap()).unwrap();
            let g = tape.gradient(&l, &[&w]).unwrap();
            (l, g)
        };
        step();
        let before = device::transfer_stats();
        let (l, g) = step();
        let mid = device::transfer_stats().since(&before);
        assert_eq!((mid.h2d, mid.d2h), (0, 0), "a resident step made host copies: {mid:?}");
        assert!(g[0].is_some());
        l.item().unwrap();
        let after = device::transfer_stats().since(&before);
        assert_eq!((after.h2d, after.d2h), (0, 1), "{after:?}");
        // Round trip and lazy host copies.
        assert_eq!(ga.to_device(Device::Cpu).unwrap().to_f32_vec(), a.to_f32_vec());
    }

    fn cuda_graph_replays_a_step() {
        use keras_engine::cuda::graph;
        let x = rand(&[16, 8], 40).to_device(GPU).unwrap();
        let w = rand(&[8, 4], 41).to_device(GPU).unwrap();
        let eager = ops::sum_all(&ops::dense(&x, &w, None, Unary::Tanh).unwrap()).unwrap().item().unwrap();
        let (g, out) = graph::capture(0, || ops::sum_all(&ops::dense(&x, &w, None, Unary::Tanh)?)).unwrap();
        let before = device::transfer_stats();
        for _ in 0..3 {
            g.replay().unwrap();
        }
        assert_eq!(device::transfer_stats().since(&before).h2d, 0);
        let replayed = out.to_device(Device::Cpu).unwrap().item().unwrap();
        assert!((replayed - eager).abs() <= 1e-3 * eager.abs().max(1.0), "{replayed} vs {eager}");
        // Host copies are refused inside a capture.
        let host = rand(&[4], 42);
        let e = graph::capture(0, || host.to_device(GPU)).unwrap_err();
        assert!(e.to_string().contains("captured CUDA graph"), "{e}");
    }

    fn nvrtc_compiles_every_kernel() {
        use keras_engine::cuda::module;
        match module::compile(module::KERNELS_SRC, (9, 0), true) {
            Ok(module::Compiled::Cubin(v)) => assert!(!v.is_empty()),
            Ok(_) => panic!("asked for a cubin"),
            Err(e) => panic!("{e}"),
        }
    }

    pub fn main() {
        let cases: Vec<Case> = vec![
            ("nvrtc_compiles_every_kernel", false, nvrtc_compiles_every_kernel),
            ("unary_all", true, unary_all),
            ("binary_broadcasting", true, binary_broadcasting),
            ("reductions", true, reductions),
            ("softmaxes", true, softmaxes),
            ("gemms", true, gemms),
            ("convolutions", true, convolutions),
            ("fused_losses", true, fused_losses),
            ("dropout_statistics", true, dropout_statistics),
            ("fused_adam_matches_keras_formula", true, fused_adam_matches_keras_formula),
            ("devices_and_transfers", true, devices_and_transfers),
            ("cuda_graph_replays_a_step", true, cuda_graph_replays_a_step),
        ];
        let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
        let gpu = device::cuda_device_count() > 0;
        if gpu {
            println!("GPUs: {:?}", keras_engine::cuda::describe_devices());
        }
        let (mut passed, mut failed, mut skipped) = (0, 0, 0);
        for (name, needs_gpu, f) in cases {
            if !filter.is_empty() && !filter.iter().any(|p| name.contains(p.as_str())) {
                continue;
            }
            let missing = if needs_gpu && !gpu {
                Some("no CUDA GPU")
            } else if !needs_gpu && !keras_engine::cuda::module::nvrtc_available() {
                Some("libnvrtc not found")
            } else {
                None
            };
            if let Some(why) = missing {
                println!("test {name} ... SKIP ({why})");
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
