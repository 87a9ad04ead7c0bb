//! Validated names that end up inside object keys: a stock symbol and a run id.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a name was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error("{what} must not be empty")]
    Empty { what: &'static str },
    #[error("{what} {value:?} is longer than {max} characters")]
    TooLong {
        what: &'static str,
        value: String,
        max: usize,
    },
    #[error("{what} {value:?} contains {bad:?}; allowed are {allowed}")]
    BadChar {
        what: &'static str,
        value: String,
        bad: char,
        allowed: &'static str,
    },
}

fn check(
    what: &'static str,
    value: &str,
    max: usize,
    allowed: &'static str,
    ok: fn(char) -> bool,
) -> Result<(), NameError> {
    if value.is_empty() {
        return Err(NameError::Empty { what });
    }
    if value.chars().count() > max {
        return Err(NameError::TooLong {
            what,
            value: value.to_string(),
            max,
        });
    }
    if let Some(bad) = value.chars().find(|c| !ok(*c)) {
        return Err(NameError::BadChar {
            what,
            value: value.to_string(),
            bad,
            allowed,
        });
    }
    Ok(())
}

/// A stock symbol as in the Kaggle file names (`RELIANCE`, `M&M`, `BAJAJ-AUTO`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Symbol(String);

impl Symbol {
    pub fn new(s: impl Into<String>) -> Result<Self, NameError> {
        let s = s.into();
        check(
            "stock symbol",
            &s,
            40,
            "letters, digits, '&', '-', '_' and '.'",
            |c| c.is_ascii_alphanumeric() || matches!(c, '&' | '-' | '_' | '.'),
        )?;
        Ok(Symbol(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A run id: keeps the results of different runs apart in the bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(String);

impl RunId {
    /// The run id used when none is given.
    pub const DEFAULT: &'static str = "default";

    pub fn new(s: impl Into<String>) -> Result<Self, NameError> {
        let s = s.into();
        check("run id", &s, 64, "letters, digits, '-', '_' and '.'", |c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
        })?;
        Ok(RunId(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RunId {
    fn default() -> Self {
        RunId(Self::DEFAULT.to_string())
    }
}

macro_rules! string_newtype_impls {
    ($t:ty) => {
        impl TryFrom<String> for $t {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, NameError> {
                <$t>::new(s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::str::FromStr for $t {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                <$t>::new(s)
            }
        }
    };
}
string_newtype_impls!(Symbol);
string_newtype_impls!(RunId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_accept_kaggle_names_and_refuse_path_tricks() {
        for ok in ["RELIANCE", "M&M", "BAJAJ-AUTO", "NAM_INDIA"] {
            assert!(Symbol::new(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            Symbol::new(""),
            Err(NameError::Empty {
                what: "stock symbol"
            })
        );
        let err = Symbol::new("../x").unwrap_err().to_string();
        assert!(err.contains("'/'"), "{err}");
        assert!(Symbol::new("A B").is_err());
    }

    #[test]
    fn run_ids_are_checked_when_deserialised() {
        let ok: RunId = serde_json::from_str("\"run-2026.11\"").unwrap();
        assert_eq!(ok.as_str(), "run-2026.11");
        let err = serde_json::from_str::<RunId>("\"a=b\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("run id"), "{err}");
        assert_eq!(RunId::default().as_str(), "default");
    }
}
