//! Metadata users give their documents (`--meta year=2021`, an upload's `metadata`, a `*.meta.json`
//! sidecar), and the conditions a search filters it by before the top k is chosen.
//!
//! Metadata is a flat JSON object: keys of letters, digits, `_`, `-` and `.`, values strings, numbers,
//! booleans or arrays of those. A filter is a JSON object of key -> condition, every one required:
//! a value (equal), an array (equal to one of them), or an object of operators `eq`, `in`, `gt`,
//! `gte`, `lt`, `lte` (all required of one value). Ranges compare numbers with numbers and strings with
//! strings (byte order, so ISO 8601 dates and times compare as time does). A document whose value is
//! an array matches when one element does.

use serde_json::{Map, Value};

/// A document's own metadata.
pub type Metadata = Map<String, Value>;

/// Longest key, and the most bytes a document's metadata may take as JSON.
pub const MAX_META_KEY: usize = 64;
pub const MAX_META_BYTES: usize = 16 * 1024;

/// Why metadata or a filter was refused; the message names the key.
pub type MetaError = String;

/// Check a document's metadata: keys well formed, values scalars or arrays of scalars, size bounded.
pub fn check_metadata(meta: &Metadata) -> Result<(), MetaError> {
    for (key, value) in meta {
        check_key(key)?;
        let scalar = |v: &Value| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
        let ok = match value {
            Value::Array(items) => items.iter().all(scalar),
            v => scalar(v),
        };
        if !ok {
            return Err(format!(
                "metadata `{key}`: a value is a string, number, boolean or an array of those, not {value}"
            ));
        }
    }
    let bytes = Value::Object(meta.clone()).to_string().len();
    if bytes > MAX_META_BYTES {
        return Err(format!(
            "metadata takes {bytes} bytes as JSON, over the {MAX_META_BYTES}-byte limit"
        ));
    }
    Ok(())
}

fn check_key(key: &str) -> Result<(), MetaError> {
    let ok = !key.is_empty()
        && key.len() <= MAX_META_KEY
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "metadata key `{key}`: use 1 to {MAX_META_KEY} letters, digits, `_`, `-` or `.`"
        ))
    }
}

/// A value a condition compares with.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    Text(String),
    Number(f64),
    Bool(bool),
}

impl MetaValue {
    fn from_json(key: &str, v: &Value) -> Result<Self, MetaError> {
        match v {
            Value::String(s) => Ok(Self::Text(s.clone())),
            Value::Number(n) => n
                .as_f64()
                .map(Self::Number)
                .ok_or_else(|| format!("meta filter `{key}`: {n} is not a finite number")),
            Value::Bool(b) => Ok(Self::Bool(*b)),
            other => Err(format!(
                "meta filter `{key}`: compare with a string, number or boolean, not {other}"
            )),
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            Self::Text(s) => Value::String(s.clone()),
            Self::Number(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            Self::Bool(b) => Value::Bool(*b),
        }
    }
}

/// How a condition compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaOp {
    Eq,
    In,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl MetaOp {
    pub fn name(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::In => "in",
            Self::Gt => "gt",
            Self::Gte => "gte",
            Self::Lt => "lt",
            Self::Lte => "lte",
        }
    }

    fn parse(key: &str, op: &str) -> Result<Self, MetaError> {
        Ok(match op {
            "eq" => Self::Eq,
            "in" => Self::In,
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            other => {
                return Err(format!(
                    "meta filter `{key}`: unknown operator `{other}` (eq, in, gt, gte, lt, lte)"
                ));
            }
        })
    }
}

/// One comparison: `values` holds one value, or for `in` one or more.
#[derive(Debug, Clone, PartialEq)]
pub struct MetaTest {
    pub op: MetaOp,
    pub values: Vec<MetaValue>,
}

/// Every test on one key; one value of the document's (or one element of its array) must pass all.
#[derive(Debug, Clone, PartialEq)]
pub struct MetaCondition {
    pub key: String,
    pub tests: Vec<MetaTest>,
}

/// The most values an `in` may list.
pub const MAX_META_IN: usize = 1000;

/// Parse a filter object (`{"year": {"gte": 2020}, "lang": "en", "team": ["a", "b"]}`).
pub fn parse_meta_filter(filter: &Value) -> Result<Vec<MetaCondition>, MetaError> {
    let Value::Object(keys) = filter else {
        return Err(format!("a meta filter is a JSON object, not {filter}"));
    };
    keys.iter()
        .map(|(key, cond)| {
            check_key(key)?;
            let tests = match cond {
                Value::Object(ops) if !ops.is_empty() => ops
                    .iter()
                    .map(|(op, v)| test(key, MetaOp::parse(key, op)?, v))
                    .collect::<Result<_, _>>()?,
                Value::Object(_) => return Err(format!("meta filter `{key}`: no operator")),
                Value::Array(_) => vec![test(key, MetaOp::In, cond)?],
                v => vec![test(key, MetaOp::Eq, v)?],
            };
            Ok(MetaCondition {
                key: key.clone(),
                tests,
            })
        })
        .collect()
}

fn test(key: &str, op: MetaOp, v: &Value) -> Result<MetaTest, MetaError> {
    let values = match (op, v) {
        (MetaOp::In, Value::Array(items)) if !items.is_empty() && items.len() <= MAX_META_IN => {
            items
                .iter()
                .map(|i| MetaValue::from_json(key, i))
                .collect::<Result<_, _>>()?
        }
        (MetaOp::In, _) => {
            return Err(format!(
                "meta filter `{key}`: `in` takes an array of 1 to {MAX_META_IN} values"
            ));
        }
        (_, v) => vec![MetaValue::from_json(key, v)?],
    };
    if !matches!(op, MetaOp::Eq | MetaOp::In) && matches!(values[0], MetaValue::Bool(_)) {
        return Err(format!(
            "meta filter `{key}`: `{}` compares numbers or strings, not booleans",
            op.name()
        ));
    }
    Ok(MetaTest { op, values })
}

/// The conditions back as a filter object, in the operator form (what the Postgres mirror's
/// `docvec.meta_matches` reads).
pub fn meta_filter_json(conditions: &[MetaCondition]) -> Value {
    let mut out = Map::new();
    for c in conditions {
        let mut ops = Map::new();
        for t in &c.tests {
            let value = match t.op {
                MetaOp::In => Value::Array(t.values.iter().map(MetaValue::to_json).collect()),
                _ => t.values[0].to_json(),
            };
            ops.insert(t.op.name().into(), value);
        }
        out.insert(c.key.clone(), Value::Object(ops));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_parse_in_every_form_and_refuse_what_cannot_compare() {
        let f = parse_meta_filter(
            &json!({"year": {"gte": 2020, "lt": 2025}, "lang": "en", "team": ["a", "b"]}),
        )
        .unwrap();
        assert_eq!(f.len(), 3);
        let year = f.iter().find(|c| c.key == "year").unwrap();
        assert_eq!(
            year.tests[0],
            MetaTest {
                op: MetaOp::Gte,
                values: vec![MetaValue::Number(2020.0)]
            }
        );
        assert_eq!(meta_filter_json(&f)["team"], json!({"in": ["a", "b"]}));
        for bad in [
            json!([1]),
            json!({"year": {"near": 1}}),
            json!({"year": {}}),
            json!({"year": {"gt": true}}),
            json!({"year": {"in": []}}),
            json!({"bad key": 1}),
            json!({"x": {"eq": {"a": 1}}}),
        ] {
            assert!(parse_meta_filter(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn metadata_is_flat_and_bounded() {
        let ok = json!({"year": 2021, "tags": ["a", "b"], "draft": false});
        assert!(check_metadata(ok.as_object().unwrap()).is_ok());
        let nested = json!({"a": {"b": 1}});
        assert!(
            check_metadata(nested.as_object().unwrap())
                .unwrap_err()
                .contains("`a`")
        );
        let big = json!({"a": "x".repeat(MAX_META_BYTES)});
        assert!(check_metadata(big.as_object().unwrap()).is_err());
    }
}
