//! DOT text as Keras's `model_to_dot(...).to_string()` gives it (pydot's layout and quoting).

use super::graph::{Flat, Item};
use super::label::Label;
use super::Resolved;

/// The DOT text of a flattened graph.
pub(crate) fn to_dot(flat: &Flat<'_>, opts: &Resolved) -> String {
    let mut out = String::from("digraph G {\n");
    out.push_str(&format!("rankdir={};\n", quote_attr(&opts.options.rankdir)));
    out.push_str("concentrate=true;\n");
    out.push_str(&format!("dpi={};\n", opts.dpi));
    out.push_str(&format!("splines={};\n", quote_attr(&opts.options.splines)));
    out.push_str("node [shape=record];\n");
    write_cluster(flat, 0, opts, &mut out);
    out.push_str("}\n");
    out
}

/// Nodes and subgraphs of a cluster in order, then the edges it owns.
fn write_cluster(flat: &Flat<'_>, cluster: usize, opts: &Resolved, out: &mut String) {
    for item in &flat.clusters[cluster].items {
        match *item {
            Item::Leaf(l) => {
                let label = Label::new(flat.leaves[l].node, &opts.label).to_html();
                out.push_str(&format!(
                    "{} [label={label}, fontname=Helvetica, border=0, margin=0];\n",
                    dot_id(l)
                ));
            }
            Item::Cluster(c) => {
                let name = &flat.clusters[c].name;
                out.push_str(&format!("subgraph {} {{\n", quote_id(&format!("cluster_{name}"))));
                out.push_str("style=dashed;\n");
                out.push_str(&format!("label={};\n", quote_attr(name)));
                out.push_str("labeljust=l;\n");
                write_cluster(flat, c, opts, out);
                out.push_str("}\n");
            }
        }
    }
    for e in flat.edges.iter().filter(|e| e.owner == cluster) {
        out.push_str(&format!("{} -> {} [penwidth=2];\n", dot_id(e.from), dot_id(e.to)));
    }
}

/// Node ids: numbers, as Keras's (Python object ids) are.
fn dot_id(leaf: usize) -> String {
    (leaf + 1).to_string()
}

const KEYWORDS: [&str; 6] = ["graph", "subgraph", "digraph", "node", "edge", "strict"];

/// pydot `make_quoted`.
fn make_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_numeric(s: &str) -> bool {
    // pydot: ^([0-9]+\.?[0-9]*|[0-9]*\.[0-9]+)$
    let (int, frac) = match s.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    match frac {
        None => !int.is_empty() && digits(int),
        Some(f) => digits(int) && digits(f) && (!int.is_empty() || !f.is_empty()),
    }
}

fn is_dbl_quoted(s: &str) -> bool {
    s.len() >= 2 && s.starts_with('"') && s.ends_with('"')
}

fn is_html(s: &str) -> bool {
    s.len() >= 2 && s.starts_with('<') && s.ends_with('>')
}

/// pydot `any_needs_quotes`: `Some(answer)` or `None` when undecided.
fn any_needs_quotes(s: &str) -> Option<bool> {
    if !s.is_empty() && s.chars().all(char::is_numeric) {
        return Some(false);
    }
    if !s.is_empty() && s.chars().all(char::is_alphanumeric) {
        return Some(s.chars().next().is_some_and(char::is_numeric));
    }
    let high = s.chars().any(|c| c as u32 > 0x7f || c == '\0');
    if high && !is_dbl_quoted(s) && !is_html(s) {
        return Some(true);
    }
    if is_numeric(s) || is_dbl_quoted(s) || is_html(s) {
        return Some(false);
    }
    None
}

/// pydot `quote_attr_if_necessary`.
pub(crate) fn quote_attr(s: &str) -> String {
    if KEYWORDS.contains(&s.to_lowercase().as_str()) {
        return make_quoted(s);
    }
    match any_needs_quotes(s) {
        Some(false) => s.to_string(),
        _ => make_quoted(s),
    }
}

/// pydot `id_needs_quotes`.
fn id_needs_quotes(s: &str) -> bool {
    if KEYWORDS.contains(&s.to_lowercase().as_str()) {
        return false;
    }
    if let Some(answer) = any_needs_quotes(s) {
        return answer;
    }
    let mut chars = s.chars();
    let first_ok = chars.next().is_some_and(|c| c == '_' || c.is_ascii_alphabetic());
    let word = |c: char| c == '_' || c.is_ascii_alphanumeric();
    // ^[_a-zA-Z][a-zA-Z0-9_]*$
    if first_ok && s.chars().skip(1).all(word) {
        return false;
    }
    // ^[_a-zA-Z][a-zA-Z0-9_:"]*[a-zA-Z0-9_"]+$
    if first_ok && s.chars().count() >= 2 {
        let rest: Vec<char> = s.chars().skip(1).collect();
        let (last, middle) = rest.split_last().expect("two characters");
        if middle.iter().all(|&c| word(c) || c == ':' || c == '"') && (word(*last) || *last == '"') {
            return false;
        }
    }
    // ^([^:]*):([^:]*)$
    if s.matches(':').count() == 1 {
        let (a, b) = s.split_once(':').expect("one colon");
        return id_needs_quotes(a) || id_needs_quotes(b);
    }
    true
}

/// pydot `quote_id_if_necessary`.
pub(crate) fn quote_id(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    if KEYWORDS.contains(&s.to_lowercase().as_str()) || id_needs_quotes(s) {
        return make_quoted(s);
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_follows_pydot() {
        assert_eq!(quote_attr("TB"), "TB");
        assert_eq!(quote_attr("mlp"), "mlp");
        assert_eq!(quote_attr("inner_seq"), "\"inner_seq\"");
        assert_eq!(quote_attr("2nd"), "\"2nd\"");
        assert_eq!(quote_attr("12"), "12");
        assert_eq!(quote_attr("1.5"), "1.5");
        assert_eq!(quote_attr("graph"), "\"graph\"");
        assert_eq!(quote_attr("a \"b\""), "\"a \\\"b\\\"\"");
        assert_eq!(quote_id("cluster_inner_seq"), "cluster_inner_seq");
        assert_eq!(quote_id("cluster_my model"), "\"cluster_my model\"");
        assert_eq!(quote_id("cluster_a-b"), "\"cluster_a-b\"");
        assert_eq!(quote_id("cluster_"), "cluster_");
        // Checked against pydot 4.0.1.
        assert_eq!(quote_attr("caf\u{e9}"), "caf\u{e9}");
        assert_eq!(quote_attr("x.y"), "\"x.y\"");
        assert_eq!(quote_attr(""), "\"\"");
        assert_eq!(quote_id("cluster_a:b"), "cluster_a:b");
        assert_eq!(quote_id("cluster_\u{e9}"), "\"cluster_\u{e9}\"");
    }
}
