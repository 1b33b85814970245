//! Geometry of a layer's table, sized the way Graphviz sizes HTML-like tables.
//!
//! Keras's table has `border="0" cellborder="1" cellpadding="10"` and Graphviz's default
//! `cellspacing` of 2: a cell is its text plus 2 x (10 + 1) points, cells are 2 points apart
//! and 2 points from the table's edge, and the table's black background shows in the gaps.
//! Column widths are the smallest that fit every cell, a cell spanning several columns
//! covering their widths and the spacing between them; extra width a wide cell needs goes to
//! the last column it spans (what Graphviz's network-simplex sizing settles on here).

use super::font::{font, runs_width, LINE_SPACING};
use super::label::{Cell, Label, Run};

const CELL_PADDING: f64 = 10.0;
const CELL_BORDER: f64 = 1.0;
const CELL_SPACING: f64 = 2.0;

/// A placed cell, relative to the table's top-left corner (points).
#[derive(Debug, Clone)]
pub(crate) struct CellBox {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub cell: Cell,
    /// The text's runs, their point size, and where the line's baseline starts.
    pub runs: Vec<Run>,
    pub size: f64,
    pub text_x: f64,
    pub baseline: f64,
    pub text_width: f64,
}

/// A sized table.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub width: f64,
    pub height: f64,
    pub cells: Vec<CellBox>,
}

/// Sizes and places the cells of `label`.
pub(crate) fn layout(label: &Label) -> Table {
    // The grid: a spanning row is one cell over `colspan` columns, a row of fields one column each.
    struct Placed {
        row: usize,
        col: usize,
        span: usize,
        w: f64,
        h: f64,
        text_w: f64,
        cell: Cell,
    }
    let mut placed = Vec::new();
    let mut ncols = 1;
    for (r, row) in label.rows.iter().enumerate() {
        for (c, cell) in row.cells.iter().enumerate() {
            let span = row.colspan.unwrap_or(1).max(1);
            let size = cell.point_size();
            let text_w = runs_width(&cell.runs(), size);
            let margin = 2.0 * (CELL_PADDING + CELL_BORDER);
            placed.push(Placed {
                row: r,
                col: c,
                span,
                w: text_w + margin,
                h: size * LINE_SPACING + margin,
                text_w,
                cell: cell.clone(),
            });
            ncols = ncols.max(c + span);
        }
    }
    let nrows = label.rows.len().max(1);

    // Column boundaries as small as every cell allows (longest path over the boundaries).
    let mut bound = vec![0.0f64; ncols + 1];
    for k in 1..=ncols {
        bound[k] = bound[k - 1];
        for p in placed.iter().filter(|p| p.col + p.span == k) {
            bound[k] = bound[k].max(bound[p.col] + p.w);
        }
    }
    let mut heights = vec![0.0f64; nrows];
    for p in &placed {
        heights[p.row] = heights[p.row].max(p.h);
    }
    let col_x = |c: usize| CELL_SPACING + bound[c] + c as f64 * CELL_SPACING;
    let mut row_y = vec![CELL_SPACING; nrows + 1];
    for r in 0..nrows {
        row_y[r + 1] = row_y[r] + heights[r] + CELL_SPACING;
    }
    let width = bound[ncols] + (ncols as f64 + 1.0) * CELL_SPACING;
    let height = row_y[nrows];

    let cells = placed
        .into_iter()
        .map(|p| {
            let x = col_x(p.col);
            let w = col_x(p.col + p.span) - CELL_SPACING - x;
            let y = row_y[p.row];
            let h = heights[p.row];
            let size = p.cell.point_size();
            // The line box (size x 1.2) is centred in the cell, the glyphs' ascent and descent
            // centred in the line box.
            let ascent = font(false).ascent(size);
            let descent = font(false).descent(size);
            let baseline = y + h / 2.0 - (ascent + descent) / 2.0 + ascent;
            CellBox {
                x,
                y,
                w,
                h,
                runs: p.cell.runs(),
                size,
                text_x: x + (w - p.text_w) / 2.0,
                baseline,
                text_width: p.text_w,
                cell: p.cell,
            }
        })
        .collect();
    Table { width, height, cells }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::utils::plot_model::graph::PlotNode;
    use crate::utils::plot_model::label::LabelOptions;

    fn label(show_shapes: bool, class_name: &str) -> Label {
        let node = PlotNode {
            name: "x".into(),
            class_name: class_name.into(),
            input_shapes: vec!["(None, 8)".into()],
            output_shapes: vec!["(None, 8)".into()],
            ..PlotNode::default()
        };
        let opts = LabelOptions {
            show_shapes,
            show_dtype: false,
            show_layer_names: true,
            show_layer_activations: false,
            show_trainable: false,
        };
        Label::new(&node, &opts)
    }

    #[test]
    fn header_only_table_is_text_plus_padding_border_and_spacing() {
        let t = layout(&label(false, "Dense"));
        let text =
            runs_width(&Cell::Header { name: Some("x".into()), class_name: "Dense".into() }.runs(), 16.0);
        assert!((t.width - (text + 22.0 + 4.0)).abs() < 1e-9);
        assert!((t.height - (16.0 * 1.2 + 22.0 + 4.0)).abs() < 1e-9);
        assert_eq!(t.cells.len(), 1);
        assert!((t.cells[0].x - 2.0).abs() < 1e-9);
    }

    #[test]
    fn cells_tile_the_table_without_overlap() {
        let t = layout(&label(true, "Dense"));
        assert_eq!(t.cells.len(), 3);
        let (head, a, b) = (&t.cells[0], &t.cells[1], &t.cells[2]);
        // The header spans both columns exactly.
        assert!((head.x - a.x).abs() < 1e-9);
        assert!((head.x + head.w - (b.x + b.w)).abs() < 1e-9);
        assert!((a.x + a.w + 2.0 - b.x).abs() < 1e-9);
        assert!((head.y + head.h + 2.0 - a.y).abs() < 1e-9);
        assert!((t.width - (b.x + b.w + 2.0)).abs() < 1e-9);
        for c in &t.cells {
            assert!(c.text_width <= c.w - 22.0 + 1e-9);
        }
    }

    #[test]
    fn an_input_layer_leaves_the_unused_column_empty() {
        // Keras writes colspan="2" for the header while the row below has one cell.
        let t = layout(&label(true, "InputLayer"));
        assert_eq!(t.cells.len(), 2);
        let (head, only) = (&t.cells[0], &t.cells[1]);
        assert!(only.x + only.w <= head.x + head.w + 1e-9);
    }
}
