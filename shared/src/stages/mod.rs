//! One module per stage of the search. Each stage is a plain function over a store; the Lambda
//! crates and the CLI both call these.

pub mod processing;
