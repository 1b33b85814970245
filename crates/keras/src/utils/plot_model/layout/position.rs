//! Coordinate assignment across the ranks, as Graphviz's `dot` does it: network simplex on an
//! auxiliary graph. Each hop of an edge gets a new node below both of its ends, so the
//! optimum pays `weight * |x_from + port - (x_to + port)|` for it; neighbours in a rank are
//! kept at least their separation apart. Hops between edge bends weigh most, so long edges
//! run straight; boxes line up under the boxes they connect to; and subtrees free to move at
//! no cost are centred (a box fed by two branches goes between them).

use super::simplex::{self, Balance, NsEdge};
use super::Hop;

/// Separation between boxes (Graphviz `nodesep`, 0.25 inch).
pub(crate) const NODE_SEP: f64 = 18.0;
/// Separation between an edge and a box or another edge.
pub(crate) const EDGE_SEP: f64 = 10.0;

/// What the coordinate assignment needs to know of a node.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    /// Width along the rank (TB frame).
    pub width: f64,
    /// A bend of a long edge, or an entry/exit point of a cluster: a point, not a box.
    pub point: bool,
}

fn sep(a: &Slot, b: &Slot) -> f64 {
    let gap = if a.point || b.point { EDGE_SEP } else { NODE_SEP };
    (a.width + b.width) / 2.0 + gap
}

/// Cost per point of slant of a hop. Graphviz weighs hops between bends 4, so long edges run
/// straight, and most others 1; here hops between two boxes weigh 2, more than a long edge's
/// last hop (1), so a block's main path stays straight and its skip connection goes around it.
fn weight(a: &Slot, b: &Slot) -> i64 {
    match (a.point, b.point) {
        (false, false) => 2,
        (true, true) => 4,
        _ => 1,
    }
}

/// Centre x of every node; the leftmost box edge at 0.
pub(crate) fn assign(layers: &[Vec<usize>], slots: &[Slot], hops: &[Hop]) -> Vec<f64> {
    let n = slots.len();
    let mut edges = Vec::new();
    for layer in layers {
        for w in layer.windows(2) {
            let minlen = sep(&slots[w[0]], &slots[w[1]]).ceil() as i64;
            edges.push(NsEdge { tail: w[0], head: w[1], minlen, weight: 0 });
        }
    }
    let mut aux = n;
    for h in hops {
        if h.from == h.to {
            continue;
        }
        let omega = weight(&slots[h.from], &slots[h.to]);
        let mut m0 = (h.to_off - h.from_off).round() as i64;
        let m1 = if m0 > 0 {
            0
        } else {
            let m = -m0;
            m0 = 0;
            m
        };
        edges.push(NsEdge { tail: aux, head: h.from, minlen: m0, weight: omega });
        edges.push(NsEdge { tail: aux, head: h.to, minlen: m1, weight: omega });
        aux += 1;
    }
    let ranks = simplex::solve(aux, &edges, Balance::Center);
    let mut x: Vec<f64> = ranks[..n].iter().map(|&r| r as f64).collect();
    let min = layers
        .iter()
        .flat_map(|l| l.iter().map(|&v| x[v] - slots[v].width / 2.0))
        .fold(f64::INFINITY, f64::min);
    if min.is_finite() {
        x.iter_mut().for_each(|v| *v -= min);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(from: usize, to: usize) -> Hop {
        Hop { from, to, from_frac: 0.0, to_frac: 0.0, from_off: 0.0, to_off: 0.0 }
    }

    #[test]
    fn branches_are_centred_under_their_parent_and_apart() {
        // 0 -> {1, 2, 3, 4} -> 5 (an Inception block).
        let layers = vec![vec![0], vec![1, 2, 3, 4], vec![5]];
        let slots: Vec<Slot> = (0..6).map(|_| Slot { width: 100.0, point: false }).collect();
        let mut hops = Vec::new();
        for b in 1..5 {
            hops.push(hop(0, b));
            hops.push(hop(b, 5));
        }
        let x = assign(&layers, &slots, &hops);
        for w in layers[1].windows(2) {
            assert!(x[w[1]] - x[w[0]] >= 118.0 - 1e-9, "{x:?}");
        }
        let mid = (x[1] + x[4]) / 2.0;
        assert!((x[0] - mid).abs() <= 1.0, "{x:?}");
        assert!((x[5] - mid).abs() <= 1.0, "{x:?}");
    }

    #[test]
    fn a_chain_is_straight() {
        let layers: Vec<Vec<usize>> = (0..5).map(|i| vec![i]).collect();
        let slots: Vec<Slot> = (0..5).map(|i| Slot { width: 50.0 + 10.0 * i as f64, point: false }).collect();
        let hops: Vec<Hop> = (0..4).map(|i| hop(i, i + 1)).collect();
        let x = assign(&layers, &slots, &hops);
        for i in 1..5 {
            assert!((x[i] - x[0]).abs() < 1e-9);
        }
    }
}

#[cfg(test)]
mod skip_tests {
    use super::*;

    #[test]
    fn a_skip_edge_goes_around_a_straight_chain() {
        // x(0) -> a(1) -> b(2) -> add(3), and x -> add through bends 4 and 5 beside a and b.
        let layers = vec![vec![0], vec![1, 4], vec![2, 5], vec![3]];
        let mut slots: Vec<Slot> =
            (0..4).map(|i| Slot { width: 100.0 + 40.0 * (i % 2) as f64, point: false }).collect();
        slots.push(Slot { width: 0.0, point: true });
        slots.push(Slot { width: 0.0, point: true });
        let hop = |from, to| Hop { from, to, from_frac: 0.0, to_frac: 0.0, from_off: 0.0, to_off: 0.0 };
        let hops = [hop(0, 1), hop(1, 2), hop(2, 3), hop(0, 4), hop(4, 5), hop(5, 3)];
        let x = assign(&layers, &slots, &hops);
        assert_eq!(x[0], x[1]);
        assert_eq!(x[1], x[2]);
        assert_eq!(x[2], x[3]);
        assert_eq!(x[4], x[5], "the skip edge is straight beside the chain");
    }
}
