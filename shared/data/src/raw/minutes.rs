//! A live minute object (`live/minutes/`): CSV with the Kaggle header (either layout) and one
//! or more rows of consecutive minutes, exactly as the raw file has them — a slice of a raw
//! file. Only `date`, `TYPPRICE` and the requested extra columns are read, by name.

use groves_core::calendar::{parse_bar_time, BarTime};
use groves_core::dataset::DATE_COLUMN;
use groves_core::features::TYPPRICE;

/// One row of a live object.
#[derive(Debug, Clone, PartialEq)]
pub struct MinuteRow {
    /// The bar's minute (seconds dropped).
    pub time: BarTime,
    /// `None`: empty or `NaN` (the row is kept as a minute but cannot be a feature row).
    pub price: Option<f64>,
    /// The requested extra columns; `None` where empty or `NaN`.
    pub extras: Vec<Option<f64>>,
}

/// Why a live object cannot be read: names the row (1 = the first data row) and column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MinuteError {
    #[error("the object is empty")]
    Empty,
    #[error("the object has a header but no row")]
    NoRows,
    #[error("the header has no column `{0}`")]
    MissingColumn(String),
    #[error("row {row}: {fields} fields where the header has {header}")]
    Ragged {
        row: usize,
        fields: usize,
        header: usize,
    },
    #[error("row {row}, column `{column}`: {problem} ({value:?})")]
    BadCell {
        row: usize,
        column: String,
        value: String,
        problem: String,
    },
    #[error("row {row}: minute {minute} is not after the previous row's")]
    OutOfOrder { row: usize, minute: String },
    #[error("row {row}: minute {minute} is before the minute the object's key names ({key})")]
    BeforeKey {
        row: usize,
        minute: String,
        key: String,
    },
}

fn cell_value(s: &str) -> Result<Option<f64>, String> {
    let s = s.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("nan") {
        return Ok(None);
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        Ok(_) => Err("not a finite number".into()),
        Err(_) => Err("not a number".into()),
    }
}

/// Parses a live object; `key_ms` is the minute its key names (no row may be before it).
pub fn parse_minutes(
    bytes: &[u8],
    extras: &[String],
    key_ms: i64,
) -> Result<Vec<MinuteRow>, MinuteError> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = match lines.next() {
        Some(h) => h.split(',').map(str::trim).collect(),
        None => return Err(MinuteError::Empty),
    };
    let find = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| MinuteError::MissingColumn(name.to_string()))
    };
    let date_at = find(DATE_COLUMN)?;
    let price_at = find(TYPPRICE)?;
    let extra_at = extras
        .iter()
        .map(|e| find(e))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let row = i + 1;
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != header.len() {
            return Err(MinuteError::Ragged {
                row,
                fields: fields.len(),
                header: header.len(),
            });
        }
        let bad = |column: &str, value: &str, problem: String| MinuteError::BadCell {
            row,
            column: column.to_string(),
            value: value.to_string(),
            problem,
        };
        let t = parse_bar_time(fields[date_at])
            .map_err(|p| bad(DATE_COLUMN, fields[date_at], p.to_string()))?;
        // Bars are minutes: seconds are dropped as the key does.
        let secs = t.local_ms.rem_euclid(60_000);
        let time = BarTime {
            local_ms: t.local_ms - secs,
            utc_ms: t.utc_ms - secs,
        };
        let local_ms = time.local_ms;
        let price = cell_value(fields[price_at]).map_err(|p| bad(TYPPRICE, fields[price_at], p))?;
        let mut values = Vec::with_capacity(extras.len());
        for (name, &at) in extras.iter().zip(&extra_at) {
            values.push(cell_value(fields[at]).map_err(|p| bad(name, fields[at], p))?);
        }
        let minute = || groves_core::calendar::format_wall(local_ms);
        if local_ms < key_ms {
            return Err(MinuteError::BeforeKey {
                row,
                minute: minute(),
                key: groves_core::calendar::format_wall(key_ms),
            });
        }
        if rows
            .last()
            .is_some_and(|prev: &MinuteRow| prev.time.local_ms >= local_ms)
        {
            return Err(MinuteError::OutOfOrder {
                row,
                minute: minute(),
            });
        }
        rows.push(MinuteRow {
            time,
            price,
            extras: values,
        });
    }
    if rows.is_empty() {
        return Err(MinuteError::NoRows);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "date,open,TYPPRICE,RSI14";

    fn t(s: &str) -> i64 {
        parse_bar_time(s).unwrap().local_ms
    }

    #[test]
    fn rows_are_read_by_name() {
        let body = format!(
            "{HEAD}\n2015-02-02 09:15:00+05:30,1,100.5,55\n2015-02-02 09:16:00+05:30,1,,nan\n"
        );
        let key = t("2015-02-02 09:15:00+05:30");
        let rows = parse_minutes(body.as_bytes(), &["RSI14".into()], key).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].price, Some(100.5));
        assert_eq!(rows[0].extras, vec![Some(55.0)]);
        assert_eq!(rows[1].time.local_ms, key + 60_000);
        assert_eq!(rows[1].time.local_ms - rows[1].time.utc_ms, 330 * 60_000);
        assert_eq!(rows[1].price, None);
        assert_eq!(rows[1].extras, vec![None]);
    }

    #[test]
    fn bad_objects_name_row_and_column() {
        let key = t("2015-02-02 09:15:00+05:30");
        let e = |body: &str, extras: &[String]| {
            parse_minutes(body.as_bytes(), extras, key).unwrap_err()
        };
        assert_eq!(e("", &[]), MinuteError::Empty);
        assert_eq!(e(HEAD, &[]), MinuteError::NoRows);
        assert_eq!(
            e(&format!("{HEAD}\n"), &["MFI".into()]),
            MinuteError::MissingColumn("MFI".into())
        );
        let msg = e(&format!("{HEAD}\n2015-02-02 09:15:00+05:30,1,abc,5\n"), &[]).to_string();
        assert!(
            msg.contains("row 1") && msg.contains("TYPPRICE") && msg.contains("abc"),
            "{msg}"
        );
        assert!(matches!(
            e(&format!("{HEAD}\n2015-02-02 09:15:00+05:30,1,2\n"), &[]),
            MinuteError::Ragged {
                row: 1,
                fields: 3,
                header: 4
            }
        ));
        assert!(matches!(
            e(&format!("{HEAD}\n2015-02-02 09:14:00+05:30,1,2,3\n"), &[]),
            MinuteError::BeforeKey { row: 1, .. }
        ));
        assert!(matches!(
            e(
                &format!(
                    "{HEAD}\n2015-02-02 09:16:00+05:30,1,2,3\n2015-02-02 09:16:00+05:30,1,2,3\n"
                ),
                &[]
            ),
            MinuteError::OutOfOrder { row: 2, .. }
        ));
        assert!(e(&format!("{HEAD}\n2015-02-02,1,2,3\n"), &[])
            .to_string()
            .contains("`date`"));
    }
}
