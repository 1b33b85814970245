//! The embedded font: text measurement for the layout and glyph outlines for the PNG.
//!
//! Keras's labels ask Graphviz for Helvetica; Liberation Sans has Helvetica's (Arial's) metrics
//! and an open licence (SIL OFL 1.1, `fonts/LICENSE`). The files are embedded unmodified.

use std::sync::OnceLock;

use ttf_parser::{Face, GlyphId, OutlineBuilder};

use super::label::Run;

static REGULAR_TTF: &[u8] = include_bytes!("fonts/LiberationSans-Regular.ttf");
static BOLD_TTF: &[u8] = include_bytes!("fonts/LiberationSans-Bold.ttf");

/// Graphviz's line height: the font size times `LINESPACING` (1.2).
pub(crate) const LINE_SPACING: f64 = 1.2;

/// One face of the embedded font.
pub(crate) struct Font {
    face: Face<'static>,
    units_per_em: f64,
}

/// The regular or bold face.
pub(crate) fn font(bold: bool) -> &'static Font {
    static REGULAR: OnceLock<Font> = OnceLock::new();
    static BOLD: OnceLock<Font> = OnceLock::new();
    let (cell, bytes) = if bold { (&BOLD, BOLD_TTF) } else { (&REGULAR, REGULAR_TTF) };
    cell.get_or_init(|| {
        // The bytes are part of the crate (and parsed by the tests): this cannot fail at run time.
        let face = Face::parse(bytes, 0).expect("the embedded font parses");
        let units_per_em = f64::from(face.units_per_em());
        Font { face, units_per_em }
    })
}

/// Receives glyph outlines, in drawing coordinates (points, y down).
pub(crate) trait PathSink {
    fn move_to(&mut self, x: f64, y: f64);
    fn line_to(&mut self, x: f64, y: f64);
    fn quad_to(&mut self, x1: f64, y1: f64, x: f64, y: f64);
    fn cubic_to(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, x: f64, y: f64);
    fn close(&mut self);
}

impl Font {
    fn glyph(&self, c: char) -> GlyphId {
        // Characters the font lacks are drawn as its "missing glyph" box.
        self.face.glyph_index(c).unwrap_or(GlyphId(0))
    }

    fn kerning(&self, left: GlyphId, right: GlyphId) -> f64 {
        let Some(kern) = self.face.tables().kern else {
            return 0.0;
        };
        kern.subtables
            .into_iter()
            .filter(|s| s.horizontal && !s.variable)
            .find_map(|s| s.glyphs_kerning(left, right))
            .map_or(0.0, f64::from)
    }

    /// Pen advances of each character of `text` at `size` points, kerning included.
    fn advances(&self, text: &str, size: f64) -> impl Iterator<Item = (GlyphId, f64)> + '_ {
        let scale = size / self.units_per_em;
        let glyphs: Vec<GlyphId> = text.chars().map(|c| self.glyph(c)).collect();
        (0..glyphs.len()).map(move |i| {
            let g = glyphs[i];
            let mut adv = f64::from(self.face.glyph_hor_advance(g).unwrap_or(0));
            if let Some(&next) = glyphs.get(i + 1) {
                adv += self.kerning(g, next);
            }
            (g, adv * scale)
        })
    }

    /// Width of `text` at `size` points.
    pub(crate) fn width(&self, text: &str, size: f64) -> f64 {
        self.advances(text, size).map(|(_, a)| a).sum()
    }

    /// Distance from the baseline up to the top of the tallest glyphs, at `size` points.
    pub(crate) fn ascent(&self, size: f64) -> f64 {
        f64::from(self.face.ascender()) * size / self.units_per_em
    }

    /// Distance from the baseline down to the bottom of descenders, at `size` points.
    pub(crate) fn descent(&self, size: f64) -> f64 {
        -f64::from(self.face.descender()) * size / self.units_per_em
    }

    /// Sends the outlines of `text` at `size` points, starting at `(x, baseline)`, to `sink`;
    /// returns the x after the text.
    pub(crate) fn outline(
        &self,
        text: &str,
        size: f64,
        x: f64,
        baseline: f64,
        sink: &mut dyn PathSink,
    ) -> f64 {
        let scale = size / self.units_per_em;
        let mut pen = x;
        for (g, adv) in self.advances(text, size) {
            let mut adapter = Adapter { sink, x: pen, y: baseline, scale };
            self.face.outline_glyph(g, &mut adapter);
            pen += adv;
        }
        pen
    }
}

/// Font units (y up) to drawing coordinates (y down).
struct Adapter<'s> {
    sink: &'s mut dyn PathSink,
    x: f64,
    y: f64,
    scale: f64,
}

impl Adapter<'_> {
    fn p(&self, x: f32, y: f32) -> (f64, f64) {
        (self.x + f64::from(x) * self.scale, self.y - f64::from(y) * self.scale)
    }
}

impl OutlineBuilder for Adapter<'_> {
    fn move_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.p(x, y);
        self.sink.move_to(x, y);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.p(x, y);
        self.sink.line_to(x, y);
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let (x1, y1) = self.p(x1, y1);
        let (x, y) = self.p(x, y);
        self.sink.quad_to(x1, y1, x, y);
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let (x1, y1) = self.p(x1, y1);
        let (x2, y2) = self.p(x2, y2);
        let (x, y) = self.p(x, y);
        self.sink.cubic_to(x1, y1, x2, y2, x, y);
    }
    fn close(&mut self) {
        self.sink.close();
    }
}

/// Width of a line of runs, each in its own weight, at `size` points.
pub(crate) fn runs_width(runs: &[Run], size: f64) -> f64 {
    runs.iter().map(|r| font(r.bold).width(&r.text, size)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_faces_parse_and_measure_like_helvetica() {
        let regular = font(false);
        let bold = font(true);
        // Helvetica/Arial metrics: "x" is 0.5 em, "m" 0.833 em; bold is wider.
        assert!((regular.width("x", 1000.0) - 500.0).abs() < 1.0);
        assert!((regular.width("m", 1000.0) - 833.0).abs() < 1.0);
        assert!(bold.width("Dense", 16.0) > regular.width("Dense", 16.0));
        assert!(regular.ascent(10.0) > 8.0 && regular.descent(10.0) > 1.0);
        // Characters outside the font still advance (the missing-glyph box).
        assert!(regular.width("\u{4e2d}", 10.0) > 0.0);
    }

    struct Count(usize);
    impl PathSink for Count {
        fn move_to(&mut self, _: f64, _: f64) {
            self.0 += 1;
        }
        fn line_to(&mut self, _: f64, _: f64) {}
        fn quad_to(&mut self, _: f64, _: f64, _: f64, _: f64) {}
        fn cubic_to(&mut self, _: f64, _: f64, _: f64, _: f64, _: f64, _: f64) {}
        fn close(&mut self) {}
    }

    #[test]
    fn outlines_advance_by_the_measured_width() {
        let mut sink = Count(0);
        let end = font(true).outline("Dense", 16.0, 10.0, 20.0, &mut sink);
        assert!((end - 10.0 - font(true).width("Dense", 16.0)).abs() < 1e-9);
        assert!(sink.0 >= 5, "one contour per letter at least");
    }
}
