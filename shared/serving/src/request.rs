//! Requests as callers write them — a query string or a JSON body — turned into rows for a
//! stock's model. Every problem names its field (`prices[4]`, `rows[2].RSI14`, `stock`).

use std::collections::BTreeMap;

use groves_core::features::{lag_name, N_FEATURES, N_LAGS, TYPPRICE};
use groves_core::ids::Symbol;
use groves_core::serving::ServingPointer;
use serde_json::Value;

use crate::model::Row;
use crate::ServeError;

/// Rows one request may ask for.
pub const MAX_ROWS: usize = 10_000;
/// Bytes a request body may have (a full batch of rows with 11 prices each fits).
pub const MAX_BODY: usize = 4 << 20;

/// One row as the caller gave it, before the model says what it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct RowInput {
    pub stock: Symbol,
    /// `prices`: TYPPRICE of the last minutes, oldest first.
    pub prices: Option<Vec<f64>>,
    /// Inputs by name: `TYPPRICE`, `TYPPRICE_LAG_<k>`, extra features.
    pub named: BTreeMap<String, f64>,
    /// How the row is named in errors: `` for a query, `rows[3].` for a batch.
    pub prefix: String,
}

fn bad(field: impl Into<String>, problem: impl Into<String>) -> ServeError {
    ServeError::field_err(field, problem)
}

fn symbol(field: &str, s: &str) -> Result<Symbol, ServeError> {
    Symbol::new(s).map_err(|e| bad(field, e.to_string()))
}

fn finite(field: &str, v: f64) -> Result<f64, ServeError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(bad(field, format!("must be a finite number, got {v}")))
    }
}

impl RowInput {
    /// The row the model of `pointer` takes, or what is wrong with it.
    pub fn to_row(&self, pointer: &ServingPointer) -> Result<Row, ServeError> {
        let p = &self.prefix;
        let mut prices = [0.0; N_FEATURES];
        match &self.prices {
            Some(given) => {
                if given.len() != N_FEATURES {
                    return Err(bad(
                        format!("{p}prices"),
                        format!(
                            "{N_FEATURES} prices are needed (TYPPRICE of the last {N_FEATURES} minutes, oldest first), got {}",
                            given.len()
                        ),
                    ));
                }
                if let Some(name) = self.named.keys().find(|n| is_price_name(n)) {
                    return Err(bad(
                        format!("{p}{name}"),
                        "give either `prices` or the prices by name, not both",
                    ));
                }
                prices.copy_from_slice(given);
            }
            None => {
                for k in 0..=N_LAGS {
                    let name = if k == 0 {
                        TYPPRICE.to_string()
                    } else {
                        lag_name(k)
                    };
                    prices[N_LAGS - k] = *self.named.get(&name).ok_or_else(|| {
                        bad(
                            format!("{p}{name}"),
                            "missing (give `prices`, or TYPPRICE and TYPPRICE_LAG_1…10)",
                        )
                    })?;
                }
            }
        }
        for (i, v) in prices.iter().enumerate() {
            if *v <= 0.0 {
                let field = match &self.prices {
                    Some(_) => format!("{p}prices[{i}]"),
                    None if i == N_LAGS => format!("{p}{TYPPRICE}"),
                    None => format!("{p}{}", lag_name(N_LAGS - i)),
                };
                return Err(bad(field, format!("a price must be positive, got {v}")));
            }
        }
        let mut extras = Vec::with_capacity(pointer.features.len());
        for name in &pointer.features {
            extras.push(*self.named.get(name).ok_or_else(|| {
                bad(
                    format!("{p}{name}"),
                    format!(
                        "missing: the model of {} also takes {}",
                        pointer.stock,
                        pointer.features.join(", ")
                    ),
                )
            })?);
        }
        if let Some(name) = self
            .named
            .keys()
            .find(|n| !is_price_name(n) && !pointer.features.contains(n))
        {
            return Err(bad(
                format!("{p}{name}"),
                format!(
                    "not an input of the model of {} (it takes the prices{})",
                    pointer.stock,
                    if pointer.features.is_empty() {
                        String::new()
                    } else {
                        format!(" and {}", pointer.features.join(", "))
                    }
                ),
            ));
        }
        Ok(Row { prices, extras })
    }
}

fn is_price_name(name: &str) -> bool {
    name == TYPPRICE
        || name
            .strip_prefix("TYPPRICE_LAG_")
            .and_then(|k| k.parse::<usize>().ok())
            .is_some_and(|k| (1..=N_LAGS).contains(&k))
}

/// `stock=TCS&prices=p0,p1,…,p10[&RSI14=…]`: one row.
pub fn parse_query(query: &str) -> Result<RowInput, ServeError> {
    let mut stock = None;
    let mut prices = None;
    let mut named = BTreeMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k), decode(v));
        if k == "stock" {
            stock = Some(symbol("stock", &v)?);
        } else if k == "prices" {
            let mut list = Vec::new();
            for (i, text) in v.split(',').enumerate() {
                let field = format!("prices[{i}]");
                let x: f64 = text
                    .trim()
                    .parse()
                    .map_err(|_| bad(&field, format!("not a number: {text:?}")))?;
                list.push(finite(&field, x)?);
            }
            prices = Some(list);
        } else {
            let x: f64 = v
                .trim()
                .parse()
                .map_err(|_| bad(&k, format!("not a number: {v:?}")))?;
            named.insert(k.clone(), finite(&k, x)?);
        }
    }
    Ok(RowInput {
        stock: stock.ok_or_else(|| bad("stock", "missing (e.g. ?stock=TCS&prices=…)"))?,
        prices,
        named,
        prefix: String::new(),
    })
}

/// A query component: `+` is a space, `%XX` escapes decoded (a malformed one kept as is).
fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// `{"stock": "TCS", "rows": [{"prices": [...]}, {"stock": "INFY", "TYPPRICE": …, …}]}`.
pub fn parse_batch(body: &[u8]) -> Result<Vec<RowInput>, ServeError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ServeError::BadRequest(format!("the body is not JSON: {e}")))?;
    let Value::Object(top) = value else {
        return Err(ServeError::BadRequest(
            "the body must be a JSON object: {\"stock\": …, \"rows\": […]}".into(),
        ));
    };
    let mut default_stock = None;
    let mut rows = None;
    for (k, v) in &top {
        match k.as_str() {
            "stock" => match v {
                Value::String(s) => default_stock = Some(symbol("stock", s)?),
                _ => return Err(bad("stock", "must be a string")),
            },
            "rows" => match v {
                Value::Array(a) => rows = Some(a),
                _ => return Err(bad("rows", "must be an array of objects")),
            },
            other => return Err(bad(other, "unknown field (expected `stock` and `rows`)")),
        }
    }
    let rows = rows.ok_or_else(|| bad("rows", "missing"))?;
    if rows.is_empty() {
        return Err(bad("rows", "empty: nothing to forecast"));
    }
    if rows.len() > MAX_ROWS {
        return Err(bad(
            "rows",
            format!("{} rows, at most {MAX_ROWS} per request", rows.len()),
        ));
    }
    rows.iter()
        .enumerate()
        .map(|(i, row)| parse_row(i, row, default_stock.as_ref()))
        .collect()
}

fn parse_row(
    i: usize,
    row: &Value,
    default_stock: Option<&Symbol>,
) -> Result<RowInput, ServeError> {
    let prefix = format!("rows[{i}].");
    let Value::Object(fields) = row else {
        return Err(bad(format!("rows[{i}]"), "must be an object"));
    };
    let number = |field: &str, v: &Value| -> Result<f64, ServeError> {
        let x = v
            .as_f64()
            .ok_or_else(|| bad(field, format!("must be a number, got {v}")))?;
        finite(field, x)
    };
    let mut stock = default_stock.cloned();
    let mut prices = None;
    let mut named = BTreeMap::new();
    for (k, v) in fields {
        let field = format!("{prefix}{k}");
        match k.as_str() {
            "stock" => match v {
                Value::String(s) => stock = Some(symbol(&field, s)?),
                _ => return Err(bad(field, "must be a string")),
            },
            "prices" => {
                let Value::Array(a) = v else {
                    return Err(bad(field, "must be an array of numbers"));
                };
                prices = Some(
                    a.iter()
                        .enumerate()
                        .map(|(j, x)| number(&format!("{field}[{j}]"), x))
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
            _ => {
                named.insert(k.clone(), number(&field, v)?);
            }
        }
    }
    Ok(RowInput {
        stock: stock
            .ok_or_else(|| bad(format!("{prefix}stock"), "missing (here or at the top)"))?,
        prices,
        named,
        prefix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_and_name_bad_fields() {
        let q = parse_query("stock=M%26M&prices=1,2,3&RSI14=5.5").unwrap();
        assert_eq!(q.stock.as_str(), "M&M");
        assert_eq!(q.prices, Some(vec![1.0, 2.0, 3.0]));
        assert_eq!(q.named["RSI14"], 5.5);
        let e = parse_query("stock=TCS&prices=1,x,3").unwrap_err();
        assert_eq!(e.field(), Some("prices[1]"));
        let e = parse_query("stock=TCS&prices=1,NaN").unwrap_err();
        assert_eq!(e.field(), Some("prices[1]"));
        let e = parse_query("prices=1").unwrap_err();
        assert_eq!(e.field(), Some("stock"));
        let e = parse_query("stock=../etc&prices=1").unwrap_err();
        assert_eq!(e.field(), Some("stock"));
        assert_eq!(e.status(), 400);
    }

    #[test]
    fn batches_name_the_row_and_the_field() {
        let e = parse_batch(br#"{"stock":"TCS","rows":[{"prices":[1,2]},{"prices":[1,"a"]}]}"#)
            .unwrap_err();
        assert_eq!(e.field(), Some("rows[1].prices[1]"));
        let e = parse_batch(br#"{"rows":[{"prices":[1]}]}"#).unwrap_err();
        assert_eq!(e.field(), Some("rows[0].stock"));
        let e = parse_batch(br#"{"stock":"TCS","rows":[]}"#).unwrap_err();
        assert_eq!(e.field(), Some("rows"));
        let e = parse_batch(br#"{"stock":"TCS","rowz":[]}"#).unwrap_err();
        assert_eq!(e.field(), Some("rowz"));
        assert_eq!(parse_batch(b"[1]").unwrap_err().status(), 400);
        let ok =
            parse_batch(br#"{"stock":"TCS","rows":[{"TYPPRICE":5},{"stock":"INFY","prices":[]}]}"#)
                .unwrap();
        assert_eq!(ok[1].stock.as_str(), "INFY");
        assert_eq!(ok[0].named["TYPPRICE"], 5.0);
    }
}
