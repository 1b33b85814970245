//! PNG: the scene rasterised with tiny-skia (anti-aliased paths) and the embedded font's glyph
//! outlines, encoded by the `image` crate. `dpi` scales points to pixels (72 points per inch).

use image::ImageEncoder;
use tiny_skia::{
    FillRule, LineCap, LineJoin, Paint, PathBuilder, Pixmap, Rect as SkRect, Stroke, StrokeDash, Transform,
};

use super::font::{font, PathSink};
use super::label::Color;
use super::layout::PathSeg;
use super::scene::{Scene, CLUSTER_FONT_SIZE, EDGE_WIDTH};
use crate::{Error, Result};

/// Largest side Graphviz's bitmap renderer accepts; larger drawings are scaled down to fit.
const MAX_SIDE: f64 = 32767.0;
/// Largest number of pixels we allocate (512 MiB of RGBA); larger drawings are scaled down.
const MAX_PIXELS: f64 = (1u64 << 27) as f64;

/// Pixel size of a `width` x `height` points drawing at `dpi`, and the points-to-pixels scale.
pub(crate) fn pixel_size(width: f64, height: f64, dpi: u32) -> (u32, u32, f64) {
    let mut scale = f64::from(dpi) / 72.0;
    let fit = (MAX_SIDE / (width * scale))
        .min(MAX_SIDE / (height * scale))
        .min((MAX_PIXELS / (width * height * scale * scale)).sqrt());
    if fit < 1.0 {
        scale *= fit;
    }
    let px = |v: f64| ((v * scale).round() as u32).clamp(1, MAX_SIDE as u32);
    (px(width), px(height), scale)
}

fn paint(color: Color) -> Paint<'static> {
    let (r, g, b) = color.rgb();
    let mut p = Paint::default();
    p.set_color_rgba8(r, g, b, 255);
    p.anti_alias = true;
    p
}

struct Builder(PathBuilder);

impl PathSink for Builder {
    fn move_to(&mut self, x: f64, y: f64) {
        self.0.move_to(x as f32, y as f32);
    }
    fn line_to(&mut self, x: f64, y: f64) {
        self.0.line_to(x as f32, y as f32);
    }
    fn quad_to(&mut self, x1: f64, y1: f64, x: f64, y: f64) {
        self.0.quad_to(x1 as f32, y1 as f32, x as f32, y as f32);
    }
    fn cubic_to(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, x: f64, y: f64) {
        self.0.cubic_to(x1 as f32, y1 as f32, x2 as f32, y2 as f32, x as f32, y as f32);
    }
    fn close(&mut self) {
        self.0.close();
    }
}

/// The PNG file's bytes.
pub(crate) fn to_png(scene: &Scene, dpi: u32) -> Result<Vec<u8>> {
    let (w, h, scale) = pixel_size(scene.width, scene.height, dpi);
    let mut pixmap = Pixmap::new(w, h)
        .ok_or_else(|| Error::Value(format!("Cannot allocate a {w}x{h} image for the model plot.")))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    let t = Transform::from_scale(scale as f32, scale as f32);
    let fill_rect = |pixmap: &mut Pixmap, x: f64, y: f64, w: f64, h: f64, color: Color| {
        if let Some(r) = SkRect::from_xywh(x as f32, y as f32, w as f32, h as f32) {
            pixmap.fill_rect(r, &paint(color), t, None);
        }
    };
    let stroke_rect = |pixmap: &mut Pixmap, x: f64, y: f64, w: f64, h: f64, stroke: &Stroke| {
        if let Some(r) = SkRect::from_xywh(x as f32, y as f32, w as f32, h as f32) {
            let path = PathBuilder::from_rect(r);
            pixmap.stroke_path(&path, &paint(Color::Black), stroke, t, None);
        }
    };
    let text =
        |pixmap: &mut Pixmap, runs: &[(String, bool)], size: f64, x: f64, baseline: f64, color: Color| {
            let mut b = Builder(PathBuilder::new());
            let mut pen = x;
            for (s, bold) in runs {
                pen = font(*bold).outline(s, size, pen, baseline, &mut b);
            }
            if let Some(path) = b.0.finish() {
                pixmap.fill_path(&path, &paint(color), FillRule::Winding, t, None);
            }
        };

    let dashed = Stroke { width: 1.0, dash: StrokeDash::new(vec![5.0, 2.0], 0.0), ..Stroke::default() };
    for c in &scene.clusters {
        stroke_rect(&mut pixmap, c.rect.x, c.rect.y, c.rect.w, c.rect.h, &dashed);
        text(
            &mut pixmap,
            &[(c.name.clone(), false)],
            CLUSTER_FONT_SIZE,
            c.label_x,
            c.label_baseline,
            Color::Black,
        );
    }
    let thin = Stroke { width: 1.0, ..Stroke::default() };
    for n in &scene.nodes {
        fill_rect(&mut pixmap, n.rect.x, n.rect.y, n.rect.w, n.rect.h, Color::Black);
        for c in &n.cells {
            fill_rect(&mut pixmap, c.x, c.y, c.w, c.h, c.cell.bgcolor());
            stroke_rect(&mut pixmap, c.x + 0.5, c.y + 0.5, c.w - 1.0, c.h - 1.0, &thin);
            let runs: Vec<(String, bool)> = c.runs.iter().map(|r| (r.text.clone(), r.bold)).collect();
            text(&mut pixmap, &runs, c.size, c.text_x, c.baseline, c.cell.color());
        }
    }
    let line = Stroke {
        width: EDGE_WIDTH as f32,
        line_cap: LineCap::Butt,
        line_join: LineJoin::Round,
        ..Stroke::default()
    };
    for e in &scene.edges {
        let mut b = PathBuilder::new();
        for seg in &e.segs {
            match *seg {
                PathSeg::Move(p) => b.move_to(p.0 as f32, p.1 as f32),
                PathSeg::Line(p) => b.line_to(p.0 as f32, p.1 as f32),
                PathSeg::Cubic(a, c, p) => {
                    b.cubic_to(a.0 as f32, a.1 as f32, c.0 as f32, c.1 as f32, p.0 as f32, p.1 as f32)
                }
            }
        }
        if let Some(path) = b.finish() {
            pixmap.stroke_path(&path, &paint(Color::Black), &line, t, None);
        }
        if let Some([a, b2, c]) = e.arrow {
            let mut pb = PathBuilder::new();
            pb.move_to(a.0 as f32, a.1 as f32);
            pb.line_to(b2.0 as f32, b2.1 as f32);
            pb.line_to(c.0 as f32, c.1 as f32);
            pb.close();
            if let Some(path) = pb.finish() {
                pixmap.fill_path(&path, &paint(Color::Black), FillRule::Winding, t, None);
                pixmap.stroke_path(&path, &paint(Color::Black), &line, t, None);
            }
        }
    }

    // Opaque pixels: premultiplied RGBA is plain RGBA; keep RGB.
    let rgb: Vec<u8> = pixmap.data().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(&rgb, w, h, image::ExtendedColorType::Rgb8)
        .map_err(|e| Error::Io(format!("Cannot encode the model plot as PNG: {e}")))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::pixel_size;

    #[test]
    fn dpi_scales_points_to_pixels() {
        assert_eq!(pixel_size(72.0, 36.0, 72), (72, 36, 1.0));
        let (w, h, _) = pixel_size(72.0, 36.0, 200);
        assert_eq!((w, h), (200, 100));
    }

    #[test]
    fn huge_drawings_are_scaled_to_fit() {
        let (w, h, _) = pixel_size(100.0, 100_000.0, 200);
        assert!(h <= 32767 && w >= 1);
        let (w, h, _) = pixel_size(20_000.0, 20_000.0, 200);
        assert!(f64::from(w) * f64::from(h) <= (1u64 << 27) as f64 * 1.01);
    }
}
