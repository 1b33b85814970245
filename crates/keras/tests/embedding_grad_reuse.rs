//! The Embedding's gradient buffer is reused from one step to the next (only the rows the
//! last step wrote are cleared): training must give the same bits as when every step's
//! gradient is a fresh, zero-filled table. Embedding(mask_zero) -> LSTM -> Dense, several
//! optimizer steps with repeated ids, ids at both ends of the table, rows never hit and
//! padding; Adam (and AMSGrad, `global_clipnorm`) and optimizers that read the dense gradient
//! otherwise (SGD with momentum, RMSprop with `clipnorm`).

use keras::layers::{CallContext, Dense, Embedding, Input, LSTM};
use keras::models::Sequential;
use keras::optimizers::{Adam, Optimizer, RMSprop, SGD};
use keras::trainers::{minimize, Network};
use keras::{GradientTape, Tensor};

const VOCAB: usize = 9000;
const DIM: usize = 64;
const BATCH: usize = 4;
const STEPS: usize = 12;

fn model() -> Sequential {
    keras::utils::set_random_seed(11);
    let mut m = Sequential::new();
    m.add(Input::new(&[STEPS])).unwrap();
    // 9000 x 64 is large enough for the gradient's parallel path on two threads.
    m.add(Embedding::new(VOCAB, DIM).mask_zero(true)).unwrap();
    m.add(LSTM::new(8)).unwrap();
    m.add(Dense::new(1)).unwrap();
    m
}

/// The ids of step `s`: a different set each step, id 0 (padding, still a gradient row of
/// zeros), the last id, and repeats within the batch.
fn ids(s: usize) -> Tensor {
    let mut v: Vec<i64> =
        (0..BATCH * STEPS).map(|k| ((k * 7919 + s * 104_729 + (k % 5) * 2048) % VOCAB) as i64).collect();
    v[BATCH * STEPS - 1] = 0;
    v[1] = VOCAB as i64 - 1;
    v[5] = v[2];
    v[17] = v[2];
    Tensor::from_i64(v, [BATCH, STEPS]).unwrap()
}

fn loss_of(net: &dyn Network, x: &Tensor, ctx: &mut CallContext) -> keras::Result<Tensor> {
    let y = net.forward(std::slice::from_ref(x), ctx)?;
    Ok(keras::ops::mean_all(&keras::ops::mul(&y[0], &y[0])?)?)
}

/// How a run takes its steps.
#[derive(Clone, Copy, Debug)]
enum Run {
    /// The trainer's `minimize` (the gradient buffer is free again at the next step).
    Trainer,
    /// Tape and `apply_gradients`, keeping every step's gradients alive: each step's
    /// Embedding gradient is a fresh zero-filled table.
    HeldGradients,
}

/// The bits of every weight after the run's steps.
fn train(opt: &mut dyn Optimizer, run: Run) -> Vec<Vec<u32>> {
    let mut m = model();
    let mut held = Vec::new();
    for s in 0..5 {
        let x = ids(s);
        match run {
            Run::Trainer => {
                minimize(m.network_mut(), opt, |net, ctx| Ok((loss_of(net, &x, ctx)?, ()))).unwrap();
            }
            Run::HeldGradients => {
                let grads = {
                    let tape = GradientTape::new();
                    let loss = loss_of(m.network(), &x, &mut CallContext::new(true)).unwrap();
                    let vars = m.network_mut().variables_mut();
                    let sources: Vec<&Tensor> =
                        vars.iter().filter(|(_, t)| *t).map(|(v, _)| v.value()).collect();
                    tape.into_gradient(loss, &sources).unwrap()
                };
                let grads: Vec<Tensor> = grads.into_iter().map(Option::unwrap).collect();
                let mut vars: Vec<_> =
                    m.network_mut().variables_mut().into_iter().filter(|(_, t)| *t).map(|(v, _)| v).collect();
                opt.apply_gradients(&grads, &mut vars).unwrap();
                held.push(grads);
            }
        }
    }
    assert_eq!(held.len(), if matches!(run, Run::HeldGradients) { 5 } else { 0 });
    m.get_weights().iter().map(|w| w.to_f32_vec().iter().map(|v| v.to_bits()).collect()).collect()
}

/// Makes a fresh optimizer for a run.
type MakeOptimizer = fn() -> Box<dyn Optimizer>;

#[test]
fn reused_embedding_gradient_trains_bit_for_bit_like_a_fresh_one() {
    let start: Vec<Vec<u32>> =
        model().get_weights().iter().map(|w| w.to_f32_vec().iter().map(|v| v.to_bits()).collect()).collect();
    let optimizers: Vec<(&str, MakeOptimizer)> = vec![
        ("adam", || Box::new(Adam::new().learning_rate(0.01))),
        ("adam amsgrad global_clipnorm", || Box::new(Adam::new().amsgrad(true).global_clipnorm(0.5))),
        ("sgd momentum", || Box::new(SGD::new().learning_rate(0.1).momentum(0.9))),
        ("rmsprop clipnorm", || Box::new(RMSprop::new().clipnorm(0.1))),
    ];
    for (name, make) in optimizers {
        let fresh = train(&mut *make(), Run::HeldGradients);
        let reused = train(&mut *make(), Run::Trainer);
        assert_eq!(fresh.len(), reused.len());
        for (k, (a, b)) in fresh.iter().zip(&reused).enumerate() {
            assert_eq!(a, b, "{name}: weight {k}");
        }
        let moved = fresh[0].chunks(DIM).zip(start[0].chunks(DIM)).filter(|(a, b)| a != b).count();
        assert!(moved > BATCH * STEPS, "{name}: the table trained ({moved} rows)");
    }
}
