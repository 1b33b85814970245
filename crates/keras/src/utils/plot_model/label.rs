//! A layer's box: the rows and cells of Keras's HTML-like table (`make_layer_label`), as text
//! for the DOT file and as styled runs for our own drawing.

use super::graph::PlotNode;

/// The label switches of `model_to_dot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LabelOptions {
    pub show_shapes: bool,
    pub show_dtype: bool,
    pub show_layer_names: bool,
    pub show_layer_activations: bool,
    pub show_trainable: bool,
}

/// Colours Keras's tables use (Graphviz colour names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Color {
    Black,
    White,
    ForestGreen,
    FireBrick,
}

impl Color {
    /// `(r, g, b)` as Graphviz defines the name.
    pub(crate) fn rgb(self) -> (u8, u8, u8) {
        match self {
            Color::Black => (0, 0, 0),
            Color::White => (255, 255, 255),
            Color::ForestGreen => (34, 139, 34),
            Color::FireBrick => (178, 34, 34),
        }
    }

    /// The SVG spelling (Graphviz writes the names).
    pub(crate) fn svg(self) -> &'static str {
        match self {
            Color::Black => "black",
            Color::White => "white",
            Color::ForestGreen => "forestgreen",
            Color::FireBrick => "firebrick",
        }
    }
}

/// A piece of text in one font.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    pub text: String,
    pub bold: bool,
}

/// One table cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// `<b>name</b> (Class)`, or `<b>Class</b>` without names; white on black, 16 pt.
    Header { name: Option<String>, class_name: String },
    /// `Activation: <b>relu</b>`, 14 pt.
    Activation(String),
    /// `Input shape: <b>(None, 32)</b>` and the like, 14 pt.
    Field { caption: &'static str, value: String },
    /// `<b>Trainable</b>` on green or `<b>Non-trainable</b>` on red, 14 pt.
    Trainable(bool),
}

impl Cell {
    pub(crate) fn point_size(&self) -> f64 {
        match self {
            Cell::Header { .. } => 16.0,
            _ => 14.0,
        }
    }

    pub(crate) fn bgcolor(&self) -> Color {
        match self {
            Cell::Header { .. } => Color::Black,
            Cell::Activation(_) | Cell::Field { .. } => Color::White,
            Cell::Trainable(true) => Color::ForestGreen,
            Cell::Trainable(false) => Color::FireBrick,
        }
    }

    pub(crate) fn color(&self) -> Color {
        match self {
            Cell::Header { .. } | Cell::Trainable(_) => Color::White,
            _ => Color::Black,
        }
    }

    /// The text, one line, as runs of regular and bold type.
    pub(crate) fn runs(&self) -> Vec<Run> {
        let run = |text: &str, bold: bool| Run { text: text.to_string(), bold };
        match self {
            Cell::Header { name: Some(name), class_name } => {
                vec![run(name, true), run(&format!(" ({class_name})"), false)]
            }
            Cell::Header { name: None, class_name } => vec![run(class_name, true)],
            Cell::Activation(a) => vec![run("Activation: ", false), run(a, true)],
            Cell::Field { caption, value } => vec![run(&format!("{caption}: "), false), run(value, true)],
            Cell::Trainable(true) => vec![run("Trainable", true)],
            Cell::Trainable(false) => vec![run("Non-trainable", true)],
        }
    }
}

/// A row: its cells, and the colspan Keras writes on a full-width cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub cells: Vec<Cell>,
    /// `Some(n)` for the header and activation rows (one cell spanning `n` columns).
    pub colspan: Option<usize>,
}

/// A layer's table, rows top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Label {
    pub rows: Vec<Row>,
}

/// Shapes as Keras prints the structure of `layer.input` / `layer.output`.
fn shapes_text(shapes: &[String]) -> String {
    match shapes {
        [] => "?".to_string(),
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

impl Label {
    /// The table Keras's `make_layer_label` builds for `node`.
    pub(crate) fn new(node: &PlotNode, opts: &LabelOptions) -> Label {
        let mut colspan = opts.show_dtype as usize + opts.show_trainable as usize;
        if opts.show_shapes {
            colspan += 2;
        }
        let colspan = colspan.max(1);
        let mut rows = vec![Row {
            cells: vec![Cell::Header {
                name: opts.show_layer_names.then(|| node.name.clone()),
                class_name: node.class_name.clone(),
            }],
            colspan: Some(colspan),
        }];
        if opts.show_layer_activations {
            if let Some(a) = &node.activation {
                rows.push(Row { cells: vec![Cell::Activation(a.clone())], colspan: Some(colspan) });
            }
        }
        let mut cols = Vec::new();
        if opts.show_shapes {
            if node.class_name != "InputLayer" {
                cols.push(Cell::Field { caption: "Input shape", value: shapes_text(&node.input_shapes) });
            }
            cols.push(Cell::Field { caption: "Output shape", value: shapes_text(&node.output_shapes) });
        }
        if opts.show_dtype {
            let dtype = if node.dtype.is_empty() { "?".to_string() } else { node.dtype.clone() };
            cols.push(Cell::Field { caption: "Output dtype", value: dtype });
        }
        if opts.show_trainable && node.has_weights {
            cols.push(Cell::Trainable(node.trainable));
        }
        if !cols.is_empty() {
            rows.push(Row { cells: cols, colspan: None });
        }
        Label { rows }
    }

    /// The HTML-like label, character for character as Keras writes it (text HTML-escaped).
    pub(crate) fn to_html(&self) -> String {
        let mut s =
            String::from("<<table border=\"0\" cellborder=\"1\" bgcolor=\"black\" cellpadding=\"10\">");
        for row in &self.rows {
            s.push_str("<tr>");
            for cell in &row.cells {
                let span = row.colspan.unwrap_or(1);
                match cell {
                    Cell::Header { name, class_name } => {
                        s.push_str(&format!(
                            "<td colspan=\"{span}\" bgcolor=\"black\"><font point-size=\"16\" color=\"white\">"
                        ));
                        match name {
                            Some(n) => s.push_str(&format!("<b>{}</b> ({})", escape(n), escape(class_name))),
                            None => s.push_str(&format!("<b>{}</b>", escape(class_name))),
                        }
                        s.push_str("</font></td>");
                    }
                    Cell::Activation(a) => s.push_str(&format!(
                        "<td bgcolor=\"white\" colspan=\"{span}\"><font point-size=\"14\">Activation: <b>{}</b></font></td>",
                        escape(a)
                    )),
                    Cell::Field { caption, value } => s.push_str(&format!(
                        "<td bgcolor=\"white\"><font point-size=\"14\">{caption}: <b>{}</b></font></td>",
                        escape(value)
                    )),
                    Cell::Trainable(t) => {
                        let (bg, text) = if *t { ("forestgreen", "Trainable") } else { ("firebrick", "Non-trainable") };
                        s.push_str(&format!(
                            "<td bgcolor=\"{bg}\"><font point-size=\"14\" color=\"white\"><b>{text}</b></font></td>"
                        ));
                    }
                }
            }
            s.push_str("</tr>");
        }
        s.push_str("</table>>");
        s
    }
}

/// HTML-escapes text inside a label (Keras interpolates names as is; escaping keeps the DOT
/// valid for names with `<` or `&`, and changes nothing for other names).
fn escape(s: &str) -> String {
    escape_markup(s, false)
}

/// Shared by the SVG writer: XML-escapes text and attribute values.
pub(crate) fn xml_escape(s: &str) -> String {
    escape_markup(s, true)
}

/// `&`, `<` and `>` escaped; with `xml`, also quotes and apostrophes, and the control
/// characters XML 1.0 cannot carry (even escaped) replaced.
fn escape_markup(s: &str, xml: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if xml => out.push_str("&quot;"),
            '\'' if xml => out.push_str("&apos;"),
            c if xml && (c as u32) < 0x20 && c != '\t' && c != '\n' && c != '\r' => out.push('\u{FFFD}'),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense() -> PlotNode {
        PlotNode {
            id: 0,
            name: "d".into(),
            class_name: "Dense".into(),
            input_shapes: vec!["(None, 3)".into()],
            output_shapes: vec!["(None, 2)".into()],
            dtype: "float32".into(),
            activation: Some("relu".into()),
            trainable: false,
            has_weights: true,
            nested: None,
        }
    }

    #[test]
    fn colspan_counts_the_optional_columns() {
        let opts = LabelOptions {
            show_shapes: true,
            show_dtype: true,
            show_layer_names: true,
            show_layer_activations: true,
            show_trainable: true,
        };
        let l = Label::new(&dense(), &opts);
        assert_eq!(l.rows.len(), 3);
        assert_eq!(l.rows[0].colspan, Some(4));
        assert_eq!(l.rows[2].cells.len(), 4);
        assert_eq!(l.rows[2].cells[3], Cell::Trainable(false));
        let html = l.to_html();
        assert!(html.contains("<td bgcolor=\"firebrick\">"), "{html}");
    }

    #[test]
    fn names_are_escaped_and_missing_shapes_are_question_marks() {
        let mut n = dense();
        n.name = "a<b&c".into();
        n.input_shapes.clear();
        n.input_shapes.push("(None, 1)".into());
        n.input_shapes.push("(None, 2)".into());
        n.output_shapes.clear();
        let opts = LabelOptions {
            show_shapes: true,
            show_dtype: false,
            show_layer_names: true,
            show_layer_activations: false,
            show_trainable: false,
        };
        let html = Label::new(&n, &opts).to_html();
        assert!(html.contains("<b>a&lt;b&amp;c</b> (Dense)"), "{html}");
        assert!(html.contains("Input shape: <b>[(None, 1), (None, 2)]</b>"), "{html}");
        assert!(html.contains("Output shape: <b>?</b>"), "{html}");
    }
}
