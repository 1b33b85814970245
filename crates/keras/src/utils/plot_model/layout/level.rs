//! The layered layout of one graph level (the whole model, or the inside of a cluster), in the
//! top-to-bottom frame: ranks, bends for long edges, order, ports, coordinates, routes.

use std::collections::HashMap;

use super::position::{self, Slot};
use super::{order, rank, tracks, Hop, PathSeg, Route};
use crate::utils::plot_model::Splines;

/// Distance between ranks (Graphviz `ranksep`, 0.5 inch).
pub(crate) const RANK_SEP: f64 = 36.0;
/// Distance between a cluster's entry or exit points and its first or last rank.
const PORT_SEP: f64 = 24.0;
/// Distance between the horizontal tracks of right-angle edges.
const TRACK_SEP: f64 = 8.0;
/// Room kept above the first track, and below the last one for an arrowhead.
const TRACK_ABOVE: f64 = 6.0;
const TRACK_BELOW: f64 = 14.0;
/// Smallest distance between the ports of edges that end on the same box side.
const PORT_GAP: f64 = 12.0;
/// Ports stay this far from a box's corners.
const PORT_MARGIN: f64 = 10.0;

/// What a node of a level is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A layer's box.
    Box,
    /// Where an edge enters the cluster (top) or leaves it (bottom).
    Entry,
    Exit,
    /// A bend of an edge spanning several ranks.
    Bend,
}

/// A node: its kind and size in the top-to-bottom frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    pub kind: Kind,
    pub w: f64,
    pub h: f64,
}

/// An edge between two nodes of the level.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
    pub from: usize,
    pub to: usize,
    /// Port offset from the source's centre (a nested model's exits, 0 for points); `None` for
    /// a layer's box, whose ports are chosen once the boxes are placed.
    pub from_off: Option<f64>,
    /// Port offset from the target's centre, as `from_off`.
    pub to_off: Option<f64>,
}

/// The laid-out level: node centres and edge routes, in the level's own frame.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    pub centers: Vec<(f64, f64)>,
    pub routes: Vec<Route>,
    /// Bounding box of nodes and routes: (min x, min y, max x, max y).
    pub bbox: (f64, f64, f64, f64),
}

/// Lays out `nodes` and `edges`; `nodes` are in the model's order.
pub(crate) fn layout(nodes: &[Node], edges: &[Edge], splines: Splines) -> Placed {
    let n0 = nodes.len();
    // 1. Ranks: boxes by the edges between them, entries above, exits below.
    let boxes_only: Vec<(usize, usize)> = edges
        .iter()
        .filter(|e| nodes[e.from].kind == Kind::Box && nodes[e.to].kind == Kind::Box)
        .map(|e| (e.from, e.to))
        .collect();
    let reversed_box = rank::feedback_edges(n0, &boxes_only);
    let mut k_box = 0;
    let reversed: Vec<bool> = edges
        .iter()
        .map(|e| {
            if nodes[e.from].kind == Kind::Box && nodes[e.to].kind == Kind::Box {
                k_box += 1;
                reversed_box[k_box - 1]
            } else {
                false
            }
        })
        .collect();
    let directed: Vec<(usize, usize)> = edges
        .iter()
        .zip(&reversed)
        .filter(|(e, _)| nodes[e.from].kind == Kind::Box && nodes[e.to].kind == Kind::Box)
        .map(|(e, &r)| if r { (e.to, e.from) } else { (e.from, e.to) })
        .collect();
    let box_rank = rank::ranks(n0, &directed);
    let has_entries = nodes.iter().any(|n| n.kind == Kind::Entry);
    let max_box = (0..n0).filter(|&v| nodes[v].kind == Kind::Box).map(|v| box_rank[v]).max().unwrap_or(-1);
    let shift = i64::from(has_entries);
    let mut rank: Vec<usize> = (0..n0)
        .map(|v| match nodes[v].kind {
            Kind::Entry => 0,
            Kind::Exit => (max_box + 1 + shift) as usize,
            _ => (box_rank[v] + shift) as usize,
        })
        .collect();
    let n_ranks = rank.iter().copied().max().map_or(0, |m| m + 1);

    // 2. Bends: every edge becomes a chain of hops between adjacent ranks.
    let mut all: Vec<Node> = nodes.to_vec();
    let mut hops: Vec<Hop> = Vec::new();
    // The hops of each edge, in order.
    let mut chains: Vec<Vec<usize>> = Vec::with_capacity(edges.len());
    // Hop ends whose port is chosen after placement.
    let mut free_from: Vec<bool> = Vec::new();
    let mut free_to: Vec<bool> = Vec::new();
    for (e, &rev) in edges.iter().zip(&reversed) {
        let (a, b) = if rev { (e.to, e.from) } else { (e.from, e.to) };
        if a == b || rank[b] <= rank[a] {
            chains.push(Vec::new());
            continue;
        }
        let mut chain = vec![a];
        for r in rank[a] + 1..rank[b] {
            all.push(Node { kind: Kind::Bend, w: 0.0, h: 0.0 });
            rank.push(r);
            chain.push(all.len() - 1);
        }
        chain.push(b);
        let last = chain.len() - 2;
        let mut ids = Vec::with_capacity(chain.len() - 1);
        // A reversed edge leaves and enters boxes at their centres.
        let (a_off, b_off) =
            if rev { (e.to_off.map(|_| 0.0), e.from_off.map(|_| 0.0)) } else { (e.from_off, e.to_off) };
        for k in 0..chain.len() - 1 {
            let from_off = if k == 0 { a_off } else { Some(0.0) };
            let to_off = if k == last { b_off } else { Some(0.0) };
            ids.push(hops.len());
            free_from.push(from_off.is_none());
            free_to.push(to_off.is_none());
            hops.push(Hop {
                from: chain[k],
                to: chain[k + 1],
                from_frac: 0.0,
                to_frac: 0.0,
                from_off: from_off.unwrap_or(0.0),
                to_off: to_off.unwrap_or(0.0),
            });
        }
        chains.push(ids);
    }
    let n = all.len();
    for h in hops.iter_mut() {
        h.from_frac = frac(h.from_off, all[h.from].w);
        h.to_frac = frac(h.to_off, all[h.to].w);
    }

    // 3. Order within ranks.
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); n_ranks];
    let first: Vec<usize> = (0..n0).filter(|&v| nodes[v].kind == Kind::Entry).chain(0..n).collect();
    order::order(&mut layers, &rank, &hops, &first);

    // 5. Coordinates along the ranks.
    let slots: Vec<Slot> = all.iter().map(|v| Slot { width: v.w, point: v.kind != Kind::Box }).collect();
    let x = position::assign(&layers, &slots, &hops);

    // 6. Ports of layer boxes: where the edge comes from or goes, if within the box.
    choose_ports(&all, &x, &mut hops, &free_from, &free_to);

    // 7. Channels between ranks: right-angle runs get tracks; ranks get their y.
    let mut by_channel: Vec<Vec<usize>> = vec![Vec::new(); n_ranks];
    for (k, h) in hops.iter().enumerate() {
        by_channel[rank[h.from]].push(k);
    }
    let mut hop_track: Vec<Option<usize>> = vec![None; hops.len()];
    let mut channel_tracks = vec![0usize; n_ranks];
    if splines == Splines::Ortho {
        for r in 0..n_ranks {
            let (assignment, count) = channel_runs(&by_channel[r], &hops, &x);
            for (k, t) in assignment {
                hop_track[k] = Some(t);
            }
            channel_tracks[r] = count;
        }
    }
    let mut band_h = vec![0.0f64; n_ranks];
    for v in 0..n {
        band_h[rank[v]] = band_h[rank[v]].max(all[v].h);
    }
    let mut band_top = vec![0.0f64; n_ranks];
    let mut gaps = vec![0.0f64; n_ranks];
    for r in 0..n_ranks {
        let base = if (has_entries && r == 0)
            || (r + 2 == n_ranks && (0..n0).any(|v| nodes[v].kind == Kind::Exit))
        {
            PORT_SEP
        } else {
            RANK_SEP
        };
        gaps[r] = base.max(TRACK_ABOVE + TRACK_BELOW + channel_tracks[r] as f64 * TRACK_SEP);
        if r + 1 < n_ranks {
            band_top[r + 1] = band_top[r] + band_h[r] + gaps[r];
        }
    }
    let cy = |v: usize| band_top[rank[v]] + band_h[rank[v]] / 2.0;
    let top = |v: usize| if all[v].kind == Kind::Box { cy(v) - all[v].h / 2.0 } else { band_top[rank[v]] };
    let bottom = |v: usize| {
        if all[v].kind == Kind::Box {
            cy(v) + all[v].h / 2.0
        } else {
            band_top[rank[v]] + band_h[rank[v]]
        }
    };

    // 8. Routes.
    let mut routes = Vec::with_capacity(edges.len());
    for (chain, &rev) in chains.iter().zip(&reversed) {
        if chain.is_empty() {
            routes.push(Route { segs: Vec::new(), arrow: false });
            continue;
        }
        let mut pts: Vec<(f64, f64)> = Vec::new();
        for &k in chain {
            let h = &hops[k];
            let (xa, xb) = (x[h.from] + h.from_off, x[h.to] + h.to_off);
            let ya = bottom(h.from);
            let yb = top(h.to);
            if pts.is_empty() {
                pts.push((xa, if all[h.from].kind == Kind::Box { ya } else { band_top[rank[h.from]] }));
            }
            pts.push((xa, ya));
            let r = rank[h.from];
            match splines {
                Splines::Ortho => {
                    if let Some(t) = hop_track[k] {
                        let span = gaps[r] - TRACK_ABOVE - TRACK_BELOW;
                        let y = band_top[r]
                            + band_h[r]
                            + TRACK_ABOVE
                            + (t as f64 + 0.5) * span / channel_tracks[r] as f64;
                        pts.push((xa, y));
                        pts.push((xb, y));
                    }
                }
                _ => {
                    pts.push((xa, band_top[r] + band_h[r]));
                    pts.push((xb, band_top[r + 1]));
                }
            }
            pts.push((xb, yb));
        }
        if rev {
            pts.reverse();
        }
        let pts = simplify(pts);
        let segs = match splines {
            Splines::Line => vec![PathSeg::Move(pts[0]), PathSeg::Line(pts[pts.len() - 1])],
            Splines::Spline => curved(&pts),
            _ => {
                let mut s = vec![PathSeg::Move(pts[0])];
                s.extend(pts[1..].iter().map(|&p| PathSeg::Line(p)));
                s
            }
        };
        routes.push(Route { segs, arrow: false });
    }

    let centers: Vec<(f64, f64)> = (0..n0).map(|v| (x[v], cy(v))).collect();
    let mut bbox = (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY);
    let mut grow = |x0: f64, y0: f64, x1: f64, y1: f64| {
        bbox.0 = bbox.0.min(x0);
        bbox.1 = bbox.1.min(y0);
        bbox.2 = bbox.2.max(x1);
        bbox.3 = bbox.3.max(y1);
    };
    for v in 0..n {
        let c = (x[v], cy(v));
        grow(c.0 - all[v].w / 2.0, c.1 - all[v].h / 2.0, c.0 + all[v].w / 2.0, c.1 + all[v].h / 2.0);
    }
    // Routes stay within the columns of boxes and bends: the box is the nodes' box, whose
    // sides are whole points.
    if !bbox.0.is_finite() {
        bbox = (0.0, 0.0, 0.0, 0.0);
    }
    Placed { centers, routes, bbox }
}

/// Chooses the ports of edges on layer boxes, once boxes are placed. An edge between two
/// boxes that overlap horizontally runs straight down the middle of the overlap; other edges
/// leave or enter as close to where they go or come from as the box allows. Edges into a box
/// keep apart (each has its arrowhead); edges out of a box may share a port and split below.
fn choose_ports(all: &[Node], x: &[f64], hops: &mut [Hop], free_from: &[bool], free_to: &[bool]) {
    let span = |v: usize| {
        let m = PORT_MARGIN.min(all[v].w / 4.0);
        (x[v] - all[v].w / 2.0 + m, x[v] + all[v].w / 2.0 - m)
    };
    // Where each free end wants to be (absolute x).
    let mut want_from = vec![0.0; hops.len()];
    let mut want_to = vec![0.0; hops.len()];
    for (k, h) in hops.iter().enumerate() {
        let (a, b) = (h.from, h.to);
        let xa = x[a] + h.from_off;
        let xb = x[b] + h.to_off;
        if free_from[k] && free_to[k] {
            let (sa, sb) = (span(a), span(b));
            let (lo, hi) = (sa.0.max(sb.0), sa.1.min(sb.1));
            if lo <= hi {
                // A whole point, so that cluster ports, which are whole points, line up too.
                let mid = ((x[a] + x[b]) / 2.0).floor().clamp(lo, hi);
                want_from[k] = mid;
                want_to[k] = mid;
            } else {
                want_from[k] = x[b].clamp(sa.0, sa.1);
                want_to[k] = x[a].clamp(sb.0, sb.1);
            }
        } else if free_from[k] {
            let sa = span(a);
            want_from[k] = xb.clamp(sa.0, sa.1);
        } else if free_to[k] {
            let sb = span(b);
            want_to[k] = xa.clamp(sb.0, sb.1);
        }
    }
    // Edges into a box: at least PORT_GAP apart, inside the box.
    let mut into: HashMap<usize, Vec<usize>> = HashMap::new();
    for k in 0..hops.len() {
        if free_to[k] {
            into.entry(hops[k].to).or_default().push(k);
        }
        if free_from[k] {
            hops[k].from_off = want_from[k] - x[hops[k].from];
        }
    }
    for (v, mut ks) in into {
        ks.sort_by(|&p, &q| want_to[p].total_cmp(&want_to[q]));
        let (lo, hi) = span(v);
        let mut p: Vec<f64> = ks.iter().map(|&k| want_to[k]).collect();
        let m = p.len();
        for i in 1..m {
            p[i] = p[i].max(p[i - 1] + PORT_GAP);
        }
        if m > 0 && p[m - 1] > hi {
            p[m - 1] = hi;
            for i in (0..m - 1).rev() {
                p[i] = p[i].min(p[i + 1] - PORT_GAP);
            }
        }
        if m > 1 && p[0] < lo {
            // No room for the gaps: spread evenly.
            for (i, q) in p.iter_mut().enumerate() {
                *q = lo + (hi - lo) * i as f64 / (m - 1) as f64;
            }
        }
        for (&k, &q) in ks.iter().zip(&p) {
            hops[k].to_off = q - x[v];
        }
    }
}

/// A port offset as a fraction of the box width, for the ordering.
fn frac(off: f64, w: f64) -> f64 {
    if w <= 0.0 {
        0.0
    } else {
        (off / w).clamp(-0.45, 0.45)
    }
}

/// Groups the horizontal runs of a channel and gives each a track: (hop, track) and the count.
fn channel_runs(hop_ids: &[usize], hops: &[Hop], x: &[f64]) -> (Vec<(usize, usize)>, usize) {
    let key = |v: f64| (v * 8.0).round() as i64;
    let mut runs_hops: Vec<usize> = Vec::new();
    for &k in hop_ids {
        let h = &hops[k];
        if ((x[h.from] + h.from_off) - (x[h.to] + h.to_off)).abs() > 1e-6 {
            runs_hops.push(k);
        }
    }
    // Union of hops sharing a start point or an end point.
    let m = runs_hops.len();
    let mut parent: Vec<usize> = (0..m).collect();
    fn find(p: &mut [usize], i: usize) -> usize {
        let mut i = i;
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    let mut by_start: HashMap<(usize, i64), usize> = HashMap::new();
    let mut by_end: HashMap<(usize, i64), usize> = HashMap::new();
    for (i, &k) in runs_hops.iter().enumerate() {
        let h = &hops[k];
        for (map, node, off) in [(&mut by_start, h.from, h.from_off), (&mut by_end, h.to, h.to_off)] {
            match map.get(&(node, key(off))) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    parent[a] = b;
                }
                None => {
                    map.insert((node, key(off)), i);
                }
            }
        }
    }
    let mut group_of: HashMap<usize, usize> = HashMap::new();
    let mut runs: Vec<tracks::Run> = Vec::new();
    let mut member_group = vec![0; m];
    for i in 0..m {
        let root = find(&mut parent, i);
        let g = *group_of.entry(root).or_insert_with(|| {
            runs.push(tracks::Run { lo: f64::INFINITY, hi: f64::NEG_INFINITY, ..Default::default() });
            runs.len() - 1
        });
        member_group[i] = g;
        let h = &hops[runs_hops[i]];
        let (xa, xb) = (x[h.from] + h.from_off, x[h.to] + h.to_off);
        let run = &mut runs[g];
        run.lo = run.lo.min(xa.min(xb));
        run.hi = run.hi.max(xa.max(xb));
        run.tops.push(xa);
        run.bottoms.push(xb);
    }
    let (track, count) = tracks::assign(&runs);
    ((0..m).map(|i| (runs_hops[i], track[member_group[i]])).collect(), count)
}

/// Drops repeated points and the middle of straight runs.
fn simplify(pts: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(pts.len());
    for p in pts {
        if let Some(&last) = out.last() {
            if (last.0 - p.0).abs() < 1e-6 && (last.1 - p.1).abs() < 1e-6 {
                continue;
            }
        }
        if out.len() >= 2 {
            let a = out[out.len() - 2];
            let b = out[out.len() - 1];
            let cross = (b.0 - a.0) * (p.1 - b.1) - (b.1 - a.1) * (p.0 - b.0);
            let dot = (b.0 - a.0) * (p.0 - b.0) + (b.1 - a.1) * (p.1 - b.1);
            if cross.abs() < 1e-6 && dot >= 0.0 {
                out.pop();
            }
        }
        out.push(p);
    }
    if out.len() == 1 {
        out.push(out[0]);
    }
    out
}

/// Vertical runs stay straight; the slanted runs across channels become S-curves that leave
/// and arrive vertically.
fn curved(pts: &[(f64, f64)]) -> Vec<PathSeg> {
    let mut segs = vec![PathSeg::Move(pts[0])];
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a.0 - b.0).abs() < 1e-6 {
            segs.push(PathSeg::Line(b));
        } else {
            let dy = (b.1 - a.1) / 2.0;
            segs.push(PathSeg::Cubic((a.0, a.1 + dy), (b.0, b.1 - dy), b));
        }
    }
    segs
}
