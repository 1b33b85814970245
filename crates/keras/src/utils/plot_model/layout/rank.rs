//! Rank assignment: which layer of the drawing each box goes in.
//!
//! Edges that close a cycle are turned around first (a model is acyclic, a hand-made
//! [`PlotGraph`](super::super::PlotGraph) may not be). Ranks then make the edges as short as
//! possible in total, as Graphviz's `dot` does: a second input is drawn just above the layer
//! that uses it, not at the top.

use std::collections::HashMap;

use super::simplex::{self, Balance, NsEdge};

/// Depth-first search from the nodes in order: the edges to a node still on the stack close a
/// cycle; returns which edges to reverse.
pub(crate) fn feedback_edges(n: usize, edges: &[(usize, usize)]) -> Vec<bool> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (k, &(a, _)) in edges.iter().enumerate() {
        out[a].push(k);
    }
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        Open,
        Done,
    }
    let mut state = vec![State::New; n];
    let mut reversed = vec![false; edges.len()];
    for root in 0..n {
        if state[root] != State::New {
            continue;
        }
        // Iterative DFS: (node, next out-edge position).
        let mut stack = vec![(root, 0usize)];
        state[root] = State::Open;
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if *next < out[v].len() {
                let k = out[v][*next];
                *next += 1;
                let w = edges[k].1;
                match state[w] {
                    State::New => {
                        state[w] = State::Open;
                        stack.push((w, 0));
                    }
                    State::Open => reversed[k] = true,
                    State::Done => {}
                }
            } else {
                state[v] = State::Done;
                stack.pop();
            }
        }
    }
    reversed
}

/// Ranks of an acyclic graph (self-loops ignored), smallest rank 0: every edge at least one
/// rank long, the total length as small as possible (network simplex).
pub(crate) fn ranks(n: usize, edges: &[(usize, usize)]) -> Vec<i64> {
    let mut weight: HashMap<(usize, usize), i64> = HashMap::new();
    let mut order = Vec::new();
    for &(a, b) in edges {
        if a != b {
            let w = weight.entry((a, b)).or_insert(0);
            if *w == 0 {
                order.push((a, b));
            }
            *w += 1;
        }
    }
    let ns: Vec<NsEdge> =
        order.iter().map(|&(a, b)| NsEdge { tail: a, head: b, minlen: 1, weight: weight[&(a, b)] }).collect();
    simplex::solve(n, &ns, Balance::None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_broken_by_reversing_back_edges() {
        let edges = [(0, 1), (1, 2), (2, 0), (2, 3)];
        let rev = feedback_edges(4, &edges);
        assert_eq!(rev, vec![false, false, true, false]);
    }

    #[test]
    fn ranks_respect_edges_and_pull_late_inputs_down() {
        // 0 -> 1 -> 2 -> 3 -> 4, and a second input 5 -> 4.
        let edges = [(0, 1), (1, 2), (2, 3), (3, 4), (5, 4)];
        let r = ranks(6, &edges);
        for &(a, b) in &edges {
            assert!(r[b] > r[a]);
        }
        assert_eq!(r[0], 0);
        assert_eq!(r[5], r[4] - 1, "{r:?}");
    }

    #[test]
    fn residual_skip_spans_the_block() {
        // x -> a -> b -> add, x -> add.
        let edges = [(0, 1), (1, 2), (2, 3), (0, 3)];
        assert_eq!(ranks(4, &edges), vec![0, 1, 2, 3]);
    }
}
