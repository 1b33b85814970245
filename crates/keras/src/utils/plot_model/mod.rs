//! `keras.utils.plot_model` and `keras.utils.model_to_dot`: a drawing of a model's layers and
//! connections, written as DOT, SVG or PNG, with no Graphviz to install.
//!
//! Keras 3 (`keras/src/utils/model_visualization.py`) builds a DOT graph with pydot, one
//! HTML-like table per layer, and hands it to Graphviz. Here the same DOT text is produced
//! ([`model_to_dot`], byte for byte as Keras writes it, up to the Python object ids that name
//! the nodes), and the drawing is made in Rust: a layered (Sugiyama-style) layout of the same
//! boxes (rank assignment, crossing reduction, coordinate assignment, orthogonal or curved edge
//! routing, dashed clusters for expanded nested models), written by our own SVG writer or
//! rasterised to PNG with an embedded font (Liberation Sans, SIL Open Font License, see
//! `fonts/LICENSE`). Sizes follow Graphviz's conventions: coordinates are in points
//! (1/72 inch), ranks are 0.5 inch apart, boxes 0.25 inch apart, and `dpi` scales the image
//! (a PNG is `points * dpi / 72` pixels wide).
//!
//! A model is drawn from a [`PlotGraph`], its description: the model types implement
//! [`ToPlotGraph`] ([`Sequential`](crate::models::Sequential),
//! [`Functional`](crate::models::Functional) with its shared layers and nested models, and
//! [`AnyModel`](crate::models::AnyModel)), and any other graph can be described by hand.
//!
//! ```
//! use keras::layers::{Dense, Dropout, Input};
//! use keras::models::Sequential;
//! use keras::utils::plot_model::{model_to_dot, plot_model, PlotModelArgs};
//!
//! let mut model = Sequential::new().with_name("mlp");
//! model.add(Input::new(&[784])).unwrap();
//! model.add(Dense::new(64).activation("relu").name("hidden")).unwrap();
//! model.add(Dropout::new(0.2)).unwrap();
//! model.add(Dense::new(10).activation("softmax").name("probs")).unwrap();
//!
//! let dir = std::env::temp_dir().join("keras_plot_model_doc");
//! std::fs::create_dir_all(&dir).unwrap();
//! let options = PlotModelArgs::new().show_shapes(true).show_layer_activations(true);
//! plot_model(&model, dir.join("model.png"), options.clone()).unwrap();
//! plot_model(&model, dir.join("model.svg"), options.clone()).unwrap();
//!
//! let dot = model_to_dot(&model, options).unwrap();
//! assert!(dot.contains("Output shape: <b>(None, 64)</b>"));
//!
//! // Errors are values, never panics.
//! let bad = PlotModelArgs::new().rankdir("XY");
//! assert!(plot_model(&model, dir.join("model.png"), bad).is_err());
//! assert!(plot_model(&model, dir.join("model.pdf"), PlotModelArgs::new()).is_err());
//! ```
//!
//! Submodules:
//! - `dot`: DOT text as Keras's `model_to_dot(...).to_string()` gives it (pydot's layout and quoting)
//! - `font`: The embedded font
//! - `functional`: [`ToPlotGraph`] for [`Functional`](crate::models::Functional)
//! - `graph`: The model description that `plot_model` draws ([`PlotGraph`]), and its flattening into the boxes, clusters and box-to-box edges that Keras's `model_to_dot` emits
//! - `label`: A layer's box
//! - `layout`: Our layered layout of the boxes, clusters and edges of a model drawing
//! - `png`: PNG
//! - `scene`: The drawing as shapes in points, shared by the SVG writer and the PNG rasteriser
//! - `sequential`: [`ToPlotGraph`] for [`Sequential`](crate::models::Sequential)
//! - `svg`: Plain SVG 1.1, laid out as Graphviz writes it
//! - `table`: Geometry of a layer's table, sized the way Graphviz sizes HTML-like tables

mod dot;
mod font;
mod functional;
mod graph;
mod label;
mod layout;
mod png;
mod scene;
mod sequential;
mod svg;
mod table;

use std::path::Path;

use crate::{keras_bail, Error, Result};
use graph::Flat;

pub use graph::{dtypes_repr, shape_repr, PlotGraph, PlotNode, ToPlotGraph};

/// How the image is laid out (Graphviz `rankdir`): the direction the layers flow in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RankDir {
    /// Top to bottom (`"TB"`, the default).
    TopBottom,
    /// Left to right (`"LR"`).
    LeftRight,
    /// Bottom to top (`"BT"`).
    BottomTop,
    /// Right to left (`"RL"`).
    RightLeft,
}

impl RankDir {
    fn parse(s: &str) -> Result<RankDir> {
        Ok(match s {
            "TB" => RankDir::TopBottom,
            "LR" => RankDir::LeftRight,
            "BT" => RankDir::BottomTop,
            "RL" => RankDir::RightLeft,
            _ => keras_bail!(
                InvalidArgument,
                "Invalid value for argument `rankdir`: \"{s}\". Expected one of \"TB\" (top to bottom), \
                 \"LR\" (left to right), \"BT\" or \"RL\"."
            ),
        })
    }

    /// True when ranks are columns (the layers flow horizontally).
    pub(crate) fn horizontal(self) -> bool {
        matches!(self, RankDir::LeftRight | RankDir::RightLeft)
    }
}

/// How edges are drawn (Graphviz `splines`, Keras's `splines` argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Splines {
    /// Right-angle lines (`"ortho"`, Keras's default).
    Ortho,
    /// Straight segments around the boxes (`"polyline"`).
    Polyline,
    /// Smooth curves around the boxes (`"spline"`, `"curved"`, `"true"`).
    Spline,
    /// One straight segment from box to box (`"line"`, `"false"`).
    Line,
}

impl Splines {
    fn parse(s: &str) -> Result<Splines> {
        Ok(match s {
            "ortho" => Splines::Ortho,
            "polyline" => Splines::Polyline,
            "spline" | "curved" | "true" => Splines::Spline,
            "line" | "false" => Splines::Line,
            _ => keras_bail!(
                InvalidArgument,
                "Invalid value for argument `splines`: \"{s}\". Expected one of \"ortho\", \"curved\", \
                 \"polyline\", \"spline\" or \"line\"."
            ),
        })
    }
}

/// The arguments of [`plot_model`] and [`model_to_dot`] (Keras's keyword arguments, same names
/// and defaults), with a builder method per field.
///
/// ```
/// use keras::utils::plot_model::PlotModelArgs;
///
/// let options = PlotModelArgs::new().show_shapes(true).rankdir("LR").dpi(96);
/// assert_eq!(options.rankdir, "LR");
/// assert_eq!(PlotModelArgs::default().dpi, 200);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PlotModelArgs {
    /// Shows each layer's input and output shapes (`show_shapes`, default `false`).
    pub show_shapes: bool,
    /// Shows each layer's output dtype (`show_dtype`, default `false`).
    pub show_dtype: bool,
    /// Shows layer names next to their class (`show_layer_names`). `None` is each function's
    /// Keras default: `false` for [`plot_model`], `true` for [`model_to_dot`].
    pub show_layer_names: Option<bool>,
    /// `"TB"` draws a vertical plot, `"LR"` a horizontal one (`"BT"` and `"RL"`, which Graphviz
    /// also accepts, flip them). Default `"TB"`.
    pub rankdir: String,
    /// Draws nested models as dashed clusters of their layers (`expand_nested`, default `false`).
    pub expand_nested: bool,
    /// Image resolution in dots per inch (`dpi`, default 200): a PNG is `points * dpi / 72`
    /// pixels wide, an SVG `points * dpi / 72` points, as Graphviz makes them.
    pub dpi: u32,
    /// Shows the activation of layers that have one (`show_layer_activations`, default `false`).
    pub show_layer_activations: bool,
    /// Shows whether each layer with weights is trainable (`show_trainable`, default `false`).
    pub show_trainable: bool,
    /// How edges are drawn: `"ortho"` (right angles, the default), `"polyline"`, `"spline"`,
    /// `"curved"` or `"line"` (`splines`).
    pub splines: String,
}

impl Default for PlotModelArgs {
    fn default() -> Self {
        PlotModelArgs {
            show_shapes: false,
            show_dtype: false,
            show_layer_names: None,
            rankdir: "TB".to_string(),
            expand_nested: false,
            dpi: 200,
            show_layer_activations: false,
            show_trainable: false,
            splines: "ortho".to_string(),
        }
    }
}

impl PlotModelArgs {
    /// Keras's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    crate::setters::setters! {
        /// Sets [`show_shapes`](Self::show_shapes).
        show_shapes: bool,
        /// Sets [`show_dtype`](Self::show_dtype).
        show_dtype: bool,
        /// Sets [`show_layer_names`](Self::show_layer_names).
        show_layer_names: bool => Some,
    }

    /// Sets [`rankdir`](Self::rankdir) (checked when the model is drawn).
    pub fn rankdir(mut self, value: impl Into<String>) -> Self {
        self.rankdir = value.into();
        self
    }

    crate::setters::setters! {
        /// Sets [`expand_nested`](Self::expand_nested).
        expand_nested: bool,
        /// Sets [`dpi`](Self::dpi).
        dpi: u32,
        /// Sets [`show_layer_activations`](Self::show_layer_activations).
        show_layer_activations: bool,
        /// Sets [`show_trainable`](Self::show_trainable).
        show_trainable: bool,
    }

    /// Sets [`splines`](Self::splines) (checked when the model is drawn).
    pub fn splines(mut self, value: impl Into<String>) -> Self {
        self.splines = value.into();
        self
    }

    /// The checked settings, with `show_layer_names` resolved to `default_names`.
    fn resolve(&self, default_names: bool) -> Result<Resolved> {
        if self.dpi == 0 {
            keras_bail!(
                InvalidArgument,
                "Invalid value for argument `dpi`: 0. Expected a positive number of dots per inch."
            );
        }
        Ok(Resolved {
            rankdir: RankDir::parse(&self.rankdir)?,
            splines: Splines::parse(&self.splines)?,
            label: label::LabelOptions {
                show_shapes: self.show_shapes,
                show_dtype: self.show_dtype,
                show_layer_names: self.show_layer_names.unwrap_or(default_names),
                show_layer_activations: self.show_layer_activations,
                show_trainable: self.show_trainable,
            },
            expand_nested: self.expand_nested,
            dpi: self.dpi,
            options: self.clone(),
        })
    }
}

/// Options after validation.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) rankdir: RankDir,
    pub(crate) splines: Splines,
    pub(crate) label: label::LabelOptions,
    pub(crate) expand_nested: bool,
    pub(crate) dpi: u32,
    /// The user's strings, written into the DOT text as given.
    pub(crate) options: PlotModelArgs,
}

/// The file formats [`plot_model`] writes, chosen by the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Dot,
    Svg,
    Png,
}

const FORMATS: &str = "dot gv png svg";

fn format_of(path: &Path) -> Result<Format> {
    // Keras: `os.path.splitext`; no extension means PNG.
    let Some(ext) = path.extension() else {
        return Ok(Format::Png);
    };
    let ext = ext.to_string_lossy();
    Ok(match ext.to_ascii_lowercase().as_str() {
        "dot" | "gv" => Format::Dot,
        "svg" => Format::Svg,
        "png" => Format::Png,
        _ => keras_bail!(InvalidArgument, "Format: \"{ext}\" not recognized. Use one of: {FORMATS}"),
    })
}

/// Converts a model to DOT text (Keras `keras.utils.model_to_dot`).
///
/// The text is what Keras's `model_to_dot(model, ...).to_string()` gives: the same graph
/// attributes, node labels (HTML-like tables), clusters and edges, in the same order. Node ids
/// are numbers, as Keras's are (Keras uses Python object ids; here they count from 1). Layer
/// names and shapes are HTML-escaped in the labels, which changes nothing for Keras names.
///
/// `show_layer_names` defaults to `true` here, as in Keras.
///
/// # Errors
///
/// An invalid `rankdir`, `splines` or `dpi`, a model that is not built, or a [`PlotGraph`]
/// whose edges name unknown nodes.
pub fn model_to_dot(model: &dyn ToPlotGraph, options: PlotModelArgs) -> Result<String> {
    let resolved = options.resolve(true)?;
    let graph = model.to_plot_graph()?;
    graph.validate()?;
    Ok(dot::to_dot(&Flat::new(&graph, resolved.expand_nested)?, &resolved))
}

/// Draws a model as SVG text (what [`plot_model`] writes to a `.svg` file).
///
/// `show_layer_names` defaults to `false`, as in Keras's `plot_model`.
///
/// # Errors
///
/// As [`model_to_dot`].
pub fn model_to_svg(model: &dyn ToPlotGraph, options: PlotModelArgs) -> Result<String> {
    let resolved = options.resolve(false)?;
    let scene = draw(model, &resolved)?;
    Ok(svg::to_svg(&scene, resolved.dpi))
}

/// Draws a model as a PNG file's bytes (what [`plot_model`] writes to a `.png` file).
///
/// The image is `points * dpi / 72` pixels on each side, on a white background. As Graphviz
/// does, an image that would be wider or taller than 32767 pixels is scaled down to fit.
///
/// `show_layer_names` defaults to `false`, as in Keras's `plot_model`.
///
/// # Errors
///
/// As [`model_to_dot`].
pub fn model_to_png(model: &dyn ToPlotGraph, options: PlotModelArgs) -> Result<Vec<u8>> {
    let resolved = options.resolve(false)?;
    let scene = draw(model, &resolved)?;
    png::to_png(&scene, resolved.dpi)
}

/// Writes a drawing of a model to `to_file` (Keras `keras.utils.plot_model`).
///
/// The format follows the file extension: `.png` (or no extension, as in Keras), `.svg`, or
/// `.dot`/`.gv` for the DOT text of [`model_to_dot`] (Keras hands `.dot` to Graphviz, which
/// adds its layout's coordinates; here the file is the graph itself, ready for Graphviz).
/// `show_layer_names` defaults to `false`, as in Keras's `plot_model`.
///
/// # Errors
///
/// Another extension (`Format: "pdf" not recognized. Use one of: dot gv png svg`), an invalid
/// `rankdir`, `splines` or `dpi`, a model that is not built, an invalid [`PlotGraph`], or a
/// file that cannot be written.
pub fn plot_model(model: &dyn ToPlotGraph, to_file: impl AsRef<Path>, options: PlotModelArgs) -> Result<()> {
    let path = to_file.as_ref();
    let format = format_of(path)?;
    let resolved = options.resolve(false)?;
    let bytes = match format {
        Format::Dot => {
            let graph = model.to_plot_graph()?;
            graph.validate()?;
            dot::to_dot(&Flat::new(&graph, resolved.expand_nested)?, &resolved).into_bytes()
        }
        Format::Svg => svg::to_svg(&draw(model, &resolved)?, resolved.dpi).into_bytes(),
        Format::Png => png::to_png(&draw(model, &resolved)?, resolved.dpi)?,
    };
    std::fs::write(path, bytes)
        .map_err(|e| Error::Io(format!("Cannot write the model plot to {}: {e}", path.display())))
}

/// Lays the model out and turns it into drawing primitives.
fn draw(model: &dyn ToPlotGraph, resolved: &Resolved) -> Result<scene::Scene> {
    let graph = model.to_plot_graph()?;
    graph.validate()?;
    Ok(scene::build(&Flat::new(&graph, resolved.expand_nested)?, resolved))
}
