//! Times W3's Embedding gradient and the Adam pass that reads it, with the gradient buffer
//! reused from the step before (`RowGradBuffer` clears only the rows it wrote) against a
//! fresh zero-filled table each step (the previous gradient is still held, as when a caller
//! keeps it). A 20000 x 128 table, 32 x 80 ids a step; Adam over the table in pieces of
//! 32768 elements over the engine's threads, as the optimizer runs it.
//!
//! `cargo run --release -p keras-engine --example embedding_grad [-- REPS]`; the thread count
//! comes from `KERAS_NUM_THREADS`. Prints the median microseconds of REPS alternating steps
//! of each, for the gradient alone and for the gradient plus Adam.

use keras_engine::kernels::adam::{adam_update, AdamStep};
use keras_engine::kernels::row_grad::RowGradBuffer;
use keras_engine::Tensor;
use rayon::prelude::*;
use std::time::Instant;

const VOCAB: usize = 20_000;
const DIM: usize = 128;
const IDS: usize = 32 * 80;
const CHUNK: usize = 1 << 15;

struct Table {
    w: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
}

fn adam(t: &mut Table, g: &Tensor, step: u64) {
    let h = AdamStep::new(0.001, 0.9, 0.999, 1e-7, step, None);
    let g = g.as_f32().unwrap();
    t.w.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(t.m.par_chunks_mut(CHUNK))
        .zip(t.v.par_chunks_mut(CHUNK))
        .for_each(|(((w, g), m), v)| adam_update(w, g, m, v, None, &h));
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(41);
    let gv: Vec<f32> = (0..IDS * DIM).map(|k| (k as f32 * 0.37).sin() * 1e-3).collect();
    let table = |seed: f32| Table {
        w: (0..VOCAB * DIM).map(|k| (k as f32 * 0.11 + seed).sin() * 0.05).collect(),
        m: vec![0.0; VOCAB * DIM],
        v: vec![0.0; VOCAB * DIM],
    };
    let (mut t_fresh, mut t_reuse) = (table(0.0), table(0.0));
    let (mut b_fresh, mut b_reuse) = (RowGradBuffer::new(), RowGradBuffer::new());
    let mut held: Option<Tensor> = None;
    let (mut fg, mut fa, mut rg, mut ra) = (vec![], vec![], vec![], vec![]);
    for s in 0..reps {
        let ids: Vec<usize> = (0..IDS).map(|k| (k * 7919 + s * 104_729 + (k * k) % 977) % VOCAB).collect();
        for fresh in [s % 2 == 0, s % 2 != 0] {
            let (buf, tab) = if fresh { (&mut b_fresh, &mut t_fresh) } else { (&mut b_reuse, &mut t_reuse) };
            let t0 = Instant::now();
            let g = buf.gradient(VOCAB, DIM, &ids, &gv).unwrap();
            let t1 = Instant::now();
            adam(tab, &g, s as u64);
            let t2 = Instant::now();
            let (gt, at) = ((t1 - t0).as_secs_f64() * 1e6, (t2 - t0).as_secs_f64() * 1e6);
            if fresh {
                // Held until the next fresh step: that one cannot reuse the buffer.
                held = Some(g);
                fg.push(gt);
                fa.push(at);
            } else {
                drop(g);
                rg.push(gt);
                ra.push(at);
            }
        }
    }
    drop(held);
    assert_eq!(t_fresh.w, t_reuse.w, "the same bits either way");
    println!(
        "gradient: fresh {:.0} us, reused {:.0} us; gradient + Adam: fresh {:.0} us, reused {:.0} us",
        median(&mut fg),
        median(&mut rg),
        median(&mut fa),
        median(&mut ra)
    );
}
