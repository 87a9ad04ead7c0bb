//! The files beside the code agree with it: every sample event parses for its stage, every
//! function crate has a sample event and a template entry.

use std::path::{Path, PathBuf};

use groves_core::events::parse_event;
use groves_core::stage::Stage;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn every_stage_has_a_sample_event_that_parses() {
    for stage in Stage::ALL {
        let path = repo().join("events").join(format!("{stage}.json"));
        let json = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let event = parse_event(stage, &json).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(event.stage(), stage);
    }
}

/// The function names `template.yaml` builds (`BuildProperties: Binary: <name>`).
fn template_binaries(template: &str) -> Vec<String> {
    template
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Binary: "))
        .map(|b| b.trim().to_string())
        .collect()
}

#[test]
fn every_function_crate_has_an_event_and_a_template_entry_and_back() {
    let template = std::fs::read_to_string(repo().join("template.yaml")).unwrap();
    let binaries = template_binaries(&template);
    let mut crates = Vec::new();
    for entry in std::fs::read_dir(repo().join("functions")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let event = repo().join("events").join(format!("{name}.json"));
        let json = std::fs::read(&event).unwrap_or_else(|e| panic!("{}: {e}", event.display()));
        match Stage::from_name(&name) {
            Ok(stage) => {
                parse_event(stage, &json).unwrap_or_else(|e| panic!("{}: {e}", event.display()));
            }
            Err(_) if name == "predict" => {
                // A Function URL request for GET /predict, as aws_lambda_events types it.
                let req: aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest =
                    serde_json::from_slice(&json)
                        .unwrap_or_else(|e| panic!("{}: {e}", event.display()));
                assert_eq!(req.raw_path.as_deref(), Some("/predict"));
                let q = req.raw_query_string.unwrap_or_default();
                groves_serving::request::parse_query(&q)
                    .unwrap_or_else(|e| panic!("{}: {e}", event.display()));
            }
            Err(_) if name == "trigger" => {
                let n = groves_orchestrator::trigger::parse_notification(&json)
                    .unwrap_or_else(|e| panic!("{}: {e}", event.display()));
                assert!(!n.records.is_empty(), "{}", event.display());
            }
            Err(_) if name == "score" => {
                // An S3 notification of a live minute: the key names a stock and a minute.
                let n = groves_orchestrator::trigger::parse_notification(&json)
                    .unwrap_or_else(|e| panic!("{}: {e}", event.display()));
                let key = groves_orchestrator::trigger::decoded_key(&n.records[0])
                    .unwrap_or_else(|e| panic!("{}: {e}", event.display()));
                assert!(
                    groves_core::layout::parse_live_minute_key(&key).is_some(),
                    "{}: {key}",
                    event.display()
                );
                // And a Kafka batch (`score-kafka.json`): each value is a live minute.
                let kafka = repo().join("events/score-kafka.json");
                let event: aws_lambda_events::event::kafka::KafkaEvent =
                    serde_json::from_slice(&std::fs::read(&kafka).unwrap())
                        .unwrap_or_else(|e| panic!("{}: {e}", kafka.display()));
                let records: Vec<_> = event.records.into_values().flatten().collect();
                assert!(!records.is_empty());
                for r in records {
                    use base64::Engine;
                    let b64 = base64::engine::general_purpose::STANDARD;
                    let key = b64.decode(r.key.unwrap()).unwrap();
                    assert!(
                        groves_core::ids::Symbol::new(std::str::from_utf8(&key).unwrap()).is_ok()
                    );
                    let value = b64.decode(r.value.unwrap()).unwrap();
                    groves_live::stream::first_minute(&value)
                        .unwrap_or_else(|e| panic!("{}: {e}", kafka.display()));
                }
            }
            Err(_) => panic!("functions/{name} is neither a stage, the trigger, predict nor score"),
        }
        assert!(
            binaries.contains(&name),
            "template.yaml has no function built from the {name} binary"
        );
        crates.push(name);
    }
    for b in &binaries {
        assert!(
            crates.contains(b),
            "template.yaml builds {b}, but there is no functions/{b} crate"
        );
    }
    assert_eq!(crates.len(), 11, "{crates:?}");
    assert_eq!(binaries.len(), crates.len(), "{binaries:?}");
}
