//! The JSON form of transactions that mvsd's `decoderawtx`/`gettx` print (and that
//! metaversejs' decoder produces): used by the development chain and for debugging.

use serde_json::{json, Map, Value};

use crate::address::Address;
use crate::attachment::{AttachmentBody, AvatarStatus};
use crate::network::Network;
use crate::tx::{Output, Transaction};

/// The decoded transaction as JSON: version, inputs, outputs (with address), lock_time.
pub fn transaction_json(tx: &Transaction, network: Network) -> Value {
    let inputs: Vec<Value> = tx
        .inputs
        .iter()
        .map(|i| {
            json!({
                "previous_output": {"hash": i.previous_output.txid.to_string(), "index": i.previous_output.index},
                "script": i.script.to_asm(),
                "sequence": i.sequence,
            })
        })
        .collect();
    let outputs: Vec<Value> = tx.outputs.iter().map(|o| output_json(o, network)).collect();
    json!({
        "version": tx.version,
        "inputs": inputs,
        "outputs": outputs,
        "lock_time": tx.lock_time,
    })
}

/// One output: value, script, attachment, address.
pub fn output_json(output: &Output, network: Network) -> Value {
    let mut o = Map::new();
    o.insert("value".into(), json!(output.value));
    o.insert("script".into(), json!(output.script_pubkey.to_asm()));
    o.insert("attachment".into(), attachment_json(output));
    if let Some(address) = Address::from_script(&output.script_pubkey, network) {
        o.insert("address".into(), json!(address.to_string()));
    }
    Value::Object(o)
}

/// The attachment of an output, with the field names metaversejs uses.
pub fn attachment_json(output: &Output) -> Value {
    let a = &output.attachment;
    let mut m = Map::new();
    m.insert("version".into(), json!(a.version));
    m.insert("type".into(), json!(a.type_id()));
    if a.has_dids() {
        m.insert("to_did".into(), json!(a.to_did));
        m.insert("from_did".into(), json!(a.from_did));
    }
    match &a.body {
        AttachmentBody::Etp => {}
        AttachmentBody::AssetIssue(d) => {
            m.insert("status".into(), json!(1));
            m.insert("symbol".into(), json!(d.symbol));
            m.insert("max_supply".into(), json!(d.max_supply));
            m.insert("precision".into(), json!(d.decimal_number));
            let threshold: i64 = if d.secondaryissue_threshold == crate::attachment::SECONDARY_ISSUE_FREE {
                -1
            } else {
                d.secondaryissue_threshold as i64
            };
            m.insert("secondaryissue_threshold".into(), json!(threshold));
            m.insert("is_secondaryissue".into(), json!(d.reserved[0]));
            m.insert("issuer".into(), json!(d.issuer));
            m.insert("address".into(), json!(d.address));
            m.insert("description".into(), json!(d.description));
        }
        AttachmentBody::AssetTransfer(t) => {
            m.insert("status".into(), json!(2));
            m.insert("symbol".into(), json!(t.symbol));
            m.insert("quantity".into(), json!(t.quantity));
        }
        AttachmentBody::Message(text) => {
            m.insert("content".into(), json!(text));
        }
        AttachmentBody::Avatar(d) => {
            let status = match d.status {
                AvatarStatus::Register => 1,
                AvatarStatus::Transfer => 2,
            };
            m.insert("status".into(), json!(status));
            m.insert("symbol".into(), json!(d.symbol));
            m.insert("address".into(), json!(d.address));
        }
        AttachmentBody::Certificate(c) => {
            m.insert("symbol".into(), json!(c.symbol));
            m.insert("owner".into(), json!(c.owner));
            m.insert("address".into(), json!(c.address));
            m.insert("cert".into(), json!(c.cert_type.to_u32()));
            m.insert("status".into(), json!(c.status));
        }
    }
    Value::Object(m)
}
