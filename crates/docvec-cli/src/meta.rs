//! Metadata on the command line: `ingest --meta year=2021` gives documents metadata, `search --meta
//! 'year>=2020'` filters by it. Values are typed as they read: integers and decimals are numbers,
//! `true`/`false` booleans, the rest strings.

use docvec_engine::{MetaCondition, Metadata, parse_meta_filter};
use serde_json::{Map, Value};

use crate::request::RequestError;

/// `KEY=VALUE` pairs into metadata; a key given twice holds an array of its values.
pub(crate) fn metadata(pairs: &[String]) -> anyhow::Result<Metadata> {
    let mut meta = Metadata::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(RequestError(format!("--meta {pair}: expected KEY=VALUE")).into());
        };
        let value = typed(value);
        match meta.get_mut(key) {
            Some(Value::Array(items)) => items.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
            None => {
                meta.insert(key.to_string(), value);
            }
        }
    }
    docvec_engine::check_metadata(&meta).map_err(RequestError)?;
    Ok(meta)
}

/// Filter expressions into conditions: `key=value`, `key=a,b` (one of), `key>=v`, `key>v`,
/// `key<=v`, `key<v`. Expressions on one key must all hold.
pub(crate) fn conditions(exprs: &[String]) -> anyhow::Result<Vec<MetaCondition>> {
    let mut filter = Map::new();
    for expr in exprs {
        let (key, op, value) = split(expr).ok_or_else(|| {
            RequestError(format!(
                "--meta {expr}: expected KEY=VALUE, KEY=A,B, KEY>=V, KEY>V, KEY<=V or KEY<V"
            ))
        })?;
        let value = match op {
            "eq" if value.contains(',') => {
                ("in", Value::Array(value.split(',').map(typed).collect()))
            }
            _ => (op, typed(value)),
        };
        let ops = filter
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(ops) = ops {
            ops.insert(value.0.to_string(), value.1);
        }
    }
    Ok(parse_meta_filter(&Value::Object(filter)).map_err(RequestError)?)
}

fn split(expr: &str) -> Option<(&str, &'static str, &str)> {
    let at = expr.find(['=', '<', '>'])?;
    let (key, rest) = expr.split_at(at);
    let (op, value) = [
        (">=", "gte"),
        ("<=", "lte"),
        (">", "gt"),
        ("<", "lt"),
        ("=", "eq"),
    ]
    .into_iter()
    .find_map(|(sym, op)| rest.strip_prefix(sym).map(|v| (op, v)))?;
    (!key.is_empty()).then_some((key.trim(), op, value.trim()))
}

fn typed(value: &str) -> Value {
    if let Ok(i) = value.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(f) = value.parse::<f64>()
        && f.is_finite()
    {
        return Value::from(f);
    }
    match value {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::String(value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use docvec_engine::{MetaOp, MetaValue};

    #[test]
    fn pairs_and_expressions_read_as_typed_values() {
        let m = metadata(&[
            "year=2021".into(),
            "team=a".into(),
            "team=b".into(),
            "draft=false".into(),
        ])
        .unwrap();
        assert_eq!(
            Value::Object(m),
            serde_json::json!({"year": 2021, "team": ["a", "b"], "draft": false})
        );
        let c =
            conditions(&["year>=2020".into(), "year<2025".into(), "lang=en,de".into()]).unwrap();
        let year = c.iter().find(|c| c.key == "year").unwrap();
        assert_eq!(year.tests.len(), 2);
        assert_eq!(year.tests[0].op, MetaOp::Gte);
        let lang = c.iter().find(|c| c.key == "lang").unwrap();
        assert_eq!(lang.tests[0].op, MetaOp::In);
        assert_eq!(lang.tests[0].values[1], MetaValue::Text("de".into()));
        assert!(conditions(&["year".into()]).is_err());
        assert!(conditions(&["=3".into()]).is_err());
        assert!(metadata(&["bad key=1".into()]).is_err());
    }
}
