//! `keras::utils::plot_model` from the outside: DOT text against Keras 3.15's own
//! (`tests/fixtures/plot_model`, made by `make_fixtures.py`), files written end to end for a
//! real `Sequential` model, the drawings' geometry read back from the SVG (no overlapping
//! boxes, edges from producer to consumer that go around boxes), and every error path.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use keras::layers::{Dense, Input};
use keras::models::{AnyModel, Functional, Sequential};
use keras::utils::plot_model::{
    model_to_dot, model_to_png, model_to_svg, plot_model, PlotGraph, PlotModelArgs, PlotNode, ToPlotGraph,
};
use keras::Error;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plot_model")
}

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(fixtures().join("cases.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["cases"].as_array().unwrap().clone()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

fn ids(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|s| s.as_u64().unwrap() as usize).collect()
}

fn pairs(v: &Value) -> Vec<(usize, usize)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_u64().unwrap() as usize, p[1].as_u64().unwrap() as usize))
        .collect()
}

/// The model description Keras's objects gave, as a `PlotGraph`.
fn graph_from_json(m: &Value) -> PlotGraph {
    PlotGraph {
        name: m["name"].as_str().unwrap().into(),
        class_name: m["class_name"].as_str().unwrap().into(),
        nodes: m["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| PlotNode {
                id: n["id"].as_u64().unwrap() as usize,
                name: n["name"].as_str().unwrap().into(),
                class_name: n["class_name"].as_str().unwrap().into(),
                input_shapes: strings(&n["input_shapes"]),
                output_shapes: strings(&n["output_shapes"]),
                dtype: n["dtype"].as_str().unwrap().into(),
                activation: n["activation"].as_str().map(str::to_string),
                trainable: n["trainable"].as_bool().unwrap(),
                has_weights: n["has_weights"].as_bool().unwrap(),
                nested: (!n["nested"].is_null()).then(|| graph_from_json(&n["nested"])),
            })
            .collect(),
        edges: pairs(&m["edges"]),
        inputs: ids(&m["inputs"]),
        outputs: ids(&m["outputs"]),
        edge_ports: pairs(&m["edge_ports"]),
    }
}

/// Keras's keyword arguments as options.
fn options_from_json(o: &Value) -> PlotModelArgs {
    let mut opts = PlotModelArgs::new();
    for (k, v) in o.as_object().unwrap() {
        opts = match k.as_str() {
            "show_shapes" => opts.show_shapes(v.as_bool().unwrap()),
            "show_dtype" => opts.show_dtype(v.as_bool().unwrap()),
            "show_layer_names" => opts.show_layer_names(v.as_bool().unwrap()),
            "show_layer_activations" => opts.show_layer_activations(v.as_bool().unwrap()),
            "show_trainable" => opts.show_trainable(v.as_bool().unwrap()),
            "expand_nested" => opts.expand_nested(v.as_bool().unwrap()),
            "rankdir" => opts.rankdir(v.as_str().unwrap()),
            "splines" => opts.splines(v.as_str().unwrap()),
            "dpi" => opts.dpi(v.as_u64().unwrap() as u32),
            other => panic!("option {other} not handled by the test"),
        };
    }
    opts
}

/// Node ids renamed `n0`, `n1`, ... in the order the nodes are declared (Keras's are Python
/// object ids).
fn normalise_ids(dot: &str) -> String {
    let mut names: HashMap<String, String> = HashMap::new();
    for line in dot.lines() {
        if let Some((id, rest)) = line.split_once(' ') {
            if rest.starts_with("[label=") && !names.contains_key(id) {
                let n = format!("n{}", names.len());
                names.insert(id.to_string(), n);
            }
        }
    }
    dot.lines()
        .map(|line| {
            let mut words: Vec<String> = line.splitn(4, ' ').map(str::to_string).collect();
            if let Some(n) = names.get(&words[0]) {
                words[0] = n.clone();
                if words.len() > 2 && words[1] == "->" {
                    words[2] =
                        names.get(&words[2]).cloned().unwrap_or_else(|| format!("unknown {}", words[2]));
                }
            }
            words.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_same_dot(case: &str, ours: &str, keras: &str) {
    let (a, b) = (normalise_ids(ours), normalise_ids(keras));
    if a != b {
        for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
            assert_eq!(x, y, "{case}: line {} differs", i + 1);
        }
        assert_eq!(
            a.lines().count(),
            b.lines().count(),
            "{case}: line counts differ\nours:\n{a}\nkeras:\n{b}"
        );
    }
}

#[test]
fn dot_matches_keras_for_every_fixture() {
    let cases = cases();
    assert!(cases.len() >= 5);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let keras = std::fs::read_to_string(fixtures().join(format!("{name}.dot"))).unwrap();
        let graph = graph_from_json(&case["model"]);
        let ours = model_to_dot(&graph, options_from_json(&case["options"])).unwrap();
        assert_same_dot(name, &ours, &keras);
    }
}

#[test]
fn dot_of_real_sequential_models_matches_keras() {
    let mut checked = 0;
    for case in cases().iter().filter(|c| c["model"]["class_name"] == "Sequential") {
        let name = case["name"].as_str().unwrap();
        let keras = std::fs::read_to_string(fixtures().join(format!("{name}.dot"))).unwrap();
        let model = Sequential::from_config(&case["config"]).unwrap();
        let ours = model_to_dot(&model, options_from_json(&case["options"])).unwrap();
        assert_same_dot(name, &ours, &keras);
        checked += 1;
    }
    assert!(checked >= 3, "the fixtures hold Sequential models");
}

/// Functional models rebuilt from Keras's configs: multi-input/output graphs, a shared layer
/// (its shapes are "?"), a residual block and nested models, collapsed and expanded. Their
/// description is the one Keras's objects give, and their DOT is Keras's.
#[test]
fn dot_of_real_functional_models_matches_keras() {
    let mut checked = 0;
    for case in cases().iter().filter(|c| c["model"]["class_name"] == "Functional") {
        let name = case["name"].as_str().unwrap();
        let keras = std::fs::read_to_string(fixtures().join(format!("{name}.dot"))).unwrap();
        let model = Functional::from_config(&case["config"]).unwrap();
        assert_eq!(model.to_plot_graph().unwrap(), graph_from_json(&case["model"]), "{name}: description");
        let ours = model_to_dot(&model, options_from_json(&case["options"])).unwrap();
        assert_same_dot(name, &ours, &keras);
        // The same through the model kind `load_model` returns.
        let any = AnyModel::from(model);
        assert_eq!(model_to_dot(&any, options_from_json(&case["options"])).unwrap(), ours);
        checked += 1;
    }
    assert!(checked >= 6, "the fixtures hold Functional models ({checked})");
}

#[test]
fn functional_models_render_to_svg_and_png() {
    for case in cases().iter().filter(|c| c["model"]["class_name"] == "Functional") {
        let name = case["name"].as_str().unwrap();
        let model = Functional::from_config(&case["config"]).unwrap();
        let opts = options_from_json(&case["options"]);
        let svg = model_to_svg(&model, opts.clone()).unwrap();
        let (w, h) = view_box(&svg);
        assert!(w > 50.0 && h > 50.0, "{name}: {w}x{h}");
        // Every layer box carries its name (nested models expanded or not).
        for node in case["model"]["nodes"].as_array().unwrap() {
            let layer = node["name"].as_str().unwrap();
            assert!(svg.contains(layer), "{name}: {layer} not drawn");
        }
        let png = model_to_png(&model, opts).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}");
        assert!(png.len() > 1000, "{name}");
    }
}

fn mlp() -> Sequential {
    let mut m = Sequential::new().with_name("mlp");
    m.add(Input::new(&[20])).unwrap();
    m.add(Dense::new(16).activation("relu").name("hidden")).unwrap();
    m.add(Dense::new(3).activation("softmax").name("probs")).unwrap();
    m
}

fn out_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("keras_plot_model_{test}_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `viewBox` width and height (points) of our SVG.
fn view_box(svg: &str) -> (f64, f64) {
    let doc = roxmltree::Document::parse_with_options(
        svg,
        roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() },
    )
    .unwrap();
    let vb: Vec<f64> = doc
        .root_element()
        .attribute("viewBox")
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    (vb[2], vb[3])
}

#[test]
fn plot_model_writes_png_svg_and_dot_for_a_sequential_model() {
    let model = mlp();
    let dir = out_dir("files");
    let opts = PlotModelArgs::new().show_shapes(true);
    for file in ["m.png", "m.svg", "m.dot", "m.gv", "m.PNG", "no_extension"] {
        plot_model(&model, dir.join(file), opts.clone()).unwrap();
        assert!(std::fs::metadata(dir.join(file)).unwrap().len() > 0, "{file}");
    }
    // The SVG is well-formed XML with one group per layer box.
    let svg = std::fs::read_to_string(dir.join("m.svg")).unwrap();
    let doc = roxmltree::Document::parse_with_options(
        &svg,
        roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() },
    )
    .unwrap();
    let nodes = doc.descendants().filter(|n| n.attribute("class") == Some("node")).count();
    assert_eq!(nodes, 2);
    assert_eq!(svg, model_to_svg(&model, opts.clone()).unwrap());

    // PNG: decodes, `points * dpi / 72` pixels (dpi 200 by default), same as `model_to_png`.
    let (w_pt, h_pt) = view_box(&svg);
    for file in ["m.png", "m.PNG", "no_extension"] {
        let img = image::open(dir.join(file)).unwrap_or_else(|_| {
            image::load_from_memory_with_format(
                &std::fs::read(dir.join(file)).unwrap(),
                image::ImageFormat::Png,
            )
            .unwrap()
        });
        assert_eq!(img.width(), (w_pt * 200.0 / 72.0).round() as u32, "{file}");
        assert_eq!(img.height(), (h_pt * 200.0 / 72.0).round() as u32, "{file}");
    }
    assert_eq!(std::fs::read(dir.join("m.png")).unwrap(), model_to_png(&model, opts.clone()).unwrap());
    for dpi in [72, 96, 300] {
        let png = model_to_png(&model, opts.clone().dpi(dpi)).unwrap();
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!(img.width(), (w_pt * f64::from(dpi) / 72.0).round() as u32);
        assert_eq!(img.height(), (h_pt * f64::from(dpi) / 72.0).round() as u32);
    }
    // The SVG page scales with dpi as Graphviz's does; the view box does not.
    let svg96 = model_to_svg(&model, opts.clone().dpi(96)).unwrap();
    assert_eq!(view_box(&svg96), (w_pt, h_pt));
    assert!(svg96.contains(&format!("width=\"{}pt\"", (w_pt * 96.0 / 72.0).round())));

    // The DOT file is model_to_dot with plot_model's default show_layer_names=False.
    let dot = std::fs::read_to_string(dir.join("m.dot")).unwrap();
    assert_eq!(dot, model_to_dot(&model, opts.clone().show_layer_names(false)).unwrap());
    assert_eq!(dot, std::fs::read_to_string(dir.join("m.gv")).unwrap());
    assert!(dot.contains("<b>Dense</b>") && !dot.contains("hidden"));
    let named = model_to_dot(&model, opts).unwrap();
    assert!(named.contains("<b>hidden</b> (Dense)"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_png_draws_what_the_svg_describes() {
    // Same layout in both: every cell's fill shows in the PNG near the cell's corner (away
    // from its centred text), and the middle of every edge path is dark.
    let model = mlp();
    let opts = PlotModelArgs::new().show_shapes(true).show_trainable(true).dpi(144);
    let svg = model_to_svg(&model, opts.clone()).unwrap();
    let img = image::load_from_memory(&model_to_png(&model, opts).unwrap()).unwrap().to_rgb8();
    let doc = roxmltree::Document::parse_with_options(
        &svg,
        roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() },
    )
    .unwrap();
    let px = |x: f64, y: f64| img.get_pixel((x * 2.0) as u32, (y * 2.0) as u32).0;
    let mut cells = 0;
    for g in doc.descendants().filter(|n| n.attribute("class") == Some("node")) {
        for r in g.children().filter(|c| c.has_tag_name("rect")).skip(1) {
            let b = rect(r);
            let want = match r.attribute("fill").unwrap() {
                "black" => [0, 0, 0],
                "white" => [255, 255, 255],
                "forestgreen" => [34, 139, 34],
                other => panic!("unexpected fill {other}"),
            };
            assert_eq!(px(b.x0 + 3.0, b.y0 + 3.0), want);
            assert_eq!(px(b.x1 - 3.0, b.y1 - 3.0), want);
            cells += 1;
        }
    }
    assert_eq!(cells, 2 * 4, "header, input shape, output shape, trainable for both layers");
    let d = drawing(&svg);
    assert_eq!(d.paths.len(), 1);
    let (pts, _, tip) = &d.paths[0];
    let mid = ((pts[0].0 + pts[1].0) / 2.0, (pts[0].1 + pts[1].1) / 2.0);
    assert_eq!(px(mid.0, mid.1), [0, 0, 0]);
    let tip = tip.unwrap();
    assert_eq!(px(tip.0, tip.1 - 3.0), [0, 0, 0], "arrowhead");
}

#[test]
fn the_png_shows_the_boxes() {
    // Black table backgrounds and white cells: the picture is not blank.
    let png = model_to_png(&mlp(), PlotModelArgs::new().dpi(72)).unwrap();
    let img = image::load_from_memory(&png).unwrap().to_rgb8();
    let black = img.pixels().filter(|p| p.0 == [0, 0, 0]).count();
    let white = img.pixels().filter(|p| p.0 == [255, 255, 255]).count();
    let total = (img.width() * img.height()) as usize;
    assert!(black > total / 10, "{black} of {total}");
    assert!(white > total / 4, "{white} of {total}");
    // Corners are background.
    assert_eq!(img.get_pixel(0, 0).0, [255, 255, 255]);
    assert_eq!(img.get_pixel(img.width() - 1, img.height() - 1).0, [255, 255, 255]);
}

fn invalid(e: Error) -> String {
    match e {
        Error::InvalidArgument(m) => m,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[test]
fn errors_are_keras_like_and_never_panics() {
    let model = mlp();
    let dir = out_dir("errors");
    let m = invalid(plot_model(&model, dir.join("model.pdf"), PlotModelArgs::new()).unwrap_err());
    assert_eq!(m, "Format: \"pdf\" not recognized. Use one of: dot gv png svg");
    assert!(!dir.join("model.pdf").exists());
    let m = invalid(plot_model(&model, dir.join("m.png"), PlotModelArgs::new().rankdir("XY")).unwrap_err());
    assert!(m.contains("rankdir") && m.contains("\"XY\"") && m.contains("\"LR\""), "{m}");
    let m = invalid(model_to_dot(&model, PlotModelArgs::new().rankdir("lr")).unwrap_err());
    assert!(m.contains("rankdir"), "{m}");
    let m = invalid(model_to_svg(&model, PlotModelArgs::new().splines("wavy")).unwrap_err());
    assert!(m.contains("splines") && m.contains("ortho"), "{m}");
    let m = invalid(model_to_png(&model, PlotModelArgs::new().dpi(0)).unwrap_err());
    assert!(m.contains("dpi"), "{m}");

    // A model that is not built.
    let mut unbuilt = Sequential::new();
    unbuilt.add(Dense::new(3)).unwrap();
    match plot_model(&unbuilt, dir.join("m.png"), PlotModelArgs::new()).unwrap_err() {
        Error::State(m) => assert!(m.starts_with("This model has not yet been built."), "{m}"),
        other => panic!("{other:?}"),
    }

    // A file that cannot be written.
    match plot_model(&model, dir.join("missing_dir").join("m.png"), PlotModelArgs::new()).unwrap_err() {
        Error::Io(m) => assert!(m.contains("missing_dir"), "{m}"),
        other => panic!("{other:?}"),
    }

    // Graphs that do not hold together.
    let mut g = chain(3);
    g.edges.push((1, 9));
    assert!(invalid(model_to_dot(&g, PlotModelArgs::new()).unwrap_err()).contains("9"));
    let mut g = chain(3);
    g.nodes[2].id = 0;
    assert!(invalid(model_to_svg(&g, PlotModelArgs::new()).unwrap_err()).contains("id 0"));
    let mut g = chain(3);
    g.edge_ports = vec![(0, 0)];
    assert!(invalid(model_to_png(&g, PlotModelArgs::new()).unwrap_err()).contains("edge_ports"));
    let mut g = chain(3);
    g.outputs = vec![7];
    assert!(model_to_dot(&g, PlotModelArgs::new()).is_err());
    // An edge out of a nested model's third output, which it does not have.
    let mut g = nested_two_tower();
    g.edge_ports = vec![(0, 0); g.edges.len()];
    let k = g.edges.iter().position(|&(a, _)| a == 3).unwrap();
    g.edge_ports[k] = (2, 0);
    let opts = PlotModelArgs::new().expand_nested(true);
    assert!(invalid(model_to_dot(&g, opts.clone()).unwrap_err()).contains("output 2"));
    assert!(model_to_png(&g, opts).is_err());
    // Collapsed, the same graph draws.
    assert!(model_to_png(&g, PlotModelArgs::new()).is_ok());

    // An edge into a nested model that has no inputs.
    let mut g = chain(2);
    let mut hollow = PlotNode::new(2, "hollow", "Functional");
    hollow.nested = Some(PlotGraph::new("hollow", "Functional"));
    g.nodes.push(hollow.clone());
    g.edges.push((1, 2));
    let m = invalid(model_to_svg(&g, PlotModelArgs::new().expand_nested(true)).unwrap_err());
    assert!(m.contains("hollow") && m.contains("0 inputs"), "{m}");

    // Odd but valid input draws: an empty model, an empty nested model, a cycle, a
    // self-loop, odd names.
    let empty = PlotGraph::new("empty", "Functional");
    let png = model_to_png(&empty, PlotModelArgs::new()).unwrap();
    assert!(image::load_from_memory(&png).is_ok());
    let mut g = chain(2);
    g.nodes.push(hollow);
    for dir in ["TB", "LR"] {
        let opts = PlotModelArgs::new().expand_nested(true).rankdir(dir);
        let svg = model_to_svg(&g, opts.clone()).unwrap();
        assert_eq!(drawing(&svg).clusters.len(), 1);
        assert!(model_to_png(&g, opts.clone()).is_ok());
        assert!(model_to_dot(&g, opts).unwrap().contains("subgraph cluster_hollow {"));
    }
    let mut g = chain(4);
    g.edges.push((3, 0));
    g.edges.push((2, 2));
    g.nodes[1].name = "a<&>\"'b\u{1}".into();
    let svg = model_to_svg(&g, PlotModelArgs::new().show_layer_names(true)).unwrap();
    roxmltree::Document::parse_with_options(
        &svg,
        roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() },
    )
    .unwrap();
    assert!(model_to_png(&g, PlotModelArgs::new()).is_ok());
    assert!(model_to_dot(&g, PlotModelArgs::new()).unwrap().contains("a&lt;&amp;&gt;"));
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Synthetic graphs and their geometry.

/// Adds a layer box fed by `inputs`; returns its id.
fn layer(g: &mut PlotGraph, name: &str, class: &str, inputs: &[usize]) -> usize {
    let id = g.nodes.len();
    let mut node = PlotNode::new(id, name, class);
    node.input_shapes = vec!["(None, 32)".into(); inputs.len().max(1)];
    node.output_shapes = vec!["(None, 32)".into()];
    node.dtype = "float32".into();
    node.has_weights = class != "Add";
    g.nodes.push(node);
    for &i in inputs {
        g.edges.push((i, id));
    }
    if inputs.is_empty() {
        g.inputs.push(id);
    }
    id
}

fn chain(n: usize) -> PlotGraph {
    let mut g = PlotGraph::new("chain", "Sequential");
    let mut prev = layer(&mut g, "dense_0", "Dense", &[]);
    for i in 1..n {
        prev = layer(&mut g, &format!("dense_{i}"), "Dense", &[prev]);
    }
    g.outputs.push(prev);
    g
}

fn residual(blocks: usize) -> PlotGraph {
    let mut g = PlotGraph::new("resnet", "Functional");
    let x = layer(&mut g, "input", "InputLayer", &[]);
    let mut h = layer(&mut g, "stem", "Conv2D", &[x]);
    for b in 0..blocks {
        let c1 = layer(&mut g, &format!("b{b}_conv1"), "Conv2D", &[h]);
        let n1 = layer(&mut g, &format!("b{b}_bn"), "BatchNormalization", &[c1]);
        let c2 = layer(&mut g, &format!("b{b}_conv2"), "Conv2D", &[n1]);
        // Every other block has a projection shortcut (a box on the skip path).
        let skip = if b % 2 == 1 { layer(&mut g, &format!("b{b}_proj"), "Conv2D", &[h]) } else { h };
        h = layer(&mut g, &format!("b{b}_add"), "Add", &[c2, skip]);
    }
    let o = layer(&mut g, "head", "Dense", &[h]);
    g.outputs.push(o);
    g
}

fn inception(branches: usize) -> PlotGraph {
    let mut g = PlotGraph::new("inception", "Functional");
    let x = layer(&mut g, "input", "InputLayer", &[]);
    let mut ends = Vec::new();
    for b in 0..branches {
        let mut h = layer(&mut g, &format!("branch{b}_a"), "Conv2D", &[x]);
        for d in 0..b % 3 {
            h = layer(&mut g, &format!("branch{b}_{d}"), "Conv2D", &[h]);
        }
        ends.push(h);
    }
    let c = layer(&mut g, "mixed", "Concatenate", &ends);
    let o = layer(&mut g, "head", "Dense", &[c, x]);
    g.outputs.push(o);
    g
}

fn two_in_two_out() -> PlotGraph {
    let mut g = PlotGraph::new("two_by_two", "Functional");
    let a = layer(&mut g, "a", "InputLayer", &[]);
    let b = layer(&mut g, "b", "InputLayer", &[]);
    let fa = layer(&mut g, "fa", "Dense", &[a]);
    let deep = layer(&mut g, "fa2", "Dense", &[fa]);
    let fb = layer(&mut g, "fb", "Dense", &[b]);
    let c = layer(&mut g, "concat", "Concatenate", &[deep, fb]);
    let o1 = layer(&mut g, "out1", "Dense", &[c]);
    let o2 = layer(&mut g, "out2", "Dense", &[c, fb]);
    g.outputs.extend([o1, o2]);
    g
}

/// Two inputs, each through its own nested Sequential encoder (ids 2 and 3), joined; a
/// second head reads the document encoder.
fn nested_two_tower() -> PlotGraph {
    let encoder = |name: &str| {
        let mut e = PlotGraph::new(name, "Sequential");
        let d1 = layer(&mut e, &format!("{name}_d1"), "Dense", &[]);
        let d2 = layer(&mut e, &format!("{name}_d2"), "Dense", &[d1]);
        e.outputs.push(d2);
        e
    };
    let mut g = PlotGraph::new("two_tower", "Functional");
    let q = layer(&mut g, "query", "InputLayer", &[]);
    let d = layer(&mut g, "document", "InputLayer", &[]);
    for (id, name) in [(2, "query_encoder"), (3, "document_encoder")] {
        let mut n = PlotNode::new(id, name, "Sequential");
        n.nested = Some(encoder(name));
        n.has_weights = true;
        g.nodes.push(n);
    }
    g.edges.push((q, 2));
    g.edges.push((d, 3));
    let s = layer(&mut g, "similarity", "Dot", &[2, 3]);
    let o = layer(&mut g, "score", "Dense", &[s]);
    let t = layer(&mut g, "topic", "Dense", &[3]);
    g.outputs.extend([o, t]);
    g
}

/// A nested Functional model with two inputs and two outputs inside a nested model.
fn deeply_nested() -> PlotGraph {
    let mut inner = PlotGraph::new("inner", "Functional");
    let i1 = layer(&mut inner, "inner_in1", "InputLayer", &[]);
    let i2 = layer(&mut inner, "inner_in2", "InputLayer", &[]);
    let s = layer(&mut inner, "inner_add", "Add", &[i1, i2]);
    let h1 = layer(&mut inner, "inner_h1", "Dense", &[s]);
    let h2 = layer(&mut inner, "inner_h2", "Dense", &[s]);
    inner.outputs.extend([h1, h2]);
    let mut middle = PlotGraph::new("middle", "Functional");
    let m1 = layer(&mut middle, "middle_in1", "InputLayer", &[]);
    let m2 = layer(&mut middle, "middle_in2", "InputLayer", &[]);
    let pre = layer(&mut middle, "middle_pre", "Dense", &[m2]);
    let mut node = PlotNode::new(3, "inner", "Functional");
    node.nested = Some(inner);
    middle.nodes.push(node);
    middle.edges.push((m1, 3));
    middle.edges.push((pre, 3));
    let post = layer(&mut middle, "middle_post", "Dense", &[3]);
    middle.edge_ports = vec![(0, 0), (0, 0), (0, 1), (1, 0)];
    middle.outputs.extend([post, 3]);
    let mut g = PlotGraph::new("outer", "Functional");
    let a = layer(&mut g, "a", "InputLayer", &[]);
    let b = layer(&mut g, "b", "InputLayer", &[]);
    let mut node = PlotNode::new(2, "middle", "Functional");
    node.nested = Some(middle);
    g.nodes.push(node);
    g.edges.push((a, 2));
    g.edges.push((b, 2));
    let o1 = layer(&mut g, "o1", "Dense", &[2]);
    let o2 = layer(&mut g, "o2", "Dense", &[2]);
    g.edge_ports = vec![(0, 0), (0, 1), (0, 0), (1, 0)];
    g.outputs.extend([o1, o2]);
    g
}

#[derive(Debug, Clone, Copy)]
struct Box2 {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl Box2 {
    fn overlaps(&self, o: &Box2) -> bool {
        self.x0 < o.x1 - 0.01 && o.x0 < self.x1 - 0.01 && self.y0 < o.y1 - 0.01 && o.y0 < self.y1 - 0.01
    }
    /// Strictly inside, by more than `m`.
    fn contains_inner(&self, p: (f64, f64), m: f64) -> bool {
        p.0 > self.x0 + m && p.0 < self.x1 - m && p.1 > self.y0 + m && p.1 < self.y1 - m
    }
    fn on_border(&self, p: (f64, f64)) -> bool {
        let within = |v: f64, a: f64, b: f64| v >= a - 0.05 && v <= b + 0.05;
        within(p.0, self.x0, self.x1)
            && within(p.1, self.y0, self.y1)
            && ((p.0 - self.x0).abs() < 0.05
                || (p.0 - self.x1).abs() < 0.05
                || (p.1 - self.y0).abs() < 0.05
                || (p.1 - self.y1).abs() < 0.05)
    }
    fn inside(&self, o: &Box2) -> bool {
        self.x0 >= o.x0 - 0.01 && self.x1 <= o.x1 + 0.01 && self.y0 >= o.y0 - 0.01 && self.y1 <= o.y1 + 0.01
    }
}

/// An edge path as drawn: sampled points, whether it is all right angles, its arrowhead's tip.
type DrawnPath = (Vec<(f64, f64)>, bool, Option<(f64, f64)>);

/// What the SVG shows: boxes by layer name, clusters by model name, edge paths.
struct Drawing {
    boxes: HashMap<String, Box2>,
    clusters: HashMap<String, Box2>,
    /// The box of each cluster's label text.
    labels: Vec<Box2>,
    paths: Vec<DrawnPath>,
}

fn rect(n: roxmltree::Node<'_, '_>) -> Box2 {
    let f = |a: &str| n.attribute(a).unwrap().parse::<f64>().unwrap();
    Box2 { x0: f("x"), y0: f("y"), x1: f("x") + f("width"), y1: f("y") + f("height") }
}

fn parse_points(s: &str) -> Vec<(f64, f64)> {
    s.split_whitespace()
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

/// Path `d` as sampled points (cubic curves at 16 points each); true when every piece is a
/// horizontal or vertical line.
fn sample_path(d: &str) -> (Vec<(f64, f64)>, bool) {
    let mut pts: Vec<(f64, f64)> = Vec::new();
    let mut ortho = true;
    let tokens: Vec<&str> = d.split_whitespace().collect();
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i];
        let (cmd, first) = t.split_at(1);
        let p = |s: &str| parse_points(s)[0];
        match cmd {
            "M" | "L" => {
                let q = p(first);
                if let Some(&last) = pts.last() {
                    if (last.0 - q.0).abs() > 0.01 && (last.1 - q.1).abs() > 0.01 {
                        ortho = false;
                    }
                }
                pts.push(q);
                i += 1;
            }
            "C" => {
                ortho = false;
                let (c1, c2, q) = (p(first), p(tokens[i + 1]), p(tokens[i + 2]));
                let a = *pts.last().unwrap();
                for k in 1..=16 {
                    let t = k as f64 / 16.0;
                    let u = 1.0 - t;
                    let b = |a: f64, b: f64, c: f64, d: f64| {
                        u * u * u * a + 3.0 * u * u * t * b + 3.0 * u * t * t * c + t * t * t * d
                    };
                    pts.push((b(a.0, c1.0, c2.0, q.0), b(a.1, c1.1, c2.1, q.1)));
                }
                i += 3;
            }
            other => panic!("unexpected path command {other}"),
        }
    }
    (pts, ortho)
}

fn drawing(svg: &str) -> Drawing {
    let doc = roxmltree::Document::parse_with_options(
        svg,
        roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() },
    )
    .unwrap();
    let mut d =
        Drawing { boxes: HashMap::new(), clusters: HashMap::new(), labels: Vec::new(), paths: Vec::new() };
    for g in doc.descendants().filter(|n| n.has_tag_name("g")) {
        let title = || {
            g.children().find(|c| c.has_tag_name("title")).and_then(|t| t.text()).unwrap_or("").to_string()
        };
        match g.attribute("class") {
            Some("node") => {
                let r = g.children().find(|c| c.has_tag_name("rect")).unwrap();
                assert!(d.boxes.insert(title(), rect(r)).is_none(), "layer names are unique here");
            }
            Some("cluster") => {
                let r = g.children().find(|c| c.has_tag_name("rect")).unwrap();
                d.clusters.insert(title(), rect(r));
                let t = g.children().find(|c| c.has_tag_name("text")).unwrap();
                let f = |a: &str| t.attribute(a).unwrap().parse::<f64>().unwrap();
                let size = f("font-size");
                d.labels.push(Box2 {
                    x0: f("x"),
                    y0: f("y") - 0.75 * size,
                    x1: f("x") + f("textLength"),
                    y1: f("y") + 0.2 * size,
                });
            }
            Some("edge") => {
                let path = g.children().find(|c| c.has_tag_name("path")).unwrap();
                let (pts, ortho) = sample_path(path.attribute("d").unwrap());
                let tip = g
                    .children()
                    .find(|c| c.has_tag_name("polygon"))
                    .map(|p| parse_points(p.attribute("points").unwrap())[0]);
                d.paths.push((pts, ortho, tip));
            }
            _ => {}
        }
    }
    d
}

/// Every layer-to-layer edge of `g` as drawn (nested models expanded or not), by name.
fn expected_edges(g: &PlotGraph, expand: bool) -> HashSet<(String, String)> {
    fn first_in(g: &PlotGraph, id: usize, port: usize, expand: bool) -> String {
        let n = g.nodes.iter().find(|n| n.id == id).unwrap();
        match (&n.nested, expand) {
            (Some(inner), true) => {
                let k = inner.inputs.get(port).copied().unwrap_or(inner.inputs[0]);
                first_in(inner, k, port, expand)
            }
            _ => n.name.clone(),
        }
    }
    fn last_out(g: &PlotGraph, id: usize, port: usize, expand: bool) -> String {
        let n = g.nodes.iter().find(|n| n.id == id).unwrap();
        match (&n.nested, expand) {
            (Some(inner), true) => last_out(inner, inner.outputs[port], 0, expand),
            _ => n.name.clone(),
        }
    }
    let mut out = HashSet::new();
    let mut seen_in: HashMap<usize, usize> = HashMap::new();
    for (k, &(a, b)) in g.edges.iter().enumerate() {
        let (po, pi) = g.edge_ports.get(k).copied().unwrap_or_else(|| {
            let c = seen_in.entry(b).or_insert(0);
            *c += 1;
            (0, *c - 1)
        });
        if a != b {
            out.insert((last_out(g, a, po, expand), first_in(g, b, pi, expand)));
        }
    }
    if expand {
        for n in &g.nodes {
            if let Some(inner) = &n.nested {
                out.extend(expected_edges(inner, expand));
            }
        }
    }
    out
}

/// Checks a drawing: no overlapping boxes; clusters hold their layers and do not overlap each
/// other unless nested; edge paths stay out of boxes; every drawn path chain goes from a
/// producer's box to a consumer's box; the drawn connections are exactly the model's; the
/// consumer is below (TB) or right of (LR) its producer.
fn check_drawing(g: &PlotGraph, opts: PlotModelArgs) {
    let expand = opts.expand_nested;
    let rankdir = opts.rankdir.clone();
    let ortho = opts.splines == "ortho";
    let svg = model_to_svg(g, opts).unwrap();
    let d = drawing(&svg);
    let names: Vec<&String> = d.boxes.keys().collect();
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            assert!(!d.boxes[*a].overlaps(&d.boxes[*b]), "{}: boxes {a} and {b} overlap", g.name);
        }
    }
    // Clusters: each holds the boxes of its model's layers.
    fn members(g: &PlotGraph, expand: bool, out: &mut HashMap<String, Vec<String>>) {
        for n in &g.nodes {
            if let (Some(inner), true) = (&n.nested, expand) {
                let mut names = Vec::new();
                fn leaves(g: &PlotGraph, names: &mut Vec<String>) {
                    for n in &g.nodes {
                        match &n.nested {
                            Some(i) => leaves(i, names),
                            None => names.push(n.name.clone()),
                        }
                    }
                }
                leaves(inner, &mut names);
                out.insert(inner.name.clone(), names);
                members(inner, expand, out);
            }
        }
    }
    let mut held = HashMap::new();
    members(g, expand, &mut held);
    assert_eq!(held.len(), d.clusters.len(), "{}: one cluster per expanded model", g.name);
    for (c, names) in &held {
        for n in names {
            assert!(d.boxes[n].inside(&d.clusters[c]), "{}: {n} outside cluster {c}", g.name);
        }
        for (o, _) in held.iter().filter(|(o, _)| *o != c) {
            let (a, b) = (d.clusters[c], d.clusters[o]);
            assert!(
                !a.overlaps(&b) || a.inside(&b) || b.inside(&a),
                "{}: clusters {c} and {o} overlap",
                g.name
            );
        }
    }
    // Paths: stay out of every box (a point more than 0.5pt inside one is a crossing).
    for (pts, is_ortho, _) in &d.paths {
        if ortho {
            assert!(*is_ortho, "{} ({rankdir}): an edge is not made of right angles: {pts:?}", g.name);
        }
        for w in pts.windows(2) {
            for k in 0..=20 {
                let t = k as f64 / 20.0;
                let p = (w[0].0 + (w[1].0 - w[0].0) * t, w[0].1 + (w[1].1 - w[0].1) * t);
                for (name, b) in &d.boxes {
                    assert!(!b.contains_inner(p, 0.5), "{}: an edge crosses box {name} at {p:?}", g.name);
                }
                if !rankdir.starts_with(['L', 'R']) {
                    for l in &d.labels {
                        assert!(
                            !l.contains_inner(p, 0.0),
                            "{} ({rankdir}): an edge crosses a cluster label",
                            g.name
                        );
                    }
                }
            }
        }
    }
    // Chains of paths: a path starts on a box border or where another path ends (a cluster
    // border); follow them to the arrowheads.
    let box_at = |p: (f64, f64)| -> Option<String> {
        d.boxes.iter().find(|(_, b)| b.on_border(p)).map(|(n, _)| n.clone())
    };
    let close = |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).abs() < 0.05 && (a.1 - b.1).abs() < 0.05;
    let mut drawn = HashSet::new();
    for (start_i, (pts, _, _)) in d.paths.iter().enumerate() {
        let Some(src) = box_at(pts[0]) else { continue };
        let mut stack = vec![start_i];
        let mut seen = HashSet::new();
        while let Some(i) = stack.pop() {
            if !seen.insert(i) {
                continue;
            }
            let (pts, _, tip) = &d.paths[i];
            match tip {
                Some(tip) => {
                    let dst =
                        box_at(*tip).unwrap_or_else(|| panic!("{}: an arrowhead points at no box", g.name));
                    drawn.insert((src.clone(), dst));
                }
                None => {
                    let end = *pts.last().unwrap();
                    let next: Vec<usize> =
                        (0..d.paths.len()).filter(|&j| close(d.paths[j].0[0], end)).collect();
                    assert!(!next.is_empty(), "{}: a path from {src} ends nowhere", g.name);
                    stack.extend(next);
                }
            }
        }
    }
    let expected = expected_edges(g, expand);
    assert_eq!(drawn, expected, "{}: drawn connections differ from the model's", g.name);
    // Direction: consumers after producers.
    for (a, b) in &expected {
        let (ba, bb) = (d.boxes[a], d.boxes[b]);
        let ok = match rankdir.as_str() {
            "TB" => bb.y0 >= ba.y1,
            "BT" => bb.y1 <= ba.y0,
            "LR" => bb.x0 >= ba.x1,
            _ => bb.x1 <= ba.x0,
        };
        assert!(ok, "{}: {b} is not after {a} ({rankdir})", g.name);
    }
}

fn all_views() -> Vec<PlotModelArgs> {
    let base = PlotModelArgs::new().show_layer_names(true).show_shapes(true);
    vec![
        base.clone(),
        base.clone().rankdir("LR"),
        base.clone().rankdir("BT"),
        base.clone().rankdir("RL").show_shapes(false),
        base.clone().splines("polyline"),
        base.clone().splines("spline").rankdir("LR"),
        base.clone().show_dtype(true).show_layer_activations(true).show_trainable(true),
    ]
}

#[test]
fn layouts_of_branching_models_are_clean() {
    for g in [residual(4), inception(4), inception(6), two_in_two_out()] {
        for opts in all_views() {
            check_drawing(&g, opts);
        }
    }
}

#[test]
fn a_fifty_layer_chain_is_one_straight_column() {
    let g = chain(50);
    check_drawing(&g, PlotModelArgs::new().show_layer_names(true));
    let d = drawing(&model_to_svg(&g, PlotModelArgs::new().show_layer_names(true)).unwrap());
    let centers: Vec<f64> = d.boxes.values().map(|b| (b.x0 + b.x1) / 2.0).collect();
    let spread =
        centers.iter().cloned().fold(f64::MIN, f64::max) - centers.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread < 0.02, "every box centred on one vertical line: {spread}");
    assert_eq!(d.paths.len(), 49);
}

#[test]
fn a_residual_main_path_stays_straight() {
    let g = residual(3);
    let d = drawing(&model_to_svg(&g, PlotModelArgs::new().show_layer_names(true)).unwrap());
    let cx = |n: &str| (d.boxes[n].x0 + d.boxes[n].x1) / 2.0;
    for b in 0..3 {
        assert!((cx(&format!("b{b}_conv1")) - cx(&format!("b{b}_conv2"))).abs() < 1.0);
        assert!((cx(&format!("b{b}_conv2")) - cx(&format!("b{b}_add"))).abs() < 1.0);
    }
}

#[test]
fn nested_models_are_clusters_with_edges_into_the_right_layers() {
    for g in [nested_two_tower(), deeply_nested()] {
        for opts in all_views() {
            check_drawing(&g, opts.clone().expand_nested(true));
            check_drawing(&g, opts);
        }
    }
}

#[test]
fn a_graph_of_any_source_can_be_drawn() {
    // A user's own model type, through the trait.
    struct Tiny;
    impl ToPlotGraph for Tiny {
        fn to_plot_graph(&self) -> keras::Result<PlotGraph> {
            Ok(chain(2))
        }
    }
    let dot = model_to_dot(&Tiny, PlotModelArgs::new()).unwrap();
    assert_eq!(dot.matches(" -> ").count(), 1);
}

/// xorshift64*: a small seeded generator for the random graphs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A random DAG: each node after the first reads one to three earlier nodes, sometimes none
/// (another input); names carry `prefix`.
fn random_dag(rng: &mut Rng, prefix: &str, n: usize) -> PlotGraph {
    let mut g = PlotGraph::new(prefix, "Functional");
    for i in 0..n {
        let mut inputs: Vec<usize> = Vec::new();
        if i > 0 && rng.below(6) != 0 {
            for _ in 0..1 + rng.below(3) {
                let j = i - 1 - rng.below(i.min(6));
                if !inputs.contains(&j) {
                    inputs.push(j);
                }
            }
        }
        let class = ["Dense", "Conv2D", "BatchNormalization", "Add"][rng.below(4)];
        layer(&mut g, &format!("{prefix}_{i}"), class, &inputs);
    }
    let consumed: HashSet<usize> = g.edges.iter().map(|e| e.0).collect();
    g.outputs = (0..n).filter(|i| !consumed.contains(i)).collect();
    g.edge_ports = vec![(0, 0); g.edges.len()];
    g
}

#[test]
fn random_graphs_draw_cleanly() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0..120 {
        let n = 2 + rng.below(24);
        let mut g = random_dag(&mut rng, &format!("m{case}"), n);
        // Some nodes become nested models: edges into them pick one of their inputs, edges
        // out of them one of their outputs.
        for k in 0..rng.below(3) {
            let id = rng.below(n);
            if g.nodes[id].nested.is_some() {
                continue;
            }
            let size = 2 + rng.below(6);
            let mut inner = random_dag(&mut rng, &format!("m{case}_sub{k}"), size);
            if rng.below(3) == 0 {
                let deeper = 2 + rng.below(3);
                let mut d = random_dag(&mut rng, &format!("m{case}_sub{k}_deep"), deeper);
                let slot = rng.below(inner.nodes.len());
                d.name = inner.nodes[slot].name.clone();
                fix_ports(&mut inner, slot, &d, &mut rng);
                inner.nodes[slot].nested = Some(d);
            }
            fix_ports(&mut g, id, &inner, &mut rng);
            inner.name = g.nodes[id].name.clone();
            g.nodes[id].nested = Some(inner);
        }
        for opts in [
            PlotModelArgs::new().show_layer_names(true),
            PlotModelArgs::new().show_layer_names(true).show_shapes(true).rankdir("LR"),
            PlotModelArgs::new().show_layer_names(true).splines("spline"),
        ] {
            check_drawing(&g, opts.clone().expand_nested(true));
            check_drawing(&g, opts);
        }
    }
}

/// Gives the edges touching node `id` of `g` ports that exist on the model `inner` it becomes.
fn fix_ports(g: &mut PlotGraph, id: usize, inner: &PlotGraph, rng: &mut Rng) {
    for (k, &(a, b)) in g.edges.iter().enumerate() {
        if b == id {
            g.edge_ports[k].1 = rng.below(inner.inputs.len());
        }
        if a == id {
            g.edge_ports[k].0 = rng.below(inner.outputs.len());
        }
    }
}
