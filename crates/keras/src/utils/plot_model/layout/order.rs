//! Crossing reduction: the left-to-right order of the boxes in each rank.
//!
//! The first order comes from a depth-first walk in the model's order (inputs left to right,
//! as Keras lists them); then barycenter sweeps down and up, each followed by adjacent swaps
//! that remove crossings, keeping the best order seen (Gansner et al., "A technique for
//! drawing directed graphs", the method of Graphviz's `dot`). Edge ends on boxes with several
//! ports (nested models) count at the port's place in the box.

use super::Hop;

/// Number of sweeps: enough for the models Keras draws, bounded for big ones.
const SWEEPS: usize = 24;

/// Where an edge end sits in its rank: the node's index plus the port's place in the box.
fn place(pos: &[usize], v: usize, frac: f64) -> f64 {
    pos[v] as f64 + frac
}

/// Hops between rank `r` and `r + 1`, as (upper place, lower place).
fn segments(pos: &[usize], hops: &[Hop], between: &[usize]) -> Vec<(f64, f64)> {
    between
        .iter()
        .map(|&h| (place(pos, hops[h].from, hops[h].from_frac), place(pos, hops[h].to, hops[h].to_frac)))
        .collect()
}

fn crossings_of(segs: &mut [(f64, f64)]) -> usize {
    segs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut c = 0;
    for i in 0..segs.len() {
        for j in i + 1..segs.len() {
            if segs[j].0 > segs[i].0 && segs[j].1 < segs[i].1 {
                c += 1;
            }
        }
    }
    c
}

/// Total crossings of an order.
fn crossings(layers: &[Vec<usize>], pos: &[usize], hops: &[Hop], by_rank: &[Vec<usize>]) -> usize {
    (0..layers.len().saturating_sub(1)).map(|r| crossings_of(&mut segments(pos, hops, &by_rank[r]))).sum()
}

fn positions(layers: &[Vec<usize>], n: usize) -> Vec<usize> {
    let mut pos = vec![0; n];
    for layer in layers {
        for (i, &v) in layer.iter().enumerate() {
            pos[v] = i;
        }
    }
    pos
}

/// Orders `layers` in place. `rank[v]` is the layer of node `v`; every hop goes from rank r
/// to rank r + 1; `first_order` lists the nodes in the order the walk should visit them.
pub(crate) fn order(layers: &mut [Vec<usize>], rank: &[usize], hops: &[Hop], first_order: &[usize]) {
    let n = rank.len();
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut by_rank: Vec<Vec<usize>> = vec![Vec::new(); layers.len()];
    for (k, h) in hops.iter().enumerate() {
        down[h.from].push(k);
        up[h.to].push(k);
        by_rank[rank[h.from]].push(k);
    }

    // Initial order: depth first from each node in the given order.
    for layer in layers.iter_mut() {
        layer.clear();
    }
    let mut seen = vec![false; n];
    for &root in first_order {
        if seen[root] {
            continue;
        }
        let mut stack = vec![root];
        while let Some(v) = stack.pop() {
            if seen[v] {
                continue;
            }
            seen[v] = true;
            layers[rank[v]].push(v);
            for &k in down[v].iter().rev() {
                if !seen[hops[k].to] {
                    stack.push(hops[k].to);
                }
            }
        }
    }

    let mut pos = positions(layers, n);
    let mut best = layers.to_vec();
    let mut best_c = crossings(layers, &pos, hops, &by_rank);
    for sweep in 0..SWEEPS {
        if best_c == 0 {
            break;
        }
        let downward = sweep % 2 == 0;
        let ranks: Vec<usize> = if downward {
            (1..layers.len()).collect()
        } else {
            (0..layers.len().saturating_sub(1)).rev().collect()
        };
        for r in ranks {
            let key = |v: usize| -> f64 {
                let ends: Vec<f64> = if downward {
                    up[v]
                        .iter()
                        .map(|&k| place(&pos, hops[k].from, hops[k].from_frac) - hops[k].to_frac)
                        .collect()
                } else {
                    down[v]
                        .iter()
                        .map(|&k| place(&pos, hops[k].to, hops[k].to_frac) - hops[k].from_frac)
                        .collect()
                };
                if ends.is_empty() {
                    pos[v] as f64
                } else {
                    ends.iter().sum::<f64>() / ends.len() as f64
                }
            };
            let mut keyed: Vec<(f64, usize, usize)> =
                layers[r].iter().map(|&v| (key(v), pos[v], v)).collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            layers[r] = keyed.into_iter().map(|(_, _, v)| v).collect();
            for (i, &v) in layers[r].iter().enumerate() {
                pos[v] = i;
            }
        }
        transpose(layers, &mut pos, hops, &up, &down);
        let c = crossings(layers, &pos, hops, &by_rank);
        if c < best_c {
            best_c = c;
            best = layers.to_vec();
        }
    }
    layers.clone_from_slice(&best);
}

/// Crossings among the edges of `v` and `w` (v left of w) with one neighbouring rank.
fn pair_crossings(pos: &[usize], hops: &[Hop], ends_v: &[usize], ends_w: &[usize], upward: bool) -> usize {
    let end = |k: usize| {
        if upward {
            place(pos, hops[k].from, hops[k].from_frac)
        } else {
            place(pos, hops[k].to, hops[k].to_frac)
        }
    };
    let mut c = 0;
    for &a in ends_v {
        for &b in ends_w {
            if end(a) > end(b) {
                c += 1;
            }
        }
    }
    c
}

/// Swaps neighbours while that removes crossings.
fn transpose(
    layers: &mut [Vec<usize>],
    pos: &mut [usize],
    hops: &[Hop],
    up: &[Vec<usize>],
    down: &[Vec<usize>],
) {
    for _ in 0..8 {
        let mut improved = false;
        for layer in layers.iter_mut() {
            for i in 0..layer.len().saturating_sub(1) {
                let (v, w) = (layer[i], layer[i + 1]);
                let now = pair_crossings(pos, hops, &up[v], &up[w], true)
                    + pair_crossings(pos, hops, &down[v], &down[w], false);
                let swapped = pair_crossings(pos, hops, &up[w], &up[v], true)
                    + pair_crossings(pos, hops, &down[w], &down[v], false);
                if swapped < now {
                    layer.swap(i, i + 1);
                    pos[v] = i + 1;
                    pos[w] = i;
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(from: usize, to: usize) -> Hop {
        Hop { from, to, from_frac: 0.0, to_frac: 0.0, from_off: 0.0, to_off: 0.0 }
    }

    #[test]
    fn removes_a_crossing() {
        // Rank 0: a(0) b(1); rank 1: c(2) d(3); a->d, b->c cross unless reordered.
        let rank = [0, 0, 1, 1];
        let hops = [hop(0, 3), hop(1, 2)];
        let mut layers = vec![vec![0, 1], vec![2, 3]];
        order(&mut layers, &rank, &hops, &[0, 1, 2, 3]);
        let pos = positions(&layers, 4);
        let mut by_rank = vec![vec![0, 1], vec![]];
        by_rank[1].clear();
        assert_eq!(crossings(&layers, &pos, &hops, &by_rank), 0);
    }

    #[test]
    fn keeps_every_node_once() {
        let rank = [0, 1, 1, 1, 2];
        let hops = [hop(0, 1), hop(0, 2), hop(0, 3), hop(1, 4), hop(2, 4), hop(3, 4)];
        let mut layers = vec![vec![], vec![], vec![]];
        order(&mut layers, &rank, &hops, &[0, 1, 2, 3, 4]);
        let mut all: Vec<usize> = layers.concat();
        all.sort();
        assert_eq!(all, vec![0, 1, 2, 3, 4]);
        assert_eq!(layers[1].len(), 3);
    }
}
