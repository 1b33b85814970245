//! Our layered layout of the boxes, clusters and edges of a model drawing.
//!
//! Every level (the model, and the inside of each expanded nested model) is laid out on its
//! own in the top-to-bottom frame ([`level`]): an expanded nested model is one box of its
//! parent's level, with a port on its top for every layer an outside edge enters and one on
//! its bottom for every layer an edge leaves, so clusters never overlap and edges reach the
//! right layer inside. Levels are laid out innermost first, then placed, and the whole drawing
//! is turned for `rankdir`: LR swaps the axes, BT and RL mirror them.
//!
//! Submodules:
//! - `level`: The layered layout of one graph level (the whole model, or the inside of a cluster), in the top-to-bottom frame
//! - `order`: Crossing reduction
//! - `position`: Coordinate assignment across the ranks, as Graphviz's `dot` does it
//! - `rank`: Rank assignment
//! - `simplex`: Network simplex
//! - `tracks`: Track assignment for the horizontal runs of right-angle edges in the channel between two ranks (the "constrained left-edge" algorithm of channel routing)

mod level;
mod order;
mod position;
mod rank;
mod simplex;
mod tracks;

use std::collections::HashMap;

use super::graph::Item;
use super::{RankDir, Splines};

/// Space around the drawing (Graphviz's default `pad`, 4 points).
pub(crate) const GRAPH_PAD: f64 = 4.0;
/// Space between a cluster's border and its content (Graphviz's cluster margin, 8 points).
pub(crate) const CLUSTER_MARGIN: f64 = 8.0;

/// One hop of an edge between adjacent ranks, as the ordering and placement see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hop {
    pub from: usize,
    pub to: usize,
    /// Port places as fractions of the box widths (ordering) and as offsets (placement).
    pub from_frac: f64,
    pub to_frac: f64,
    pub from_off: f64,
    pub to_off: f64,
}

/// A piece of an edge's path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PathSeg {
    Move((f64, f64)),
    Line((f64, f64)),
    Cubic((f64, f64), (f64, f64), (f64, f64)),
}

/// A drawn edge (or the part of an edge inside one level); `arrow` when it ends on a box.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Route {
    pub segs: Vec<PathSeg>,
    pub arrow: bool,
}

impl Route {
    fn map(&mut self, f: impl Fn((f64, f64)) -> (f64, f64)) {
        for s in self.segs.iter_mut() {
            *s = match *s {
                PathSeg::Move(p) => PathSeg::Move(f(p)),
                PathSeg::Line(p) => PathSeg::Line(f(p)),
                PathSeg::Cubic(a, b, p) => PathSeg::Cubic(f(a), f(b), f(p)),
            };
        }
    }
}

/// A rectangle in the drawing (points, y down).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// A cluster of the layout input.
#[derive(Debug, Clone)]
pub(crate) struct ClusterSpec {
    pub parent: Option<usize>,
    pub items: Vec<Item>,
    /// Size of the label drawn at its top left.
    pub label: (f64, f64),
}

/// What to lay out: box sizes (as drawn), clusters (0 = the whole model) and box-to-box edges.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub leaves: Vec<(f64, f64)>,
    pub leaf_cluster: Vec<usize>,
    pub clusters: Vec<ClusterSpec>,
    pub edges: Vec<(usize, usize)>,
}

/// The laid-out drawing, in points, its top-left corner at (0, 0).
#[derive(Debug, Clone)]
pub(crate) struct Output {
    pub width: f64,
    pub height: f64,
    pub leaves: Vec<Rect>,
    /// The rectangle of every cluster (index 0, the whole model, spans the drawing).
    pub clusters: Vec<Rect>,
    pub routes: Vec<Route>,
}

/// A node of a level: an item of the cluster, or one of its entry or exit points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum LNode {
    Item(Item),
    Entry(usize),
    Exit(usize),
}

/// An edge of a level; the leaf names the port on a nested model's box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct LEdge {
    from: LNode,
    from_leaf: usize,
    to: LNode,
    to_leaf: usize,
}

/// A laid-out cluster in its own frame (top-to-bottom), its top-left corner at (0, 0).
#[derive(Debug, Clone, Default)]
struct Block {
    w: f64,
    h: f64,
    entry_x: HashMap<usize, f64>,
    exit_x: HashMap<usize, f64>,
    leaves: Vec<(usize, (f64, f64))>,
    children: Vec<(usize, (f64, f64))>,
    routes: Vec<Route>,
}

/// Cluster padding (left, top, right, bottom) in the top-to-bottom frame, from the padding as
/// drawn (the label on top).
fn tb_pads(final_pads: (f64, f64, f64, f64), dir: RankDir) -> (f64, f64, f64, f64) {
    let (l, t, r, b) = final_pads;
    match dir {
        RankDir::TopBottom => (l, t, r, b),
        RankDir::BottomTop => (l, b, r, t),
        RankDir::LeftRight => (t, l, b, r),
        RankDir::RightLeft => (t, r, b, l),
    }
}

/// Lays out the drawing.
pub(crate) fn layout(input: &Input, dir: RankDir, splines: Splines) -> Output {
    let nc = input.clusters.len();
    // Box widths along the ranks are even numbers of points, so centres and ports are whole
    // points and the integer coordinate assignment can line them up exactly.
    let tb = |(w, h): (f64, f64)| {
        let (w, h) = if dir.horizontal() { (h, w) } else { (w, h) };
        (even_ceil(w), h)
    };

    // Level edges, from the box-to-box edges through the clusters they cross.
    let ancestors = |leaf: usize| -> Vec<usize> {
        let mut out = vec![input.leaf_cluster[leaf]];
        while let Some(p) = input.clusters[*out.last().expect("non-empty")].parent {
            out.push(p);
        }
        out
    };
    // The item of cluster `c` that holds `leaf`.
    let item_in = |c: usize, anc: &[usize], leaf: usize| -> LNode {
        if input.leaf_cluster[leaf] == c {
            return LNode::Item(Item::Leaf(leaf));
        }
        let child =
            anc.iter().copied().find(|&k| input.clusters[k].parent == Some(c)).expect("c is an ancestor");
        LNode::Item(Item::Cluster(child))
    };
    let mut level_edges: Vec<Vec<LEdge>> = vec![Vec::new(); nc];
    let mut entries: Vec<Vec<usize>> = vec![Vec::new(); nc];
    let mut exits: Vec<Vec<usize>> = vec![Vec::new(); nc];
    let push = |c: usize, e: LEdge, level_edges: &mut Vec<Vec<LEdge>>| {
        if !level_edges[c].contains(&e) {
            level_edges[c].push(e);
        }
    };
    for &(s, t) in &input.edges {
        let (anc_s, anc_t) = (ancestors(s), ancestors(t));
        let lca = *anc_s.iter().find(|c| anc_t.contains(c)).expect("the root is common");
        for &c in anc_s.iter().take_while(|&&c| c != lca) {
            if !exits[c].contains(&s) {
                exits[c].push(s);
            }
            push(
                c,
                LEdge { from: item_in(c, &anc_s, s), from_leaf: s, to: LNode::Exit(s), to_leaf: s },
                &mut level_edges,
            );
        }
        push(
            lca,
            LEdge { from: item_in(lca, &anc_s, s), from_leaf: s, to: item_in(lca, &anc_t, t), to_leaf: t },
            &mut level_edges,
        );
        for &c in anc_t.iter().take_while(|&&c| c != lca) {
            if !entries[c].contains(&t) {
                entries[c].push(t);
            }
            push(
                c,
                LEdge { from: LNode::Entry(t), from_leaf: t, to: item_in(c, &anc_t, t), to_leaf: t },
                &mut level_edges,
            );
        }
    }

    // Innermost clusters first.
    let mut post = Vec::with_capacity(nc);
    let mut stack = vec![(0usize, false)];
    while let Some((c, expanded)) = stack.pop() {
        if expanded {
            post.push(c);
            continue;
        }
        stack.push((c, true));
        for item in input.clusters[c].items.iter().rev() {
            if let Item::Cluster(k) = *item {
                stack.push((k, false));
            }
        }
    }
    let mut blocks: Vec<Block> = vec![Block::default(); nc];
    for &c in &post {
        let spec = &input.clusters[c];
        let mut nodes: Vec<LNode> = spec.items.iter().map(|&i| LNode::Item(i)).collect();
        nodes.extend(entries[c].iter().map(|&t| LNode::Entry(t)));
        nodes.extend(exits[c].iter().map(|&s| LNode::Exit(s)));
        let index: HashMap<LNode, usize> = nodes.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        let lnodes: Vec<level::Node> = nodes
            .iter()
            .map(|n| match *n {
                LNode::Item(Item::Leaf(l)) => {
                    let (w, h) = tb(input.leaves[l]);
                    level::Node { kind: level::Kind::Box, w, h }
                }
                LNode::Item(Item::Cluster(k)) => {
                    level::Node { kind: level::Kind::Box, w: blocks[k].w, h: blocks[k].h }
                }
                LNode::Entry(_) => level::Node { kind: level::Kind::Entry, w: 0.0, h: 0.0 },
                LNode::Exit(_) => level::Node { kind: level::Kind::Exit, w: 0.0, h: 0.0 },
            })
            .collect();
        let edges: Vec<level::Edge> = level_edges[c]
            .iter()
            .map(|e| {
                let from_off = match e.from {
                    LNode::Item(Item::Cluster(k)) => Some(blocks[k].exit_x[&e.from_leaf] - blocks[k].w / 2.0),
                    LNode::Item(Item::Leaf(_)) => None,
                    _ => Some(0.0),
                };
                let to_off = match e.to {
                    LNode::Item(Item::Cluster(k)) => Some(blocks[k].entry_x[&e.to_leaf] - blocks[k].w / 2.0),
                    LNode::Item(Item::Leaf(_)) => None,
                    _ => Some(0.0),
                };
                level::Edge { from: index[&e.from], to: index[&e.to], from_off, to_off }
            })
            .collect();
        let placed = level::layout(&lnodes, &edges, splines);

        // Padding: margin and label as drawn, turned into this frame; the label's width is a
        // minimum for the cluster's width as drawn.
        let (mut pl, mut pt, mut pr, mut pb) = if c == 0 {
            (0.0, 0.0, 0.0, 0.0)
        } else {
            tb_pads(
                (CLUSTER_MARGIN, CLUSTER_MARGIN + spec.label.1.ceil(), CLUSTER_MARGIN, CLUSTER_MARGIN),
                dir,
            )
        };
        let (min_x, min_y, max_x, max_y) = placed.bbox;
        let mut w = max_x - min_x + pl + pr;
        let mut h = max_y - min_y + pt + pb;
        if c != 0 {
            let need = (spec.label.0 + 2.0 * CLUSTER_MARGIN).ceil();
            if dir.horizontal() && h < need {
                pt += (need - h) / 2.0;
                pb += (need - h) / 2.0;
                h = need;
            } else if !dir.horizontal() && w < need {
                // Whole points on the left, so ports stay on whole points.
                let left = ((need - w) / 2.0).floor();
                pl += left;
                pr += need - w - left;
                w = need;
            }
            // The label sits at the top left as drawn; edges that cross the top border must
            // not run through it: move the content right of the label when they would.
            let top_ports: Vec<f64> = match dir {
                RankDir::TopBottom => {
                    entries[c].iter().map(|t| nodes_x(&nodes, &placed, LNode::Entry(*t))).collect()
                }
                RankDir::BottomTop => {
                    exits[c].iter().map(|s| nodes_x(&nodes, &placed, LNode::Exit(*s))).collect()
                }
                _ => Vec::new(),
            };
            if let Some(first) = top_ports.iter().copied().reduce(f64::min) {
                let label_end = CLUSTER_MARGIN + spec.label.0 + LABEL_CLEARANCE;
                let at = first - min_x + pl;
                if at < label_end {
                    let extra = (label_end - at).ceil();
                    pl += extra;
                    w += extra;
                }
            }
        }
        // An even width keeps the cluster's centre on a whole point.
        let even = even_ceil(w);
        pr += even - w;
        w = even;
        let _ = (pr, pb);
        let to_local = |p: (f64, f64)| (p.0 - min_x + pl, p.1 - min_y + pt);
        let mut block = Block { w, h, ..Block::default() };
        for (i, node) in nodes.iter().enumerate() {
            let p = to_local(placed.centers[i]);
            match *node {
                LNode::Item(Item::Leaf(l)) => block.leaves.push((l, p)),
                LNode::Item(Item::Cluster(k)) => {
                    block.children.push((k, (p.0 - blocks[k].w / 2.0, p.1 - blocks[k].h / 2.0)))
                }
                LNode::Entry(t) => {
                    block.entry_x.insert(t, p.0);
                }
                LNode::Exit(s) => {
                    block.exit_x.insert(s, p.0);
                }
            }
        }
        for (e, mut route) in level_edges[c].iter().zip(placed.routes) {
            if route.segs.is_empty() {
                continue;
            }
            route.map(to_local);
            // Entry and exit routes reach the cluster's border.
            if let LNode::Entry(t) = e.from {
                let x = block.entry_x[&t];
                if let Some(PathSeg::Move(p)) = route.segs.first().copied() {
                    route.segs[0] = PathSeg::Line(p);
                    route.segs.insert(0, PathSeg::Move((x, 0.0)));
                }
            }
            if let LNode::Exit(s) = e.to {
                route.segs.push(PathSeg::Line((block.exit_x[&s], h)));
            }
            route.arrow = matches!(e.to, LNode::Item(Item::Leaf(_)));
            block.routes.push(route);
        }
        blocks[c] = block;
    }

    // Place every cluster, then turn the drawing for `rankdir`.
    let mut offset = vec![(0.0, 0.0); nc];
    for &c in post.iter().rev() {
        for &(k, (x, y)) in &blocks[c].children {
            offset[k] = (offset[c].0 + x, offset[c].1 + y);
        }
    }
    let (tw, th) = (blocks[0].w, blocks[0].h);
    let turn = |p: (f64, f64)| -> (f64, f64) {
        let (x, y) = match dir {
            RankDir::TopBottom => (p.0, p.1),
            RankDir::BottomTop => (p.0, th - p.1),
            RankDir::LeftRight => (p.1, p.0),
            RankDir::RightLeft => (th - p.1, p.0),
        };
        (x + GRAPH_PAD, y + GRAPH_PAD)
    };
    let turn_rect = |x: f64, y: f64, w: f64, h: f64| -> Rect {
        let a = turn((x, y));
        let b = turn((x + w, y + h));
        Rect { x: a.0.min(b.0), y: a.1.min(b.1), w: (a.0 - b.0).abs(), h: (a.1 - b.1).abs() }
    };
    let mut leaves = vec![Rect { x: 0.0, y: 0.0, w: 0.0, h: 0.0 }; input.leaves.len()];
    let mut clusters = vec![Rect { x: 0.0, y: 0.0, w: 0.0, h: 0.0 }; nc];
    let mut routes = Vec::new();
    for c in 0..nc {
        let (ox, oy) = offset[c];
        clusters[c] = turn_rect(ox, oy, blocks[c].w, blocks[c].h);
        for &(l, (cx, cy)) in &blocks[c].leaves {
            let (w, h) = tb(input.leaves[l]);
            leaves[l] = turn_rect(ox + cx - w / 2.0, oy + cy - h / 2.0, w, h);
        }
        for r in &blocks[c].routes {
            let mut r = r.clone();
            r.map(|p| turn((p.0 + ox, p.1 + oy)));
            routes.push(r);
        }
    }
    let (width, height) = if dir.horizontal() { (th, tw) } else { (tw, th) };
    Output { width: width + 2.0 * GRAPH_PAD, height: height + 2.0 * GRAPH_PAD, leaves, clusters, routes }
}

/// Space kept between a cluster's label and an edge crossing its top border.
const LABEL_CLEARANCE: f64 = 6.0;

/// The x of a level node once placed.
fn nodes_x(nodes: &[LNode], placed: &level::Placed, node: LNode) -> f64 {
    let i = nodes.iter().position(|&n| n == node).expect("the level holds its entries and exits");
    placed.centers[i].0
}

/// The smallest even whole number at least `v`.
fn even_ceil(v: f64) -> f64 {
    2.0 * (v / 2.0 - 1e-9).ceil()
}
