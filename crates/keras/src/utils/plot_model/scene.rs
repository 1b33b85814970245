//! The drawing as shapes in points, shared by the SVG writer and the PNG rasteriser: dashed
//! clusters with their names, the layers' tables, and edges with arrowheads (Keras's
//! `penwidth=2`), drawn in that order as Graphviz does.

use super::font::{font, LINE_SPACING};
use super::graph::Flat;
use super::label::Label;
use super::layout::{self, PathSeg, Rect};
use super::table::{self, CellBox};
use super::Resolved;

/// Edge width (Keras sets `penwidth=2`).
pub(crate) const EDGE_WIDTH: f64 = 2.0;
/// Arrowhead length and half width (Graphviz's `normal` arrow: 10 points by 2 x 3.5).
const ARROW_LENGTH: f64 = 10.0;
const ARROW_HALF_WIDTH: f64 = 3.5;
/// Cluster labels: Graphviz's default 14 points.
pub(crate) const CLUSTER_FONT_SIZE: f64 = 14.0;

/// A layer's box.
#[derive(Debug, Clone)]
pub(crate) struct NodeShape {
    pub name: String,
    pub rect: Rect,
    /// Cells with absolute coordinates.
    pub cells: Vec<CellBox>,
}

/// An expanded nested model.
#[derive(Debug, Clone)]
pub(crate) struct ClusterShape {
    pub name: String,
    pub rect: Rect,
    pub label_x: f64,
    pub label_baseline: f64,
    pub label_width: f64,
}

/// An edge: its path (ending where the arrowhead starts) and the arrowhead's three corners.
#[derive(Debug, Clone)]
pub(crate) struct EdgeShape {
    pub segs: Vec<PathSeg>,
    pub arrow: Option<[(f64, f64); 3]>,
}

/// Everything to draw, in points, on a `width` x `height` page.
#[derive(Debug, Clone)]
pub(crate) struct Scene {
    pub width: f64,
    pub height: f64,
    pub title: String,
    pub clusters: Vec<ClusterShape>,
    pub nodes: Vec<NodeShape>,
    pub edges: Vec<EdgeShape>,
}

/// Lays out a flattened model and turns it into shapes.
pub(crate) fn build(flat: &Flat<'_>, opts: &Resolved) -> Scene {
    let tables: Vec<table::Table> =
        flat.leaves.iter().map(|l| table::layout(&Label::new(l.node, &opts.label))).collect();
    let input = layout::Input {
        leaves: tables.iter().map(|t| (t.width, t.height)).collect(),
        leaf_cluster: flat.leaves.iter().map(|l| l.cluster).collect(),
        clusters: flat
            .clusters
            .iter()
            .map(|c| layout::ClusterSpec {
                parent: c.parent,
                items: c.items.clone(),
                label: (font(false).width(&c.name, CLUSTER_FONT_SIZE), CLUSTER_FONT_SIZE * LINE_SPACING),
            })
            .collect(),
        edges: flat.edges.iter().map(|e| (e.from, e.to)).collect(),
    };
    let out = layout::layout(&input, opts.rankdir, opts.splines);

    let nodes = flat
        .leaves
        .iter()
        .zip(tables)
        .zip(&out.leaves)
        .map(|((leaf, table), &rect)| {
            // A box larger than its table (never, with Keras's tables) would centre it.
            let dx = rect.x + (rect.w - table.width) / 2.0;
            let dy = rect.y + (rect.h - table.height) / 2.0;
            let cells = table
                .cells
                .into_iter()
                .map(|mut c| {
                    c.x += dx;
                    c.y += dy;
                    c.text_x += dx;
                    c.baseline += dy;
                    c
                })
                .collect();
            NodeShape { name: leaf.node.name.clone(), rect, cells }
        })
        .collect();

    let f = font(false);
    let line = CLUSTER_FONT_SIZE * LINE_SPACING;
    let (asc, desc) = (f.ascent(CLUSTER_FONT_SIZE), f.descent(CLUSTER_FONT_SIZE));
    let clusters = flat
        .clusters
        .iter()
        .enumerate()
        .skip(1)
        .map(|(c, spec)| {
            let rect = out.clusters[c];
            let width = f.width(&spec.name, CLUSTER_FONT_SIZE);
            ClusterShape {
                name: spec.name.clone(),
                rect,
                label_x: label_x(rect, width, &out.routes),
                label_baseline: rect.y + layout::CLUSTER_MARGIN / 2.0 + (line - asc - desc) / 2.0 + asc,
                label_width: width,
            }
        })
        .collect();

    let edges = out.routes.into_iter().map(|r| edge_shape(r.segs, r.arrow)).collect();
    Scene {
        width: out.width,
        height: out.height,
        title: flat.clusters[0].name.clone(),
        clusters,
        nodes,
        edges,
    }
}

/// Where a cluster's label starts: at the left as Keras asks (`labeljust=l`), unless an edge
/// crosses the cluster's top border there; then at the right, or in the middle.
fn label_x(rect: Rect, width: f64, routes: &[layout::Route]) -> f64 {
    let crossings: Vec<f64> = routes
        .iter()
        .flat_map(|r| r.segs.iter())
        .filter_map(|s| match *s {
            PathSeg::Move(p) | PathSeg::Line(p) => Some(p),
            PathSeg::Cubic(..) => None,
        })
        .filter(|p| (p.1 - rect.y).abs() < 0.01 && p.0 > rect.x && p.0 < rect.x + rect.w)
        .map(|p| p.0)
        .collect();
    let m = layout::CLUSTER_MARGIN;
    let candidates = [rect.x + m, rect.x + rect.w - m - width, rect.x + (rect.w - width) / 2.0];
    let clear = |x: f64| crossings.iter().all(|&c| c < x - 4.0 || c > x + width + 4.0);
    candidates.into_iter().find(|&x| x >= rect.x && clear(x)).unwrap_or(candidates[0])
}

/// Shortens the path by the arrowhead and makes the arrowhead.
fn edge_shape(mut segs: Vec<PathSeg>, arrow: bool) -> EdgeShape {
    if !arrow || segs.len() < 2 {
        return EdgeShape { segs, arrow: None };
    }
    let n = segs.len();
    let end = match segs[n - 1] {
        PathSeg::Move(p) | PathSeg::Line(p) | PathSeg::Cubic(_, _, p) => p,
    };
    let before = match segs[n - 1] {
        PathSeg::Cubic(_, c2, _) => c2,
        _ => match segs[n - 2] {
            PathSeg::Move(p) | PathSeg::Line(p) | PathSeg::Cubic(_, _, p) => p,
        },
    };
    let (dx, dy) = (end.0 - before.0, end.1 - before.1);
    let len = (dx * dx + dy * dy).sqrt();
    if len < 1e-9 {
        return EdgeShape { segs, arrow: None };
    }
    let (ux, uy) = (dx / len, dy / len);
    // The line stops where the arrowhead starts (not past its base, when the last piece is short).
    let back = ARROW_LENGTH.min(len);
    let base = (end.0 - ux * back, end.1 - uy * back);
    segs[n - 1] = match segs[n - 1] {
        PathSeg::Cubic(c1, c2, _) => PathSeg::Cubic(c1, (c2.0 - ux * back, c2.1 - uy * back), base),
        _ => PathSeg::Line(base),
    };
    let tip_base = (end.0 - ux * ARROW_LENGTH, end.1 - uy * ARROW_LENGTH);
    let (px, py) = (-uy * ARROW_HALF_WIDTH, ux * ARROW_HALF_WIDTH);
    EdgeShape {
        segs,
        arrow: Some([end, (tip_base.0 + px, tip_base.1 + py), (tip_base.0 - px, tip_base.1 - py)]),
    }
}
