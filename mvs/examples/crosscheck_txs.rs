//! Prints transactions built by the crate (with their spent outputs) as JSON for
//! `node mvs/crosscheck/crosscheck.js FILE`.

#[path = "../tests/support/crosscheck_txs.rs"]
mod crosscheck_txs;

fn main() {
    println!(
        "{}",
        serde_json::to_string_pretty(&crosscheck_txs::crosscheck_document()).unwrap()
    );
}
