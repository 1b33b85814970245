//! Network simplex: integer values `rank[v]` minimising `sum weight * (rank[head] - rank[tail])`
//! subject to `rank[head] - rank[tail] >= minlen` for every edge (Gansner, Koutsofios, North
//! and Vo, "A technique for drawing directed graphs", 1993; Graphviz's `ns.c`).
//!
//! Graphviz's `dot` uses it twice, and so do we: for the ranks (every edge of length at least
//! 1, as short as possible) and for the coordinates within ranks (an auxiliary graph whose
//! optimum puts connected boxes above each other, long edges straight, boxes apart).

/// A constraint `rank[head] - rank[tail] >= minlen`, with a cost `weight` per unit of length.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NsEdge {
    pub tail: usize,
    pub head: usize,
    pub minlen: i64,
    pub weight: i64,
}

/// After the optimum, centre subtrees that can move at no cost (Graphviz's balance for
/// coordinates): a box between two others goes midway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Balance {
    None,
    Center,
}

struct Solver<'a> {
    n: usize,
    edges: &'a [NsEdge],
    incident: Vec<Vec<usize>>,
    rank: Vec<i64>,
    in_tree: Vec<bool>,
    tree_adj: Vec<Vec<usize>>,
    parent: Vec<Option<usize>>,
    low: Vec<usize>,
    lim: Vec<usize>,
    cut: Vec<i64>,
    root: usize,
}

/// Optimal ranks; the graph must be acyclic, without self-loops. Disconnected parts are
/// tied together by a zero-cost root, so any graph works.
pub(crate) fn solve(n: usize, edges: &[NsEdge], balance: Balance) -> Vec<i64> {
    if n == 0 {
        return Vec::new();
    }
    // A root with free edges to every node keeps the graph connected.
    let mut all: Vec<NsEdge> = edges.to_vec();
    for v in 0..n {
        all.push(NsEdge { tail: n, head: v, minlen: 0, weight: 0 });
    }
    let total = n + 1;
    let mut incident = vec![Vec::new(); total];
    for (k, e) in all.iter().enumerate() {
        incident[e.tail].push(k);
        incident[e.head].push(k);
    }
    let mut s = Solver {
        n: total,
        edges: &all,
        incident,
        rank: vec![0; total],
        in_tree: vec![false; all.len()],
        tree_adj: vec![Vec::new(); total],
        parent: vec![None; total],
        low: vec![0; total],
        lim: vec![0; total],
        cut: vec![0; all.len()],
        root: n,
    };
    s.init_rank();
    s.feasible_tree();
    s.init_cut_values();
    let limit = 20 * (all.len() + total);
    let mut start = 0;
    for _ in 0..limit {
        let Some(e) = s.leave_edge(&mut start) else {
            break;
        };
        let Some(f) = s.enter_edge(e) else {
            break;
        };
        s.exchange(e, f);
    }
    if balance == Balance::Center {
        s.balance();
    }
    let min = s.rank[..n].iter().copied().min().unwrap_or(0);
    s.rank[..n].iter().map(|r| r - min).collect()
}

impl Solver<'_> {
    fn slack(&self, e: usize) -> i64 {
        let e = &self.edges[e];
        self.rank[e.head] - self.rank[e.tail] - e.minlen
    }

    /// Longest path from the sources: the smallest feasible ranks.
    fn init_rank(&mut self) {
        let mut indeg = vec![0usize; self.n];
        for e in self.edges {
            indeg[e.head] += 1;
        }
        let mut ready: Vec<usize> = (0..self.n).filter(|&v| indeg[v] == 0).collect();
        while let Some(v) = ready.pop() {
            for &k in &self.incident[v] {
                let e = self.edges[k];
                if e.tail != v {
                    continue;
                }
                self.rank[e.head] = self.rank[e.head].max(self.rank[v] + e.minlen);
                indeg[e.head] -= 1;
                if indeg[e.head] == 0 {
                    ready.push(e.head);
                }
            }
        }
    }

    /// Grows a tree of tight edges from the root; returns its size.
    fn tight_tree(&mut self) -> Vec<bool> {
        self.in_tree.iter_mut().for_each(|t| *t = false);
        let mut seen = vec![false; self.n];
        let mut stack = vec![self.root];
        seen[self.root] = true;
        while let Some(v) = stack.pop() {
            for &k in &self.incident[v] {
                let e = self.edges[k];
                let w = if e.tail == v { e.head } else { e.tail };
                if !seen[w] && self.slack(k) == 0 {
                    seen[w] = true;
                    self.in_tree[k] = true;
                    stack.push(w);
                }
            }
        }
        seen
    }

    fn feasible_tree(&mut self) {
        loop {
            let in_t = self.tight_tree();
            if in_t.iter().all(|&b| b) {
                break;
            }
            // The non-tree edge with one end in the tree and the least slack; shift the tree
            // to make it tight.
            let mut best: Option<(i64, usize)> = None;
            for (k, e) in self.edges.iter().enumerate() {
                if in_t[e.tail] != in_t[e.head] {
                    let s = self.slack(k);
                    if best.is_none_or(|(b, _)| s < b) {
                        best = Some((s, k));
                    }
                }
            }
            let Some((s, k)) = best else {
                break;
            };
            let delta = if in_t[self.edges[k].head] { -s } else { s };
            for (r, _) in self.rank.iter_mut().zip(&in_t).filter(|(_, &t)| t) {
                *r += delta;
            }
        }
        self.rebuild_tree_adj();
    }

    fn rebuild_tree_adj(&mut self) {
        self.tree_adj.iter_mut().for_each(Vec::clear);
        for (k, e) in self.edges.iter().enumerate() {
            if self.in_tree[k] {
                self.tree_adj[e.tail].push(k);
                self.tree_adj[e.head].push(k);
            }
        }
    }

    /// Post-order numbers (`lim`), the smallest in each subtree (`low`), and tree parents.
    fn dfs_range(&mut self) -> Vec<usize> {
        let mut post = Vec::with_capacity(self.n);
        self.parent.iter_mut().for_each(|p| *p = None);
        let mut visited = vec![false; self.n];
        let mut stack: Vec<(usize, usize)> = vec![(self.root, 0)];
        visited[self.root] = true;
        let mut counter = 1;
        let mut low_stack: Vec<usize> = vec![counter];
        while let Some(&mut (v, ref mut i)) = stack.last_mut() {
            if *i < self.tree_adj[v].len() {
                let k = self.tree_adj[v][*i];
                *i += 1;
                let e = self.edges[k];
                let w = if e.tail == v { e.head } else { e.tail };
                if !visited[w] {
                    visited[w] = true;
                    self.parent[w] = Some(k);
                    stack.push((w, 0));
                    low_stack.push(counter);
                }
            } else {
                stack.pop();
                self.low[v] = low_stack.pop().expect("pushed with the node");
                self.lim[v] = counter;
                counter += 1;
                post.push(v);
            }
        }
        post
    }

    fn init_cut_values(&mut self) {
        let post = self.dfs_range();
        for &v in &post {
            if let Some(pe) = self.parent[v] {
                self.cut[pe] = self.cut_value(v, pe);
            }
        }
    }

    /// The cut value of the tree edge `pe` joining `child` to its parent, from the cut values
    /// of the child's own tree edges.
    fn cut_value(&self, child: usize, pe: usize) -> i64 {
        let child_is_tail = self.edges[pe].tail == child;
        let mut cut = self.edges[pe].weight;
        for &k in &self.incident[child] {
            if k == pe {
                continue;
            }
            let e = self.edges[k];
            let is_out = e.tail == child;
            let points_to_head = is_out == child_is_tail;
            cut += if points_to_head { e.weight } else { -e.weight };
            if self.in_tree[k] {
                cut += if points_to_head { -self.cut[k] } else { self.cut[k] };
            }
        }
        cut
    }

    fn leave_edge(&self, start: &mut usize) -> Option<usize> {
        let m = self.edges.len();
        for i in 0..m {
            let k = (*start + i) % m;
            if self.in_tree[k] && self.cut[k] < 0 {
                *start = (k + 1) % m;
                return Some(k);
            }
        }
        None
    }

    fn in_subtree(&self, v: usize, root: usize) -> bool {
        self.low[root] <= self.lim[v] && self.lim[v] <= self.lim[root]
    }

    /// The non-tree edge with the least slack that crosses the cut of tree edge `e` the other
    /// way (Graphviz `enter_edge`).
    fn enter_edge(&self, e: usize) -> Option<usize> {
        let te = self.edges[e];
        let (sub, out_search) =
            if self.lim[te.tail] < self.lim[te.head] { (te.tail, false) } else { (te.head, true) };
        let mut best: Option<(i64, usize)> = None;
        for (k, f) in self.edges.iter().enumerate() {
            if self.in_tree[k] {
                continue;
            }
            let (inside, outside) = if out_search { (f.tail, f.head) } else { (f.head, f.tail) };
            if self.in_subtree(inside, sub) && !self.in_subtree(outside, sub) {
                let s = self.slack(k);
                if best.is_none_or(|(b, _)| s < b) {
                    best = Some((s, k));
                }
            }
        }
        best.map(|(_, k)| k)
    }

    fn exchange(&mut self, e: usize, f: usize) {
        self.in_tree[e] = false;
        self.in_tree[f] = true;
        self.rebuild_tree_adj();
        self.init_cut_values();
        // Ranks from the root along the tree: every tree edge tight.
        let mut order = vec![self.root];
        let mut i = 0;
        let mut seen = vec![false; self.n];
        seen[self.root] = true;
        while i < order.len() {
            let v = order[i];
            i += 1;
            for &k in &self.tree_adj[v] {
                let ed = self.edges[k];
                let (w, r) = if ed.tail == v {
                    (ed.head, self.rank[v] + ed.minlen)
                } else {
                    (ed.tail, self.rank[v] - ed.minlen)
                };
                if !seen[w] {
                    seen[w] = true;
                    self.rank[w] = r;
                    order.push(w);
                }
            }
        }
    }

    /// Moves each subtree hanging from a zero-cut-value tree edge to the middle of its free
    /// range (Graphviz `LR_balance`).
    fn balance(&mut self) {
        for e in 0..self.edges.len() {
            if !self.in_tree[e] || self.cut[e] != 0 {
                continue;
            }
            let Some(f) = self.enter_edge(e) else {
                continue;
            };
            let delta = self.slack(f);
            if delta <= 1 {
                continue;
            }
            let te = self.edges[e];
            let (sub, shift) = if self.lim[te.tail] < self.lim[te.head] {
                (te.tail, -delta / 2)
            } else {
                (te.head, delta / 2)
            };
            for v in 0..self.n {
                if self.in_subtree(v, sub) {
                    self.rank[v] += shift;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(tail: usize, head: usize, minlen: i64, weight: i64) -> NsEdge {
        NsEdge { tail, head, minlen, weight }
    }

    fn cost(r: &[i64], edges: &[NsEdge]) -> i64 {
        edges.iter().map(|e| e.weight * (r[e.head] - r[e.tail])).sum()
    }

    fn feasible(r: &[i64], edges: &[NsEdge]) -> bool {
        edges.iter().all(|e| r[e.head] - r[e.tail] >= e.minlen)
    }

    #[test]
    fn ranks_are_optimal_for_a_late_input() {
        // 0 -> 1 -> 2 -> 3, and 4 -> 3: the best place for 4 is just above 3.
        let edges = [e(0, 1, 1, 1), e(1, 2, 1, 1), e(2, 3, 1, 1), e(4, 3, 1, 1)];
        let r = solve(5, &edges, Balance::None);
        assert!(feasible(&r, &edges));
        assert_eq!(cost(&r, &edges), 4);
        assert_eq!(r[4], 2);
    }

    #[test]
    fn matches_brute_force_on_small_graphs() {
        // Every DAG on 4 nodes whose edges go from lower to higher index, weights 1..3.
        let pairs = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)];
        for mask in 1u32..64 {
            let edges: Vec<NsEdge> = pairs
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(i, &(a, b))| e(a, b, 1, 1 + (i as i64 % 3)))
                .collect();
            let r = solve(4, &edges, Balance::None);
            assert!(feasible(&r, &edges), "{mask}");
            let mut best = i64::MAX;
            for a in 0..4i64 {
                for b in 0..4 {
                    for c in 0..4 {
                        for d in 0..4 {
                            let t = [a, b, c, d];
                            if feasible(&t, &edges) {
                                best = best.min(cost(&t, &edges));
                            }
                        }
                    }
                }
            }
            assert_eq!(cost(&r, &edges), best, "mask {mask}: {r:?}");
        }
    }

    #[test]
    fn balance_centres_a_node_between_two_others() {
        // x coordinates: 1 and 2 side by side (2 >= 1 + 100); 0 connected to both through
        // auxiliary nodes 3 and 4 (|x0 - x1| + |x0 - x2|), indifferent between them.
        let edges = [e(1, 2, 100, 0), e(3, 0, 0, 1), e(3, 1, 0, 1), e(4, 0, 0, 1), e(4, 2, 0, 1)];
        let r = solve(5, &edges, Balance::Center);
        assert!(feasible(&r, &edges));
        assert_eq!(r[2] - r[1], 100);
        assert_eq!(r[0] - r[1], 50, "{r:?}");
    }
}
