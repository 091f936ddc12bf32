//! Runs `crosscheck/crosscheck.js`: metaversejs decodes transactions built by this crate
//! and @noble/secp256k1 verifies every signature. Needs `npm ci --prefix mvs/crosscheck`.

#[path = "support/crosscheck_txs.rs"]
mod crosscheck_txs;

use std::path::Path;
use std::process::Command;

#[test]
fn metaversejs_decodes_and_noble_verifies_crate_transactions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crosscheck");
    assert!(
        dir.join("node_modules/metaversejs").is_dir() && dir.join("node_modules/@noble/secp256k1").is_dir(),
        "crosscheck dependencies are missing: run `npm ci --prefix mvs/crosscheck` from the repository root"
    );
    let document = crosscheck_txs::crosscheck_document();
    let count = document["transactions"].as_array().unwrap().len();
    let inputs: usize = document["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["prevouts"].as_array().unwrap().len())
        .sum();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(&document).unwrap()).unwrap();

    let output = Command::new("node")
        .arg(dir.join("crosscheck.js"))
        .arg(file.path())
        .output()
        .expect("cannot run `node`: install Node.js (20+) to run the metaversejs cross-check");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cross-check failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&report).expect("report is JSON");
    assert_eq!(report["ok"], true);
    assert_eq!(report["transactions"].as_u64().unwrap() as usize, count);
    assert_eq!(
        report["inputs_verified"].as_u64().unwrap() as usize,
        inputs,
        "every input verified"
    );
}
