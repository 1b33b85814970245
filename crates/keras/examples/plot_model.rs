//! Draws a few models with `plot_model`: a Sequential MLP, a residual CNN, an Inception
//! block, a model with a nested model (expanded), and a 50-layer chain; PNG and SVG.
//!
//! `cargo run --release -p keras --example plot_model -- [output folder]`
//! (`two_tower.png` is the README's figure, `docs/images/plot_model_two_tower.png`; with
//! `PLOT_MODEL_ALL=1` set, more: every rankdir and spline style, a densely connected block.)

use keras::layers::{Dense, Dropout, Input};
use keras::models::Sequential;
use keras::utils::plot_model::{plot_model, PlotGraph, PlotModelArgs, PlotNode};

/// Adds a layer box to `g` and returns its id.
fn layer(
    g: &mut PlotGraph,
    name: &str,
    class: &str,
    inputs: &[usize],
    out: &str,
    activation: Option<&str>,
) -> usize {
    let id = g.nodes.len();
    let mut node = PlotNode::new(id, name, class);
    node.input_shapes = inputs.iter().map(|&i| g.nodes[i].output_shapes[0].clone()).collect();
    node.output_shapes = vec![out.to_string()];
    node.dtype = "float32".into();
    node.activation = activation.map(str::to_string);
    node.has_weights = matches!(class, "Conv2D" | "Dense" | "BatchNormalization" | "SeparableConv2D");
    g.nodes.push(node);
    for &i in inputs {
        g.edges.push((i, id));
    }
    if inputs.is_empty() {
        g.inputs.push(id);
    }
    id
}

fn residual_cnn() -> PlotGraph {
    let mut g = PlotGraph::new("residual_cnn", "Functional");
    let x = layer(&mut g, "image", "InputLayer", &[], "(None, 28, 28, 1)", None);
    let mut h = layer(&mut g, "stem", "Conv2D", &[x], "(None, 28, 28, 32)", Some("relu"));
    for b in 1..=2 {
        let c1 =
            layer(&mut g, &format!("block{b}_conv1"), "Conv2D", &[h], "(None, 28, 28, 32)", Some("linear"));
        let n1 =
            layer(&mut g, &format!("block{b}_bn1"), "BatchNormalization", &[c1], "(None, 28, 28, 32)", None);
        let r1 = layer(
            &mut g,
            &format!("block{b}_relu1"),
            "Activation",
            &[n1],
            "(None, 28, 28, 32)",
            Some("relu"),
        );
        let c2 =
            layer(&mut g, &format!("block{b}_conv2"), "Conv2D", &[r1], "(None, 28, 28, 32)", Some("linear"));
        let n2 =
            layer(&mut g, &format!("block{b}_bn2"), "BatchNormalization", &[c2], "(None, 28, 28, 32)", None);
        let add = layer(&mut g, &format!("block{b}_add"), "Add", &[n2, h], "(None, 28, 28, 32)", None);
        h = layer(&mut g, &format!("block{b}_out"), "Activation", &[add], "(None, 28, 28, 32)", Some("relu"));
    }
    let p = layer(&mut g, "pool", "GlobalAveragePooling2D", &[h], "(None, 32)", None);
    let o = layer(&mut g, "classes", "Dense", &[p], "(None, 10)", Some("softmax"));
    g.outputs.push(o);
    g
}

fn inception() -> PlotGraph {
    let mut g = PlotGraph::new("inception_block", "Functional");
    let x = layer(&mut g, "input", "InputLayer", &[], "(None, 32, 32, 192)", None);
    let b1 = layer(&mut g, "branch1x1", "Conv2D", &[x], "(None, 32, 32, 64)", Some("relu"));
    let b2a = layer(&mut g, "branch3x3_reduce", "Conv2D", &[x], "(None, 32, 32, 96)", Some("relu"));
    let b2 = layer(&mut g, "branch3x3", "Conv2D", &[b2a], "(None, 32, 32, 128)", Some("relu"));
    let b3a = layer(&mut g, "branch5x5_reduce", "Conv2D", &[x], "(None, 32, 32, 16)", Some("relu"));
    let b3 = layer(&mut g, "branch5x5", "Conv2D", &[b3a], "(None, 32, 32, 32)", Some("relu"));
    let b4a = layer(&mut g, "branch_pool", "MaxPooling2D", &[x], "(None, 32, 32, 192)", None);
    let b4 = layer(&mut g, "branch_pool_proj", "Conv2D", &[b4a], "(None, 32, 32, 32)", Some("relu"));
    let c = layer(&mut g, "mixed", "Concatenate", &[b1, b2, b3, b4], "(None, 32, 32, 256)", None);
    g.outputs.push(c);
    g
}

fn nested() -> PlotGraph {
    let mut encoder = PlotGraph::new("encoder", "Sequential");
    let e1 = layer(&mut encoder, "enc_dense_1", "Dense", &[], "(None, 64)", Some("relu"));
    encoder.nodes[e1].input_shapes = vec!["(None, 128)".into()];
    let e2 = layer(&mut encoder, "enc_dense_2", "Dense", &[e1], "(None, 16)", Some("relu"));
    encoder.outputs.push(e2);

    let mut g = PlotGraph::new("two_tower", "Functional");
    let q = layer(&mut g, "query", "InputLayer", &[], "(None, 128)", None);
    let d = layer(&mut g, "document", "InputLayer", &[], "(None, 128)", None);
    let mut enc_q = PlotNode::new(2, "query_encoder", "Sequential");
    enc_q.input_shapes = vec!["(None, 128)".into()];
    enc_q.output_shapes = vec!["(None, 16)".into()];
    enc_q.dtype = "float32".into();
    enc_q.has_weights = true;
    let mut q_graph = encoder.clone();
    q_graph.name = "query_encoder".into();
    enc_q.nested = Some(q_graph);
    let mut enc_d = enc_q.clone();
    enc_d.id = 3;
    enc_d.name = "document_encoder".into();
    enc_d.nested.as_mut().unwrap().name = "document_encoder".into();
    g.nodes.push(enc_q);
    g.nodes.push(enc_d);
    g.edges.push((q, 2));
    g.edges.push((d, 3));
    let dot = layer(&mut g, "similarity", "Dot", &[2, 3], "(None, 1)", None);
    let out = layer(&mut g, "score", "Dense", &[dot], "(None, 1)", Some("sigmoid"));
    let aux = layer(&mut g, "doc_topic", "Dense", &[3], "(None, 20)", Some("softmax"));
    g.outputs.extend([out, aux]);
    g
}

/// A densely connected block: every layer reads the concatenation of all earlier outputs.
fn dense_block(n: usize) -> PlotGraph {
    let mut g = PlotGraph::new("dense_block", "Functional");
    let mut outs = vec![layer(&mut g, "input", "InputLayer", &[], "(None, 8, 8, 64)", None)];
    for i in 0..n {
        let cat = if outs.len() > 1 {
            layer(&mut g, &format!("concat_{i}"), "Concatenate", &outs.clone(), "(None, 8, 8, 96)", None)
        } else {
            outs[0]
        };
        let conv = layer(&mut g, &format!("conv_{i}"), "Conv2D", &[cat], "(None, 8, 8, 32)", Some("relu"));
        outs.push(conv);
    }
    g.outputs.push(*outs.last().unwrap());
    g
}

fn chain(n: usize) -> PlotGraph {
    let mut g = PlotGraph::new("deep_chain", "Sequential");
    let mut prev = layer(&mut g, "dense_0", "Dense", &[], "(None, 64)", Some("relu"));
    g.nodes[prev].input_shapes = vec!["(None, 64)".into()];
    for i in 1..n {
        prev = layer(&mut g, &format!("dense_{i}"), "Dense", &[prev], "(None, 64)", Some("relu"));
    }
    g.outputs.push(prev);
    g
}

fn main() -> keras::Result<()> {
    let out = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "plot_model_out".into()));
    std::fs::create_dir_all(&out)?;

    let mut mlp = Sequential::new().with_name("mlp");
    mlp.add(Input::new(&[784]))?;
    mlp.add(Dense::new(64).activation("relu").name("hidden"))?;
    mlp.add(Dropout::new(0.2))?;
    mlp.add(Dense::new(10).activation("softmax").name("probs"))?;
    let shapes = PlotModelArgs::new().show_shapes(true).show_layer_names(true);
    plot_model(&mlp, out.join("mlp.png"), shapes.clone().show_layer_activations(true).show_trainable(true))?;
    plot_model(&mlp, out.join("mlp_lr.png"), PlotModelArgs::new().rankdir("LR"))?;

    let residual = residual_cnn();
    plot_model(&residual, out.join("residual.png"), shapes.clone())?;
    plot_model(&residual, out.join("residual.svg"), shapes.clone())?;
    plot_model(&residual, out.join("residual_spline.png"), shapes.clone().splines("spline"))?;
    plot_model(&residual, out.join("residual_lr.png"), shapes.clone().rankdir("LR"))?;
    let inc = inception();
    plot_model(&inc, out.join("inception.png"), shapes.clone())?;
    plot_model(&inc, out.join("inception_polyline.png"), shapes.clone().splines("polyline"))?;
    let two = nested();
    plot_model(&two, out.join("nested.png"), shapes.clone())?;
    plot_model(&two, out.join("nested_expanded.png"), shapes.clone().expand_nested(true))?;
    // The README's figure.
    plot_model(&two, out.join("two_tower.png"), shapes.clone().expand_nested(true).dpi(96))?;
    plot_model(&two, out.join("nested_expanded_lr.png"), shapes.clone().expand_nested(true).rankdir("LR"))?;
    plot_model(&chain(50), out.join("chain50.png"), PlotModelArgs::new().dpi(72))?;
    if std::env::var_os("PLOT_MODEL_ALL").is_some() {
        plot_model(
            &dense_block(4),
            out.join("dense_block.png"),
            PlotModelArgs::new().show_layer_names(true).dpi(72),
        )?;
        let narrow = PlotModelArgs::new().show_layer_names(true).expand_nested(true).dpi(72);
        plot_model(&two, out.join("two_narrow.png"), narrow.clone())?;
        plot_model(&two, out.join("two_narrow_bt.png"), narrow.rankdir("BT"))?;
        for (dir, splines) in [("BT", "spline"), ("RL", "polyline"), ("TB", "line"), ("LR", "curved")] {
            let o = shapes.clone().expand_nested(true).rankdir(dir).splines(splines).dpi(72);
            plot_model(&two, out.join(format!("two_{dir}_{splines}.png")), o.clone())?;
            plot_model(&inc, out.join(format!("inc_{dir}_{splines}.png")), o)?;
        }
    }
    println!("wrote plots to {}", out.display());
    Ok(())
}
