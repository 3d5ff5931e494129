//! A content-stream interpreter for text: the graphics and text state (CTM, `Tm`/`Tlm`, `Tf`, `Tc`,
//! `Tw`, `Tz`, `TL`, `Ts`), text-showing operators with `TJ` offsets, and form XObjects, placing
//! every glyph on the page in device space for [`LineBuilder`] to join into words and lines.
//!
//! Position comes from geometry, not from space characters: many producers (TeX, Distiller) never
//! write a space and move the pen instead, so words are found from the gaps between glyphs.

use std::collections::HashMap;
use std::rc::Rc;

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object, ObjectId};

use super::cmap::TextRef;
use super::fonts::{Font, FontCache};
use super::layout::{LineBuilder, Placed};
use super::objects::{as_number, deref};

/// Operators one page may run (forms included); bounds time on hostile or looping content.
pub(super) const MAX_OPS: usize = 20_000_000;
/// Nesting of form XObjects and of `q` saves, as deep as real files go and well short of trouble.
const MAX_FORM_DEPTH: usize = 12;
const MAX_SAVE_DEPTH: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Matrix([f32; 6]);

impl Matrix {
    pub const IDENTITY: Matrix = Matrix([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);

    fn from_operands(ops: &[Object]) -> Option<Matrix> {
        let v: Vec<f32> = ops.iter().filter_map(as_number).collect();
        v.try_into().ok().map(Matrix)
    }

    /// `self × other` (PDF's row-vector convention: apply `self` first).
    pub fn then(&self, other: &Matrix) -> Matrix {
        let [a, b, c, d, e, f] = self.0;
        let [a2, b2, c2, d2, e2, f2] = other.0;
        Matrix([
            a * a2 + b * c2,
            a * b2 + b * d2,
            c * a2 + d * c2,
            c * b2 + d * d2,
            e * a2 + f * c2 + e2,
            e * b2 + f * d2 + f2,
        ])
    }

    pub fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        let [a, b, c, d, e, f] = self.0;
        (a * x + c * y + e, b * x + d * y + f)
    }

    /// `translate(tx, ty) × self`: how `Td` and glyph advances move the text matrix.
    fn translated(&self, tx: f32, ty: f32) -> Matrix {
        let [a, b, c, d, e, f] = self.0;
        Matrix([a, b, c, d, e + tx * a + ty * c, f + tx * b + ty * d])
    }
}

/// The parts of the graphics state that `q`/`Q` save and text placement reads.
#[derive(Clone)]
struct State {
    ctm: Matrix,
    char_spacing: f32,
    word_spacing: f32,
    h_scale: f32,
    leading: f32,
    rise: f32,
    font: Option<Rc<Font>>,
    font_size: f32,
}

/// Resource dictionaries in lookup order (a form's own first, then those it inherits).
#[derive(Clone)]
pub(super) struct Resources<'d>(pub Vec<&'d Dictionary>);

impl<'d> Resources<'d> {
    fn lookup(&self, doc: &'d Document, category: &[u8], name: &[u8]) -> Option<&'d Object> {
        self.0.iter().find_map(|r| {
            let group = deref(doc, r.get(category).ok()?).as_dict().ok()?;
            group.get(name).ok()
        })
    }
}

/// Decompressed form XObjects of a document, so a form drawn on every page is inflated once.
#[derive(Default)]
pub(super) struct FormCache(HashMap<ObjectId, Rc<Vec<u8>>>);

pub(super) struct Interpreter<'d, 'c> {
    doc: &'d Document,
    fonts: &'c mut FontCache,
    forms: &'c mut FormCache,
    out: &'c mut LineBuilder,
    /// Decompressed bytes this page may still inflate.
    budget: usize,
    ops: usize,
    form_stack: Vec<ObjectId>,
}

impl<'d, 'c> Interpreter<'d, 'c> {
    pub fn new(
        doc: &'d Document,
        fonts: &'c mut FontCache,
        forms: &'c mut FormCache,
        out: &'c mut LineBuilder,
        budget: usize,
    ) -> Self {
        Interpreter {
            doc,
            fonts,
            forms,
            out,
            budget,
            ops: 0,
            form_stack: Vec::new(),
        }
    }

    /// Run one content stream (a page's, or a form's) under `ctm`. Returns false when the operator
    /// budget ran out, so the caller can say the page was cut short.
    pub fn run(&mut self, content: &[u8], resources: &Resources<'d>, ctm: Matrix) -> bool {
        let mut state = State {
            ctm,
            char_spacing: 0.0,
            word_spacing: 0.0,
            h_scale: 1.0,
            leading: 0.0,
            rise: 0.0,
            font: None,
            font_size: 0.0,
        };
        let mut saved: Vec<State> = Vec::new();
        let mut unsaved_pushes = 0usize;
        let (mut tm, mut tlm) = (Matrix::IDENTITY, Matrix::IDENTITY);
        // A stream that stops parsing midway keeps the text before the damage.
        for op in Content::decode_iter(content).map_while(Result::ok) {
            self.ops += 1;
            if self.ops > MAX_OPS {
                return false;
            }
            let o = op.operands.as_slice();
            let num = |i: usize| o.get(i).and_then(as_number).unwrap_or(0.0);
            match op.operator.as_str() {
                "q" if saved.len() < MAX_SAVE_DEPTH => saved.push(state.clone()),
                "q" => unsaved_pushes += 1,
                "Q" if unsaved_pushes > 0 => unsaved_pushes -= 1,
                "Q" => state = saved.pop().unwrap_or(state),
                "cm" => {
                    if let Some(m) = Matrix::from_operands(o) {
                        state.ctm = m.then(&state.ctm);
                    }
                }
                "BT" => (tm, tlm) = (Matrix::IDENTITY, Matrix::IDENTITY),
                "Tf" => {
                    state.font_size = num(1);
                    state.font = match o.first() {
                        Some(Object::Name(n)) => self.font(resources, n),
                        _ => None,
                    };
                }
                "Tc" => state.char_spacing = num(0),
                "Tw" => state.word_spacing = num(0),
                "Tz" => state.h_scale = num(0) / 100.0,
                "TL" => state.leading = num(0),
                "Ts" => state.rise = num(0),
                "Td" => {
                    tlm = tlm.translated(num(0), num(1));
                    tm = tlm;
                }
                "TD" => {
                    state.leading = -num(1);
                    tlm = tlm.translated(num(0), num(1));
                    tm = tlm;
                }
                "Tm" => {
                    if let Some(m) = Matrix::from_operands(o) {
                        (tm, tlm) = (m, m);
                    }
                }
                "T*" => {
                    tlm = tlm.translated(0.0, -state.leading);
                    tm = tlm;
                }
                "Tj" | "'" | "\"" => {
                    if op.operator != "Tj" {
                        if op.operator == "\"" {
                            state.word_spacing = num(0);
                            state.char_spacing = num(1);
                        }
                        tlm = tlm.translated(0.0, -state.leading);
                        tm = tlm;
                    }
                    if let Some(Object::String(bytes, _)) = o.last() {
                        self.show(&state, &mut tm, bytes);
                    }
                }
                "TJ" => {
                    let Some(Object::Array(items)) = o.first() else {
                        continue;
                    };
                    for item in items {
                        match item {
                            Object::String(bytes, _) => self.show(&state, &mut tm, bytes),
                            other => {
                                let adjust = as_number(other).unwrap_or(0.0);
                                let tx = -adjust / 1000.0 * state.font_size * state.h_scale;
                                tm = tm.translated(tx, 0.0);
                            }
                        }
                    }
                }
                "Do" => {
                    if let Some(Object::Name(n)) = o.first()
                        && !self.form(resources, n, &state.ctm)
                    {
                        return false;
                    }
                }
                _ => {}
            }
        }
        true
    }

    fn font(&mut self, resources: &Resources<'d>, name: &[u8]) -> Option<Rc<Font>> {
        let font = resources.lookup(self.doc, b"Font", name)?;
        self.fonts.get(self.doc, font)
    }

    /// Place each glyph of `bytes` and advance the text matrix past it.
    fn show(&mut self, state: &State, tm: &mut Matrix, bytes: &[u8]) {
        let Some(font) = state.font.as_deref() else {
            return;
        };
        let (size, th) = (state.font_size, state.h_scale);
        let mut buf = [0u8; 4];
        for glyph in font.glyphs(bytes) {
            let advance = glyph.width * size * th;
            let m = tm.then(&state.ctm);
            let origin = m.apply(0.0, state.rise);
            let end = m.apply(advance, state.rise);
            let (dx, dy) = (m.0[0] * th.signum(), m.0[1] * th.signum());
            let across = (m.0[2] * m.0[2] + m.0[3] * m.0[3]).sqrt();
            let text = match glyph.text {
                Some(TextRef::Char(c)) => &*c.encode_utf8(&mut buf),
                Some(TextRef::Str(s)) => s,
                None => "",
            };
            let along = (dx * dx + dy * dy).sqrt();
            if along > 0.0 && across.is_finite() && origin.0.is_finite() && origin.1.is_finite() {
                self.out.glyph(&Placed {
                    origin,
                    end,
                    dir: (dx / along, dy / along),
                    size: (size * font.em * across).abs(),
                    text,
                    gap_em: font.gap_em,
                    bold: font.bold,
                });
            }
            let spacing = state.char_spacing
                + if glyph.word_space {
                    state.word_spacing
                } else {
                    0.0
                };
            *tm = tm.translated(advance + spacing * th, 0.0);
        }
    }

    /// Run a form XObject; false when the page ran out of operator budget inside it.
    fn form(&mut self, resources: &Resources<'d>, name: &[u8], ctm: &Matrix) -> bool {
        let Some(Object::Reference(id)) = resources.lookup(self.doc, b"XObject", name) else {
            return true;
        };
        if self.form_stack.len() >= MAX_FORM_DEPTH || self.form_stack.contains(id) {
            return true;
        }
        let Ok(stream) = self.doc.get_object(*id).and_then(Object::as_stream) else {
            return true;
        };
        if stream.dict.get(b"Subtype").ok() != Some(&Object::Name(b"Form".to_vec())) {
            return true;
        }
        let Some(content) = self.form_content(*id, stream) else {
            return true;
        };
        let matrix = match stream.dict.get(b"Matrix").map(|m| deref(self.doc, m)) {
            Ok(Object::Array(a)) => Matrix::from_operands(a).unwrap_or(Matrix::IDENTITY),
            _ => Matrix::IDENTITY,
        };
        let mut inner = resources.clone();
        if let Ok(own) = stream
            .dict
            .get(b"Resources")
            .and_then(|r| deref(self.doc, r).as_dict())
        {
            inner.0.insert(0, own);
        }
        self.form_stack.push(*id);
        let finished = self.run(&content, &inner, matrix.then(ctm));
        self.form_stack.pop();
        finished
    }

    fn form_content(&mut self, id: ObjectId, stream: &lopdf::Stream) -> Option<Rc<Vec<u8>>> {
        if let Some(content) = self.forms.0.get(&id) {
            return Some(Rc::clone(content));
        }
        let bytes = if stream.filters().map_or(true, |f| f.is_empty()) {
            stream.content.clone()
        } else {
            stream.decompressed_content_with_limit(self.budget).ok()?
        };
        self.budget = self.budget.saturating_sub(bytes.len());
        let bytes = Rc::new(bytes);
        self.forms.0.insert(id, Rc::clone(&bytes));
        Some(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrices_compose_in_pdf_order() {
        let scale = Matrix([2.0, 0.0, 0.0, 2.0, 0.0, 0.0]);
        let shift = Matrix([1.0, 0.0, 0.0, 1.0, 10.0, 5.0]);
        // Scale first, then shift: (1, 1) -> (2, 2) -> (12, 7).
        assert_eq!(scale.then(&shift).apply(1.0, 1.0), (12.0, 7.0));
        assert_eq!(shift.then(&scale).apply(1.0, 1.0), (22.0, 12.0));
        assert_eq!(
            Matrix::IDENTITY.translated(3.0, 4.0).apply(0.0, 0.0),
            (3.0, 4.0)
        );
    }
}
