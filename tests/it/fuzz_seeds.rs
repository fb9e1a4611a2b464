//! The seed inputs of the cargo-fuzz targets (`fuzz/seeds/<target>/`), and any crash input
//! saved beside them as a regression, replayed through the targets' bodies on every test run.

use std::path::Path;

use bbb_connector::fuzzing::TARGETS;

#[test]
fn every_fuzz_target_passes_on_its_seeds() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    for (target, run) in TARGETS {
        let folder = seeds.join(target);
        let inputs: Vec<_> = std::fs::read_dir(&folder)
            .unwrap_or_else(|err| panic!("{}: {err}", folder.display()))
            .map(|entry| entry.expect("a readable seed").path())
            .collect();
        assert!(!inputs.is_empty(), "{target} has no seed");
        for input in inputs {
            run(&std::fs::read(&input).expect("a readable seed"));
        }
    }
}

#[test]
fn every_fuzz_target_has_a_file_in_fuzz_targets() {
    let targets = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    for (target, _) in TARGETS {
        assert!(targets.join(format!("{target}.rs")).is_file(), "fuzz/fuzz_targets/{target}.rs is missing");
    }
}
