//! Loading `shared/mvs/vectors-testnet.json` (transactions built by metaversejs 0.3.98).
#![allow(dead_code)]

use mvs::attachment::{AssetTransfer, Attachment, AttachmentBody};
use mvs::hash::Hash256;
use mvs::keys::PrivateKey;
use mvs::tx::{OutPoint, Output};
use mvs::Address;
use serde_json::Value;

/// Path of the vectors file: `shared/` lives beside the repository.
pub fn vectors_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/mvs/vectors-testnet.json")
}

/// The parsed vectors file.
pub fn vectors() -> Value {
    let path = vectors_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("vectors file is JSON")
}

/// The four keys of the file, by index.
pub fn keys(v: &Value) -> Vec<PrivateKey> {
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| PrivateKey::from_wif(k["wif"].as_str().unwrap()).unwrap())
        .collect()
}

/// A spent output described in a vector.
pub struct Prevout {
    pub outpoint: OutPoint,
    pub address: Address,
    pub output: Output,
}

/// The prevouts of one vector transaction.
pub fn prevouts(tx: &Value) -> Vec<Prevout> {
    tx["prevouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let address = Address::parse(p["address"].as_str().unwrap()).unwrap();
            let attachment = match p["attachment"]["type"].as_str().unwrap() {
                "etp" => Attachment::etp(),
                "asset-transfer" => {
                    Attachment::plain(AttachmentBody::AssetTransfer(AssetTransfer {
                        symbol: p["attachment"]["symbol"].as_str().unwrap().to_string(),
                        quantity: p["attachment"]["quantity"].as_u64().unwrap(),
                    }))
                }
                other => panic!("unexpected prevout attachment type {other}"),
            };
            Prevout {
                outpoint: OutPoint::new(
                    Hash256::from_display_hex(p["txid"].as_str().unwrap()).unwrap(),
                    p["index"].as_u64().unwrap() as u32,
                ),
                address,
                output: Output {
                    value: p["value"].as_u64().unwrap(),
                    script_pubkey: address.script_pubkey(),
                    attachment,
                },
            }
        })
        .collect()
}

/// Finds the vector key that owns `address`.
pub fn key_for<'a>(keys: &'a [PrivateKey], address: &Address) -> &'a PrivateKey {
    keys.iter()
        .find(|k| k.address() == *address)
        .expect("vector key for address")
}
