//! Text rendering of `model.summary()`, byte for byte as Keras 3 prints it.
//!
//! Keras 3 (`keras/src/utils/summary_utils.py`, `print_summary`) builds a
//! `rich.table.Table` (box style `HEAVY_HEAD`, `show_lines=True`, every
//! column with a fixed `width`) and renders it through a capturing
//! `rich.console.Console` without colours. This module reproduces the parts of
//! rich's layout that matter for that table:
//!
//! * column widths: `int(pos * line_length) - previous` for each position,
//!   plus 2 for the cell padding; if the table (plus `ncols + 1` border
//!   characters) is wider than `line_length`, rich shrinks the columns with
//!   `ratio_reduce` (equal ratios, Python's round-half-even);
//! * cell text: rich's `divide_line` word wrapping (words keep their trailing
//!   spaces, a word longer than the cell is cropped with `…`), then per-line
//!   `rstrip`, ellipsis truncation and left/right/center justification;
//! * the parameter lines under the table with `{:,}` thousands separators and
//!   [`readable_memory_size`] (each variable's size from its dtype: 4 bytes per float32
//!   element, 8 per int64 element such as the optimizer's iteration counter).
//!
//! Character widths are counted in Unicode scalar values (rich counts terminal
//! cells; the two agree for the ASCII names Keras layers use).

use crate::{keras_bail, Result};

/// One row of the summary table (one layer).
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// Layer name, e.g. `"conv2d"`.
    pub name: String,
    /// Layer class name, e.g. `"Conv2D"`; shown as `name (ClassName)`.
    pub class_name: String,
    /// Already formatted output shape, e.g. `"(None, 30, 30, 32)"` (see
    /// [`format_shape`]).
    pub output_shape: String,
    /// Number of parameters of the layer (trainable and non-trainable).
    pub params: usize,
    /// `Some(true)` => `Y`, `Some(false)` => `N`, `None` (layer without
    /// weights) => `-` in the "Trainable" column.
    pub trainable: Option<bool>,
    /// Inbound connections, e.g. `["dense[0][0]"]`; joined with `", "`;
    /// empty => `-`. Only shown when [`SummaryArgs::functional`] is set.
    pub connected_to: Vec<String>,
}

/// Options of [`render_summary`], mirroring `model.summary(...)` arguments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SummaryArgs {
    /// Total width of the table. `None` => 88 (sequential-like) or 108
    /// (functional), plus 12 when `show_trainable` (the terminal size is
    /// ignored, as if the terminal were wide enough).
    pub line_length: Option<usize>,
    /// Adds the "Trainable" column (`show_trainable=True`).
    pub show_trainable: bool,
    /// Non-sequential functional model: adds the "Connected to" column and
    /// uses positions `[0.3, 0.56, 0.74, 1.0]` and default width 108.
    pub functional: bool,
}

/// Parameter counts printed under the table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SummaryTotals {
    /// Number of trainable parameters of the model.
    pub trainable: usize,
    /// Number of non-trainable parameters of the model.
    pub non_trainable: usize,
    /// Number of optimizer variables' elements once the optimizer is built;
    /// `Some` adds the "Optimizer params" line and is included in "Total".
    pub optimizer: Option<usize>,
    /// Memory sizes in bytes, from each variable's dtype (Keras `weight_memory_size`);
    /// `None` counts 4 bytes (float32) per parameter.
    pub bytes: Option<SummaryBytes>,
}

/// The memory sizes (bytes) shown next to the parameter counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SummaryBytes {
    /// Bytes of the trainable weights.
    pub trainable: usize,
    /// Bytes of the non-trainable weights (an int64 `count` takes 8).
    pub non_trainable: usize,
    /// Bytes of the optimizer variables (the int64 iteration counter takes 8).
    pub optimizer: usize,
}

/// Column alignment (rich `justify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Justify {
    Left,
    Right,
    Center,
}

/// HEAVY_HEAD box characters: (left, horizontal, divider, right).
const BOX_TOP: [char; 4] = ['┏', '━', '┳', '┓'];
const BOX_HEAD: [char; 3] = ['┃', '┃', '┃'];
const BOX_HEAD_ROW: [char; 4] = ['┡', '━', '╇', '┩'];
const BOX_MID: [char; 3] = ['│', '│', '│'];
const BOX_ROW: [char; 4] = ['├', '─', '┼', '┤'];
const BOX_BOTTOM: [char; 4] = ['└', '─', '┴', '┘'];

/// Renders the text Keras 3 passes to `print_fn` for `model.summary()`.
///
/// The result ends with a newline (rich's console adds one after every printed
/// item), exactly like the captured Keras string.
///
/// Errors when a column would be narrower than 4 characters (Keras raises
/// `ValueError("Insufficient console width to print summary.")`).
pub fn render_summary(
    model_name: &str,
    rows: &[SummaryRow],
    totals: &SummaryTotals,
    opts: &SummaryArgs,
) -> Result<String> {
    let (mut default_line_length, mut positions, mut header, mut justify) = if opts.functional {
        (
            108usize,
            vec![0.3f64, 0.56, 0.74, 1.0],
            vec!["Layer (type)", "Output Shape", "Param #", "Connected to"],
            vec![Justify::Left, Justify::Left, Justify::Right, Justify::Left],
        )
    } else {
        (
            88usize,
            vec![0.45f64, 0.80, 1.0],
            vec!["Layer (type)", "Output Shape", "Param #"],
            vec![Justify::Left, Justify::Left, Justify::Right],
        )
    };
    if opts.show_trainable {
        default_line_length += 12;
        positions = positions.iter().map(|p| p * 0.90).collect();
        positions.push(1.0);
        header.push("Trainable");
        justify.push(Justify::Center);
    }
    let line_length = opts.line_length.unwrap_or(default_line_length);

    // Keras: column widths from the relative positions.
    let mut column_widths = Vec::with_capacity(positions.len());
    let mut current = 0i64;
    for pos in &positions {
        let width = (pos * line_length as f64) as i64 - current;
        if width < 4 {
            keras_bail!(Value, "Insufficient console width to print summary.");
        }
        column_widths.push(width as usize);
        current += width;
    }

    let widths = rich_column_widths(&column_widths, line_length);

    // Cell texts.
    let mut table_rows: Vec<Vec<String>> = Vec::with_capacity(rows.len());
    for row in rows {
        let mut fields = vec![
            format!("{} ({})", row.name, row.class_name),
            row.output_shape.clone(),
            group_thousands(row.params),
        ];
        if opts.functional {
            if row.connected_to.is_empty() {
                fields.push("-".to_string());
            } else {
                fields.push(row.connected_to.join(", "));
            }
        }
        if opts.show_trainable {
            fields.push(
                match row.trainable {
                    Some(true) => "Y",
                    Some(false) => "N",
                    None => "-",
                }
                .to_string(),
            );
        }
        table_rows.push(fields);
    }

    let mut out = String::new();
    out.push_str(&format!("Model: \"{model_name}\"\n"));

    out.push_str(&horizontal_line(&widths, BOX_TOP));
    let header_cells: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    out.push_str(&render_row(&header_cells, &widths, &justify, BOX_HEAD));
    out.push_str(&horizontal_line(&widths, BOX_HEAD_ROW));
    for (i, cells) in table_rows.iter().enumerate() {
        if i > 0 {
            out.push_str(&horizontal_line(&widths, BOX_ROW));
        }
        out.push_str(&render_row(cells, &widths, &justify, BOX_MID));
    }
    out.push_str(&horizontal_line(&widths, BOX_BOTTOM));

    let optimizer = totals.optimizer.unwrap_or(0);
    let total = totals.trainable + totals.non_trainable + optimizer;
    let b = totals.bytes.unwrap_or(SummaryBytes {
        trainable: totals.trainable * 4,
        non_trainable: totals.non_trainable * 4,
        optimizer: optimizer * 4,
    });
    let mut param_line = |label: &str, count: usize, bytes: usize| {
        out.push_str(&format!(
            " {label}: {} ({})\n",
            group_thousands(count),
            readable_memory_size(bytes as f64)
        ));
    };
    param_line("Total params", total, b.trainable + b.non_trainable + b.optimizer);
    param_line("Trainable params", totals.trainable, b.trainable);
    param_line("Non-trainable params", totals.non_trainable, b.non_trainable);
    if totals.optimizer.is_some() {
        param_line("Optimizer params", optimizer, b.optimizer);
    }
    Ok(out)
}

/// Formats a shape the way Keras' summary does: `"(" + ", ".join(dims) + ")"`
/// with `None` for unknown dimensions.
///
/// Note that this is a join, not Python's tuple `repr`: a one-element shape is
/// `"(None)"` and an empty shape is `"()"`.
pub fn format_shape(shape: &[Option<usize>]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .map(|d| match d {
            Some(v) => v.to_string(),
            None => "None".to_string(),
        })
        .collect();
    format!("({})", dims.join(", "))
}

/// Keras `readable_memory_size`: divides by 1024 until below 1024 and formats
/// with two decimals, e.g. `"6.20 MB"`, `"1.64 KB"`, `"128.00 B"`.
pub fn readable_memory_size(bytes: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut size = bytes;
    for unit in UNITS {
        if size / 1024.0 < 1.0 {
            return format!("{size:.2} {unit}");
        }
        size /= 1024.0;
    }
    format!("{size:.2} {}", UNITS[UNITS.len() - 1])
}

/// Python's `f"{n:,}"` for a non-negative integer.
fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// rich `Table._calculate_column_widths` for fixed-width columns with padding
/// `(0, 1)`, `width=line_length` and `expand=False`. Returned widths include
/// the padding.
fn rich_column_widths(column_widths: &[usize], line_length: usize) -> Vec<usize> {
    let extra_width = column_widths.len() + 1;
    let max_width = line_length.saturating_sub(extra_width);
    let mut widths: Vec<usize> = column_widths.iter().map(|w| w + 2).collect();
    let table_width: usize = widths.iter().sum();
    if table_width > max_width {
        // `_collapse_widths` does nothing: no column is wrapable (all have a
        // fixed width). Last resort: reduce columns evenly.
        let excess = table_width - max_width;
        widths = ratio_reduce(excess, &vec![1; widths.len()], &widths, &widths);
        // Re-measure: a fixed column measures `min(width + padding, max)`,
        // and 0 when the available width is < 1.
        widths = widths
            .iter()
            .zip(column_widths)
            .map(|(&w, &cw)| if w < 1 { 0 } else { (cw + 2).min(w) })
            .collect();
    }
    widths
}

/// rich `_ratio.ratio_reduce`.
fn ratio_reduce(total: usize, ratios: &[usize], maximums: &[usize], values: &[usize]) -> Vec<usize> {
    let ratios: Vec<usize> = ratios.iter().zip(maximums).map(|(&r, &m)| if m > 0 { r } else { 0 }).collect();
    let mut total_ratio: usize = ratios.iter().sum();
    if total_ratio == 0 {
        return values.to_vec();
    }
    let mut total_remaining = total as i64;
    let mut result = Vec::with_capacity(values.len());
    for ((&ratio, &maximum), &value) in ratios.iter().zip(maximums).zip(values) {
        if ratio > 0 && total_ratio > 0 {
            let share = (ratio as f64 * total_remaining as f64 / total_ratio as f64).round_ties_even();
            let distributed = (maximum as i64).min(share as i64);
            result.push((value as i64 - distributed).max(0) as usize);
            total_remaining -= distributed;
            total_ratio -= ratio;
        } else {
            result.push(value);
        }
    }
    result
}

/// A horizontal border line: `left`, `horizontal * width` per column joined by
/// `divider`, `right`, newline.
fn horizontal_line(widths: &[usize], chars: [char; 4]) -> String {
    let [left, horizontal, divider, right] = chars;
    let mut line = String::new();
    line.push(left);
    for (i, &w) in widths.iter().enumerate() {
        if i > 0 {
            line.push(divider);
        }
        line.extend(std::iter::repeat_n(horizontal, w));
    }
    line.push(right);
    line.push('\n');
    line
}

/// Renders one table row (possibly several text lines high; cells are aligned
/// to the top and padded with blank lines).
fn render_row(cells: &[String], widths: &[usize], justify: &[Justify], chars: [char; 3]) -> String {
    let [left, divider, right] = chars;
    let rendered: Vec<Vec<String>> =
        cells.iter().zip(widths).zip(justify).map(|((cell, &w), &j)| render_cell(cell, w, j)).collect();
    let height = rendered.iter().map(Vec::len).max().unwrap_or(1);
    let mut out = String::new();
    for line_no in 0..height {
        out.push(left);
        for (i, (lines, &w)) in rendered.iter().zip(widths).enumerate() {
            if i > 0 {
                out.push(divider);
            }
            match lines.get(line_no) {
                Some(l) => out.push_str(l),
                None => out.extend(std::iter::repeat_n(' ', w)),
            }
        }
        out.push(right);
        out.push('\n');
    }
    out
}

/// Renders a cell's text into lines of exactly `width` characters: padding
/// `(0, 1)` around rich's `Text.wrap` output.
fn render_cell(text: &str, width: usize, justify: Justify) -> Vec<String> {
    if width == 0 {
        return vec![String::new()];
    }
    if width == 1 {
        // Only the left padding fits.
        return vec![" ".to_string()];
    }
    let inner = width - 2;
    wrap_text(text, inner, justify).into_iter().map(|l| format!(" {l} ")).collect()
}

fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// rich `Text.wrap` with `overflow="ellipsis"`: returns lines padded to
/// `width`.
fn wrap_text(text: &str, width: usize, justify: Justify) -> Vec<String> {
    let mut lines = Vec::new();
    for line in text.split('\n') {
        let chars: Vec<char> = line.chars().collect();
        let offsets = divide_line(&chars, width);
        let mut bounds = vec![0usize];
        bounds.extend(offsets.iter().copied());
        bounds.push(chars.len());
        for pair in bounds.windows(2) {
            let piece: String = chars[pair[0]..pair[1]].iter().collect();
            lines.push(justify_line(&piece, width, justify));
        }
    }
    lines
}

/// rich `Lines.justify` for one line followed by `truncate(width,
/// overflow="ellipsis")`.
fn justify_line(piece: &str, width: usize, justify: Justify) -> String {
    let mut s = piece.trim_end().to_string();
    if char_len(&s) > width {
        let kept: String = s.chars().take(width.saturating_sub(1)).collect();
        s = if width == 0 { String::new() } else { format!("{kept}…") };
    }
    let len = char_len(&s);
    let pad = width.saturating_sub(len);
    match justify {
        Justify::Left => format!("{s}{}", " ".repeat(pad)),
        Justify::Right => format!("{}{s}", " ".repeat(pad)),
        Justify::Center => {
            let left = pad / 2;
            format!("{}{s}{}", " ".repeat(left), " ".repeat(pad - left))
        }
    }
}

/// rich `_wrap.words`: `(start, end)` char ranges matching `\s*\S+\s*`.
fn words(chars: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut pos = 0;
    let n = chars.len();
    while pos < n {
        let start = pos;
        let mut i = pos;
        while i < n && chars[i].is_whitespace() {
            i += 1;
        }
        if i == n {
            break;
        }
        while i < n && !chars[i].is_whitespace() {
            i += 1;
        }
        while i < n && chars[i].is_whitespace() {
            i += 1;
        }
        out.push((start, i));
        pos = i;
    }
    out
}

/// rich `_wrap.divide_line(text, width, fold=False)`: char offsets where new
/// lines start.
fn divide_line(chars: &[char], width: usize) -> Vec<usize> {
    let mut breaks = Vec::new();
    let mut cell_offset: i64 = 0;
    let width = width as i64;
    for (start, end) in words(chars) {
        let word = &chars[start..end];
        let full_len = word.len() as i64;
        let trimmed_len = {
            let mut k = word.len();
            while k > 0 && word[k - 1].is_whitespace() {
                k -= 1;
            }
            k as i64
        };
        let remaining = width - cell_offset;
        if remaining >= trimmed_len {
            cell_offset += full_len;
        } else if trimmed_len > width {
            // The word fits on no line and folding is off: crop it.
            if start > 0 {
                breaks.push(start);
            }
            cell_offset = full_len;
        } else {
            breaks.push(start);
            cell_offset = full_len;
        }
    }
    breaks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(case: &str, file: &str) -> String {
        let path = format!("{}/tests/fixtures/summary/{case}/{file}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
    }

    fn row(
        name: &str,
        class_name: &str,
        shape: &[Option<usize>],
        params: usize,
        connected_to: &[&str],
    ) -> SummaryRow {
        SummaryRow {
            name: name.to_string(),
            class_name: class_name.to_string(),
            output_shape: format_shape(shape),
            params,
            // Layers with parameters are trainable here; the rest have no
            // weights at all.
            trainable: if params > 0 { Some(true) } else { None },
            connected_to: connected_to.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Compares line by line first for a readable failure, then exactly.
    fn assert_text(actual: &str, expected: &str) {
        for (i, (a, e)) in actual.lines().zip(expected.lines()).enumerate() {
            assert_eq!(a, e, "line {i} differs");
        }
        assert_eq!(actual, expected);
    }

    fn check_variants(case: &str, name: &str, rows: &[SummaryRow], totals: &SummaryTotals, functional: bool) {
        let default = SummaryArgs { functional, ..Default::default() };
        assert_text(
            &render_summary(name, rows, totals, &default).unwrap(),
            &fixture(case, "summary_default.txt"),
        );
        let ll100 = SummaryArgs { line_length: Some(100), ..default.clone() };
        assert_text(
            &render_summary(name, rows, totals, &ll100).unwrap(),
            &fixture(case, "summary_line_length_100.txt"),
        );
        let trainable = SummaryArgs { show_trainable: true, ..default.clone() };
        assert_text(
            &render_summary(name, rows, totals, &trainable).unwrap(),
            &fixture(case, "summary_show_trainable.txt"),
        );
    }

    fn seed_rows() -> Vec<SummaryRow> {
        let n = None;
        vec![
            row("conv2d", "Conv2D", &[n, Some(30), Some(30), Some(32)], 896, &[]),
            row("conv2d_1", "Conv2D", &[n, Some(28), Some(28), Some(64)], 18496, &[]),
            row("max_pooling2d", "MaxPooling2D", &[n, Some(14), Some(14), Some(64)], 0, &[]),
            row("dropout", "Dropout", &[n, Some(14), Some(14), Some(64)], 0, &[]),
            row("flatten", "Flatten", &[n, Some(12544)], 0, &[]),
            row("dense", "Dense", &[n, Some(128)], 1605760, &[]),
            row("dropout_1", "Dropout", &[n, Some(128)], 0, &[]),
            row("dense_1", "Dense", &[n, Some(10)], 1290, &[]),
        ]
    }

    #[test]
    fn seed_example_matches_keras() {
        let totals = SummaryTotals { trainable: 1_626_442, non_trainable: 0, optimizer: None, bytes: None };
        check_variants("seed_example", "sequential", &seed_rows(), &totals, false);
    }

    #[test]
    fn seed_example_after_train_step_matches_keras() {
        let totals =
            SummaryTotals { trainable: 1_626_442, non_trainable: 0, optimizer: Some(3_252_886), bytes: None };
        assert_text(
            &render_summary("sequential", &seed_rows(), &totals, &SummaryArgs::default()).unwrap(),
            &fixture("seed_example", "summary_after_train_step.txt"),
        );
    }

    #[test]
    fn text_lstm_gru_matches_keras() {
        let n = None;
        let rows = vec![
            row("embedding", "Embedding", &[n, Some(20), Some(16)], 16000, &[]),
            row("lstm", "LSTM", &[n, Some(20), Some(32)], 6272, &[]),
            row("gru", "GRU", &[n, Some(16)], 2400, &[]),
            row("dense", "Dense", &[n, Some(1)], 17, &[]),
        ];
        let totals = SummaryTotals { trainable: 24_689, non_trainable: 0, optimizer: None, bytes: None };
        check_variants("text_lstm_gru", "text_classifier", &rows, &totals, false);
    }

    #[test]
    fn functional_two_tower_matches_keras() {
        let n = None;
        let rows = vec![
            row("features", "InputLayer", &[n, Some(12)], 0, &[]),
            row("dense", "Dense", &[n, Some(16)], 208, &["features[0][0]"]),
            row("extra", "InputLayer", &[n, Some(5)], 0, &[]),
            row("batch_normalization", "BatchNormalization", &[n, Some(16)], 64, &["dense[0][0]"]),
            row("dense_1", "Dense", &[n, Some(8)], 48, &["extra[0][0]"]),
            row(
                "concatenate",
                "Concatenate",
                &[n, Some(24)],
                0,
                &["batch_normalization[0][0]", "dense_1[0][0]"],
            ),
            row("dropout", "Dropout", &[n, Some(24)], 0, &["concatenate[0][0]"]),
            row("class_out", "Dense", &[n, Some(3)], 75, &["dropout[0][0]"]),
            row("reg_out", "Dense", &[n, Some(1)], 25, &["dropout[0][0]"]),
        ];
        let totals = SummaryTotals { trainable: 388, non_trainable: 32, optimizer: None, bytes: None };
        check_variants("functional_two_tower", "two_tower", &rows, &totals, true);
    }

    #[test]
    fn fixture_counts_agree_with_case_json() {
        // Cross-check the hand-written totals against case.json.
        for (case, total) in
            [("seed_example", 1_626_442), ("text_lstm_gru", 24_689), ("functional_two_tower", 420)]
        {
            let json = fixture(case, "case.json");
            assert!(json.contains(&format!("\"count_params\": {total},")), "{case}");
        }
    }

    #[test]
    fn shape_formatting() {
        assert_eq!(format_shape(&[None, Some(30), Some(30), Some(32)]), "(None, 30, 30, 32)");
        assert_eq!(format_shape(&[None]), "(None)");
        assert_eq!(format_shape(&[]), "()");
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(readable_memory_size(0.0), "0.00 B");
        assert_eq!(readable_memory_size(128.0), "128.00 B");
        assert_eq!(readable_memory_size(1023.0), "1023.00 B");
        assert_eq!(readable_memory_size(1024.0), "1.00 KB");
        assert_eq!(readable_memory_size(420.0 * 4.0), "1.64 KB");
        assert_eq!(readable_memory_size(1_626_442.0 * 4.0), "6.20 MB");
        // Keras divides once more even at the last unit: 3 * 1024^6 B => "3.00 PB".
        assert_eq!(readable_memory_size(1024f64.powi(6) * 3.0), "3.00 PB");
    }

    #[test]
    fn thousands() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1,000");
        assert_eq!(group_thousands(1_605_760), "1,605,760");
    }

    #[test]
    fn rich_wrapping() {
        assert_eq!(
            wrap_text("batch_normalization (BatchNormalization)", 29, Justify::Left),
            vec![format!("{:29}", "batch_normalization"), format!("{:29}", "(BatchNormalization)")]
        );
        assert_eq!(wrap_text("Trainable", 7, Justify::Center), vec!["Traina…"]);
        assert_eq!(wrap_text("Y", 7, Justify::Center), vec!["   Y   "]);
        assert_eq!(wrap_text("", 3, Justify::Left), vec!["   "]);
    }
}
