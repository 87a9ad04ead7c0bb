//! The HTTP API: `GET /predict?stock=…&prices=…`, `POST /predict` (a JSON batch),
//! `GET /models`, `GET /health`. `groves serve` binds it; the predict Lambda runs the same
//! router behind its Function URL.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{to_bytes, Body};
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use groves_core::ids::Symbol;
use groves_core::layout;
use serde::Serialize;
use serde_json::{json, Value};

use crate::cache::ModelCache;
use crate::model::{read_pointer, LoadedModel, Row};
use crate::request::{parse_batch, parse_query, RowInput, MAX_BODY};
use crate::ServeError;

/// The router over a model cache.
pub fn router(cache: Arc<ModelCache>) -> Router {
    Router::new()
        .route("/predict", get(predict_get).post(predict_post))
        .route("/models", get(models))
        .route("/health", get(health))
        .fallback(not_found)
        .with_state(cache)
}

fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut body = json!({ "error": self.to_string() });
        if let Some(field) = self.field() {
            body["field"] = Value::from(field);
        }
        json_response(status, &body)
    }
}

/// What served a forecast.
#[derive(Debug, Serialize)]
struct ModelInfo<'a> {
    run: &'a str,
    feat: u32,
    samp: u32,
    groves: usize,
    trees: u32,
    target: &'a str,
    features: &'a [String],
    trained_until: &'a str,
    test_mse: f64,
    naive_mse: f64,
    trained_by: &'a str,
    served_by: &'static str,
}

fn model_info(m: &LoadedModel) -> ModelInfo<'_> {
    let p = &m.pointer;
    ModelInfo {
        run: p.run.as_str(),
        feat: p.feat,
        samp: p.samp,
        groves: p.groves.len(),
        trees: p.trees,
        target: p.target.as_str(),
        features: &p.features,
        trained_until: &p.trained_until,
        test_mse: p.test_mse,
        naive_mse: p.naive_mse,
        trained_by: &p.code_version,
        served_by: env!("CARGO_PKG_VERSION"),
    }
}

fn elapsed_ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Forecasts for rows of one stock: (forecast, naive) per row.
async fn forecast_rows(
    cache: &ModelCache,
    stock: &Symbol,
    rows: &[&RowInput],
) -> Result<(Arc<LoadedModel>, Vec<(f64, f64)>), ServeError> {
    let model = cache.get(stock).await?;
    let built = rows
        .iter()
        .map(|r| r.to_row(&model.pointer))
        .collect::<Result<Vec<_>, _>>()?;
    let m = Arc::clone(&model);
    // Trees are walked on a blocking thread: a big batch must not stall other requests.
    let forecasts = tokio::task::spawn_blocking(move || {
        let f = m.forecast(&built)?;
        Ok::<_, ServeError>(
            f.into_iter()
                .zip(built.iter().map(Row::now))
                .collect::<Vec<_>>(),
        )
    })
    .await
    .map_err(|e| ServeError::Model {
        stock: stock.to_string(),
        problem: format!("the forecast stopped: {e}"),
    })??;
    Ok((model, forecasts))
}

async fn predict_get(
    State(cache): State<Arc<ModelCache>>,
    RawQuery(query): RawQuery,
) -> Result<Response, ServeError> {
    let started = Instant::now();
    let input = parse_query(query.as_deref().unwrap_or(""))?;
    let (model, f) = forecast_rows(&cache, &input.stock, &[&input]).await?;
    let (forecast, naive) = f[0];
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "stock": input.stock.as_str(),
            "forecast": forecast,
            "naive": naive,
            "horizon": model.pointer.horizon,
            "model": model_info(&model),
            "took_ms": elapsed_ms(started),
        }),
    ))
}

async fn predict_post(
    State(cache): State<Arc<ModelCache>>,
    body: Body,
) -> Result<Response, ServeError> {
    let started = Instant::now();
    let bytes = to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ServeError::TooLarge { limit: MAX_BODY })?;
    let inputs = parse_batch(&bytes)?;
    // Rows grouped by stock (one matrix per model), answered in the order given.
    let mut by_stock: BTreeMap<&Symbol, Vec<usize>> = BTreeMap::new();
    for (i, r) in inputs.iter().enumerate() {
        by_stock.entry(&r.stock).or_default().push(i);
    }
    let mut out: Vec<Value> = vec![Value::Null; inputs.len()];
    let mut models = serde_json::Map::new();
    for (stock, idx) in by_stock {
        let rows: Vec<&RowInput> = idx.iter().map(|&i| &inputs[i]).collect();
        let (model, f) = forecast_rows(&cache, stock, &rows).await?;
        for (&i, (forecast, naive)) in idx.iter().zip(f) {
            out[i] = json!({
                "stock": stock.as_str(),
                "forecast": forecast,
                "naive": naive,
                "horizon": model.pointer.horizon,
            });
        }
        models.insert(
            stock.to_string(),
            serde_json::to_value(model_info(&model)).unwrap_or(Value::Null),
        );
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({ "forecasts": out, "models": models, "took_ms": elapsed_ms(started) }),
    ))
}

async fn models(State(cache): State<Arc<ModelCache>>) -> Result<Response, ServeError> {
    let store = cache.store();
    let mut listed = Vec::new();
    for obj in store.list(layout::CURRENT_MODELS_PREFIX).await? {
        let Some(name) = layout::symbol_from_serving_pointer_key(&obj.key) else {
            continue;
        };
        let Ok(stock) = Symbol::new(name) else {
            continue;
        };
        if let Some(p) = read_pointer(store, &stock).await? {
            listed.push(p);
        }
    }
    let usage = cache.usage();
    let models: Vec<Value> = listed
        .iter()
        .map(|p| {
            let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
            v["loaded"] = Value::from(usage.loaded.contains(&p.stock.to_string()));
            v
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "models": models, "cache": usage }),
    ))
}

async fn health(State(cache): State<Arc<ModelCache>>) -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "store": cache.store().describe(),
            "kernels": forest::kernels_in_use().unwrap_or("unknown"),
        }),
    )
}

async fn not_found() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        &json!({ "error": "no such endpoint: GET /predict, POST /predict, GET /models, GET /health" }),
    )
}
