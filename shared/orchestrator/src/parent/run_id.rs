//! A run's identity: the stocks resolved against the store, the run id derived from the
//! parameters and the raw files (so the same request resumes the same run), and the manifest,
//! written once.

use std::collections::BTreeMap;

use bytes::Bytes;
use groves_core::dataset;
use groves_core::ids::{RunId, Symbol};
use groves_core::layout;
use groves_core::spec::RunSpec;
use groves_stages::tables::read_manifest;
use groves_stages::StageError;
use groves_store::Store;

type Result<T> = std::result::Result<T, StageError>;

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Resolves a whole-run event against the store: the stocks (every raw file if none are named),
/// the run id (derived from the parameters and the raw files' names and sizes if not given, so
/// the same request on the same data resumes the same run), and the manifest, written once. A
/// manifest that exists with other parameters is an error, never overwritten.
pub async fn prepare_run(store: &dyn Store, spec: &RunSpec) -> Result<RunSpec> {
    prepare(store, spec, None).await
}

/// As [`prepare_run`], for a run started by the upload of one raw file: the object's version
/// (ETag or version id) goes into the derived run id too, so a corrected file of the same size
/// starts a new run instead of finding the old one's work done.
pub async fn prepare_upload_run(
    store: &dyn Store,
    spec: &RunSpec,
    version: &str,
) -> Result<RunSpec> {
    prepare(store, spec, Some(version)).await
}

async fn prepare(store: &dyn Store, spec: &RunSpec, upload: Option<&str>) -> Result<RunSpec> {
    let mut spec = spec.clone();
    let raw = store.list(layout::RAW_PREFIX).await?;
    let raw_stocks: BTreeMap<String, u64> = raw
        .iter()
        .filter_map(|m| layout::symbol_from_raw_key(&m.key).map(|s| (s.to_string(), m.size)))
        .collect();
    if spec.stocks.is_empty() {
        if raw_stocks.is_empty() {
            return Err(StageError::Invalid(format!(
                "no raw files under {}/{} (expected <SYMBOL>_minute_data_with_indicators.csv)",
                store.describe(),
                layout::RAW_PREFIX
            )));
        }
        spec.stocks = raw_stocks
            .keys()
            .map(Symbol::new)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| StageError::Invalid(e.to_string()))?;
    } else {
        let missing: Vec<&str> = spec
            .stocks
            .iter()
            .map(Symbol::as_str)
            .filter(|s| !raw_stocks.contains_key(*s))
            .collect();
        if !missing.is_empty() {
            return Err(StageError::Invalid(format!(
                "no raw file in {} for {}",
                store.describe(),
                missing
                    .iter()
                    .map(|s| format!("{s} ({}{})", layout::RAW_PREFIX, dataset::raw_file_name(s)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        spec.stocks.sort();
    }
    spec.bucket = None;
    // The manifest says what is learnt, whatever the defaults become later.
    spec.target = Some(spec.target());
    if spec.run.is_none() {
        let params = serde_json::to_vec(&spec)
            .map_err(|e| StageError::Invalid(format!("encoding the run: {e}")))?;
        let mut h = fnv1a(0xcbf2_9ce4_8422_2325, &params);
        for s in &spec.stocks {
            h = fnv1a(h, s.as_str().as_bytes());
            h = fnv1a(
                h,
                &raw_stocks
                    .get(s.as_str())
                    .copied()
                    .unwrap_or(0)
                    .to_le_bytes(),
            );
        }
        if let Some(version) = upload {
            h = fnv1a(h, version.as_bytes());
        }
        let id = format!("run-{:012x}", h >> 16);
        spec.run = Some(RunId::new(id).map_err(|e| StageError::Invalid(e.to_string()))?);
    }
    let run = super::plan::run_id(&spec)?;
    let key = layout::run_manifest_key(&run);
    let json = serde_json::to_vec_pretty(&spec)
        .map_err(|e| StageError::Invalid(format!("encoding the manifest: {e}")))?;
    if !store.put_if_absent(&key, Bytes::from(json)).await? {
        let stored = read_manifest(store, &run).await?;
        if stored != spec {
            let show = |s: &RunSpec| serde_json::to_string(s).unwrap_or_default();
            return Err(StageError::Invalid(format!(
                "run {run} already exists with other parameters; choose another run id (or none, to derive one from the parameters).\n  stored: {}\n  asked:  {}",
                show(&stored),
                show(&spec)
            )));
        }
    }
    Ok(spec)
}
