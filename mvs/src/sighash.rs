//! The legacy SIGHASH_ALL signature digest.

use crate::encoding::{Encode, WriteExt};
use crate::hash::sha256d;
use crate::script::Script;
use crate::tx::Transaction;

/// Sighash type "all": the signature commits to every input and output.
pub const SIGHASH_ALL: u32 = 1;

/// The digest input `input_index` signs: the transaction with every input script
/// emptied except this input's, which holds the spent output's scriptPubKey; attachments
/// included; then `u32 SIGHASH_ALL`; double SHA-256.
///
/// Panics if `input_index` is out of range (a programming error, not bad data).
pub fn sighash_all(tx: &Transaction, input_index: usize, spent_script: &Script) -> [u8; 32] {
    assert!(
        input_index < tx.inputs.len(),
        "input index {input_index} out of range"
    );
    let mut copy = tx.clone();
    for (i, input) in copy.inputs.iter_mut().enumerate() {
        input.script = if i == input_index {
            spent_script.clone()
        } else {
            Script::default()
        };
    }
    let mut bytes = copy.encode();
    bytes.put_u32(SIGHASH_ALL);
    sha256d(&bytes)
}
