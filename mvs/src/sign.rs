//! Signing P2PKH inputs and verifying every input of a transaction against the
//! outputs it spends.

use crate::hash::hash160;
use crate::keys::{PrivateKey, PublicKey};
use crate::script::Script;
use crate::sighash::{sighash_all, SIGHASH_ALL};
use crate::tx::{Output, Transaction};

/// Why an input could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// No input at that position.
    #[error("input {0} does not exist")]
    NoSuchInput(usize),
    /// The spent output is not P2PKH.
    #[error("input {0} spends a script that is not P2PKH")]
    UnsupportedScript(usize),
    /// The key's public key hash is not the one the spent output pays.
    #[error("input {0}: the key does not own the spent output")]
    WrongKey(usize),
}

/// Why an input's signature does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Each input needs exactly one spent output.
    #[error("{inputs} inputs but {prevouts} spent outputs given")]
    PrevoutCountMismatch {
        /// Number of inputs.
        inputs: usize,
        /// Number of spent outputs given.
        prevouts: usize,
    },
    /// Only P2PKH outputs can be verified.
    #[error("input {0} spends a script that is not P2PKH")]
    UnsupportedScript(usize),
    /// The scriptSig is not `<sig> <pubkey>`.
    #[error("input {0}: scriptSig is not <signature> <public key>")]
    MalformedScriptSig(usize),
    /// Only SIGHASH_ALL is used by MVS wallets.
    #[error("input {input}: sighash type {found} is not SIGHASH_ALL")]
    WrongHashType {
        /// Input position.
        input: usize,
        /// The type byte found.
        found: u8,
    },
    /// The public key is not a curve point.
    #[error("input {0}: invalid public key")]
    InvalidPublicKey(usize),
    /// The public key does not hash to the spent output's hash.
    #[error("input {0}: public key does not match the spent output's address")]
    PublicKeyMismatch(usize),
    /// Not strict DER, or high S.
    #[error("input {0}: signature is not strict DER with low S")]
    NonCanonicalSignature(usize),
    /// The signature does not verify.
    #[error("input {0}: signature does not verify")]
    BadSignature(usize),
}

/// Signs input `index` (spending an output locked by `spent_script`) with `key`
/// and writes `push(sig || 0x01) push(compressed pubkey)` into its script.
pub fn sign_input(
    tx: &mut Transaction,
    index: usize,
    key: &PrivateKey,
    spent_script: &Script,
) -> Result<(), SignError> {
    if index >= tx.inputs.len() {
        return Err(SignError::NoSuchInput(index));
    }
    let owner = spent_script
        .p2pkh_hash()
        .ok_or(SignError::UnsupportedScript(index))?;
    let public_key = key.public_key();
    if public_key.hash160() != owner {
        return Err(SignError::WrongKey(index));
    }
    let digest = sighash_all(tx, index, spent_script);
    let mut sig = key.sign_digest(&digest);
    sig.push(SIGHASH_ALL as u8);
    tx.inputs[index].script = Script::from_pushes(&[&sig, &public_key.to_bytes()]);
    Ok(())
}

/// Signs every input; `keys[i]` and `spent[i]` belong to input `i`.
pub fn sign_all(
    tx: &mut Transaction,
    keys: &[&PrivateKey],
    spent: &[&Script],
) -> Result<(), SignError> {
    for (i, (key, script)) in keys.iter().zip(spent).enumerate() {
        sign_input(tx, i, key, script)?;
    }
    Ok(())
}

/// Verifies input `index` against the output it spends.
pub fn verify_input(tx: &Transaction, index: usize, spent: &Output) -> Result<(), VerifyError> {
    let owner = spent
        .script_pubkey
        .p2pkh_hash()
        .ok_or(VerifyError::UnsupportedScript(index))?;
    let items = tx.inputs[index]
        .script
        .pushes()
        .ok_or(VerifyError::MalformedScriptSig(index))?;
    let [sig_with_type, pubkey_bytes] = items[..] else {
        return Err(VerifyError::MalformedScriptSig(index));
    };
    let Some((&hash_type, der)) = sig_with_type.split_last() else {
        return Err(VerifyError::MalformedScriptSig(index));
    };
    if hash_type as u32 != SIGHASH_ALL {
        return Err(VerifyError::WrongHashType {
            input: index,
            found: hash_type,
        });
    }
    // The address commits to the exact key bytes pushed (compressed or not).
    if hash160(pubkey_bytes) != owner {
        return Err(VerifyError::PublicKeyMismatch(index));
    }
    let public_key =
        PublicKey::from_slice(pubkey_bytes).map_err(|_| VerifyError::InvalidPublicKey(index))?;
    if !is_strict_der(der) || !is_low_s(der) {
        return Err(VerifyError::NonCanonicalSignature(index));
    }
    let digest = sighash_all(tx, index, &spent.script_pubkey);
    if !public_key.verify_digest(&digest, der) {
        return Err(VerifyError::BadSignature(index));
    }
    Ok(())
}

/// Verifies every input; `spent[i]` is the output input `i` spends.
pub fn verify_transaction(tx: &Transaction, spent: &[&Output]) -> Result<(), VerifyError> {
    if spent.len() != tx.inputs.len() {
        return Err(VerifyError::PrevoutCountMismatch {
            inputs: tx.inputs.len(),
            prevouts: spent.len(),
        });
    }
    for (i, output) in spent.iter().enumerate() {
        verify_input(tx, i, output)?;
    }
    Ok(())
}

/// BIP 66 strict DER check of a signature without its sighash byte.
pub fn is_strict_der(sig: &[u8]) -> bool {
    // 0x30 len 0x02 rlen r 0x02 slen s
    if sig.len() < 8 || sig.len() > 72 || sig[0] != 0x30 || sig[1] as usize != sig.len() - 2 {
        return false;
    }
    let r_len = sig[3] as usize;
    if sig[2] != 0x02 || r_len == 0 || 5 + r_len >= sig.len() {
        return false;
    }
    let s_len = sig[5 + r_len] as usize;
    if sig[4 + r_len] != 0x02 || s_len == 0 || r_len + s_len + 6 != sig.len() {
        return false;
    }
    let r = &sig[4..4 + r_len];
    let s = &sig[6 + r_len..];
    let canonical_int =
        |x: &[u8]| x[0] & 0x80 == 0 && !(x.len() > 1 && x[0] == 0 && x[1] & 0x80 == 0);
    canonical_int(r) && canonical_int(s)
}

/// Whether the S value of a strict-DER signature is at most half the curve order.
pub fn is_low_s(der: &[u8]) -> bool {
    let Ok(sig) = secp256k1::ecdsa::Signature::from_der(der) else {
        return false;
    };
    let mut normalized = sig;
    normalized.normalize_s();
    normalized == sig
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attachment::Attachment;
    use crate::hash::Hash256;
    use crate::network::Network;
    use crate::tx::{Input, OutPoint, TX_VERSION};

    fn one_input_tx(key: &PrivateKey) -> (Transaction, Output) {
        let spent = Output {
            value: 5_000,
            script_pubkey: key.address().script_pubkey(),
            attachment: Attachment::etp(),
        };
        let tx = Transaction {
            version: TX_VERSION,
            inputs: vec![Input::unsigned(OutPoint::new(Hash256([9; 32]), 0))],
            outputs: vec![Output {
                value: 4_000,
                script_pubkey: key.address().script_pubkey(),
                attachment: Attachment::etp(),
            }],
            lock_time: 0,
        };
        (tx, spent)
    }

    #[test]
    fn signed_input_verifies_and_tampering_is_detected() {
        let key = PrivateKey::generate(Network::Testnet);
        let (mut tx, spent) = one_input_tx(&key);
        sign_input(&mut tx, 0, &key, &spent.script_pubkey).unwrap();
        verify_transaction(&tx, &[&spent]).unwrap();

        let mut changed = tx.clone();
        changed.outputs[0].value += 1;
        assert_eq!(
            verify_transaction(&changed, &[&spent]),
            Err(VerifyError::BadSignature(0))
        );

        let other = PrivateKey::generate(Network::Testnet);
        assert_eq!(
            sign_input(&mut tx.clone(), 0, &other, &spent.script_pubkey),
            Err(SignError::WrongKey(0))
        );
    }

    #[test]
    fn high_s_signature_is_rejected() {
        let key = PrivateKey::generate(Network::Testnet);
        let (mut tx, spent) = one_input_tx(&key);
        sign_input(&mut tx, 0, &key, &spent.script_pubkey).unwrap();
        let items = tx.inputs[0].script.pushes().unwrap();
        let der = &items[0][..items[0].len() - 1];
        let sig = secp256k1::ecdsa::Signature::from_der(der).unwrap();
        // Flip S to n - S: still a valid ECDSA signature, but malleated.
        let compact = sig.serialize_compact();
        let s = secp256k1::SecretKey::from_slice(&compact[32..])
            .unwrap()
            .negate();
        let mut high = compact;
        high[32..].copy_from_slice(&s.secret_bytes());
        let high_sig = secp256k1::ecdsa::Signature::from_compact(&high).unwrap();
        let mut der_high = high_sig.serialize_der().to_vec();
        der_high.push(1);
        let pubkey = items[1].to_vec();
        tx.inputs[0].script = Script::from_pushes(&[&der_high, &pubkey]);
        assert_eq!(
            verify_transaction(&tx, &[&spent]),
            Err(VerifyError::NonCanonicalSignature(0))
        );
    }

    #[test]
    fn strict_der_rejects_padding() {
        // r with an unnecessary leading zero.
        let bad = hex::decode("3007020200010201 01".replace(' ', "")).unwrap();
        assert!(!is_strict_der(&bad));
        assert!(is_strict_der(&hex::decode("3006020101020101").unwrap()));
    }
}
