//! Reading lopdf objects leniently: references followed, numbers of either type, a wrong type or a
//! missing key read as absent rather than an error (fonts and outlines go on without the value).

use lopdf::{Dictionary, Document, Object};

pub(super) fn deref<'a>(doc: &'a Document, object: &'a Object) -> &'a Object {
    doc.dereference(object).map_or(object, |(_, o)| o)
}

pub(super) fn dict_at<'a>(
    doc: &'a Document,
    dict: &'a Dictionary,
    key: &[u8],
) -> Option<&'a Dictionary> {
    deref(doc, dict.get(key).ok()?).as_dict().ok()
}

pub(super) fn name<'a>(doc: &'a Document, dict: &'a Dictionary, key: &[u8]) -> Option<&'a [u8]> {
    match deref(doc, dict.get(key).ok()?) {
        Object::Name(n) => Some(n),
        _ => None,
    }
}

pub(super) fn number(doc: &Document, dict: &Dictionary, key: &[u8]) -> Option<f32> {
    as_number(deref(doc, dict.get(key).ok()?))
}

pub(super) fn as_number(object: &Object) -> Option<f32> {
    let n = match object {
        Object::Integer(i) => *i as f32,
        Object::Real(r) => *r,
        _ => return None,
    };
    n.is_finite().then_some(n)
}
