//! A run on the data up to a minute (`until`): the stock's live minutes (`live/minutes/`)
//! after the raw file's last bar are part of it, as if the raw file had been extended.

use futures::stream::{StreamExt, TryStreamExt};
use groves_core::ids::Symbol;
use groves_core::layout;
use groves_data::raw::minutes::parse_minutes;
use groves_data::raw::RawSeries;
use groves_store::Store;

use super::ProcessingError;

/// Live objects read at once (each is a few hundred bytes: the round trips are the cost).
const CONCURRENCY: usize = 32;

/// Appends to `raw` the rows of the live objects that begin after its last bar and by
/// `until_ms`. An object that cannot be read was recorded and skipped by the scorer
/// (`live/errors/`), and is skipped here too.
pub(super) async fn append(
    input: &dyn Store,
    stock: &Symbol,
    extras: &[String],
    until_ms: i64,
    raw: &mut RawSeries,
) -> Result<usize, ProcessingError> {
    let Some(last) = raw.times.iter().map(|t| t.local_ms).max() else {
        return Ok(0);
    };
    if last >= until_ms {
        return Ok(0);
    }
    let listed = input
        .list_after(
            &layout::live_minutes_prefix(stock),
            &layout::live_minute_key(stock, last),
        )
        .await?;
    let objects: Vec<(String, i64)> = listed
        .into_iter()
        .filter_map(|o| {
            let ms = layout::parse_live_minute_key(&o.key)?.1;
            (ms <= until_ms).then_some((o.key, ms))
        })
        .collect();
    // Owned keys: a stream of borrowing closures makes the processing future lose `Send`'s
    // generality (rustc's "FnOnce is not general enough").
    let keys: Vec<String> = objects.iter().map(|(k, _)| k.clone()).collect();
    let bodies: Vec<_> = futures::stream::iter(keys)
        .map(|key| async move { input.get(&key).await })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    let mut added = 0;
    for ((key, ms), body) in objects.iter().zip(bodies) {
        match parse_minutes(&body, extras, *ms) {
            Ok(rows) => {
                added += rows.len();
                raw.append_minutes(rows);
            }
            Err(e) => tracing::warn!(key = %key, error = %e, "live minutes skipped"),
        }
    }
    Ok(added)
}
