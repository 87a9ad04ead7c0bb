//! The files beside the code agree with it: every sample event parses for its stage, every
//! function crate has a sample event and a template entry.

use std::path::{Path, PathBuf};

use shared::events::{parse_event, Stage};

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

#[test]
fn every_function_crate_has_an_event_and_a_template_entry() {
    let template = std::fs::read_to_string(repo().join("template.yaml")).unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(repo().join("functions")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        seen += 1;
        let stage =
            Stage::from_name(&name).unwrap_or_else(|_| panic!("functions/{name} is not a stage"));
        assert!(repo()
            .join("events")
            .join(format!("{stage}.json"))
            .is_file());
        assert!(
            template.contains(&format!("Binary: {name}\n")),
            "template.yaml has no function built from the {name} binary"
        );
    }
    assert!(seen >= 1);
}
