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
            // As metaversejs' decoder: 127 alone is "free" (-1); a flagged byte loses the
            // flag (so a free secondary issue, 255, reads 127) and sets is_secondaryissue.
            let threshold: i64 =
                if d.secondaryissue_threshold == crate::attachment::SECONDARY_ISSUE_FREE {
                    -1
                } else {
                    d.threshold() as i64
                };
            m.insert("secondaryissue_threshold".into(), json!(threshold));
            m.insert(
                "is_secondaryissue".into(),
                json!(u8::from(d.is_secondary_issue())),
            );
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

/// Reads back an attachment printed by [`attachment_json`] (the fields metaversejs uses).
pub fn attachment_from_json(v: &Value) -> Option<crate::attachment::Attachment> {
    use crate::attachment::*;
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let n = |k: &str| v.get(k).and_then(Value::as_u64);
    let version = n("version").unwrap_or(1) as u32;
    let body = match n("type")? {
        0 => AttachmentBody::Etp,
        2 => match n("status")? {
            1 => AttachmentBody::AssetIssue(AssetDetail {
                symbol: s("symbol")?,
                max_supply: n("max_supply")?,
                decimal_number: n("precision")? as u8,
                secondaryissue_threshold: match v.get("secondaryissue_threshold")?.as_i64()? {
                    -1 => SECONDARY_ISSUE_FREE,
                    t if n("is_secondaryissue") == Some(1) => t as u8 | SECONDARY_ISSUE_FLAG,
                    t => t as u8,
                },
                reserved: [0, 0],
                issuer: s("issuer")?,
                address: s("address")?,
                description: s("description")?,
            }),
            2 => AttachmentBody::AssetTransfer(AssetTransfer {
                symbol: s("symbol")?,
                quantity: n("quantity")?,
            }),
            _ => return None,
        },
        3 => AttachmentBody::Message(s("content")?),
        4 => AttachmentBody::Avatar(AvatarBody {
            status: if n("status")? == 1 {
                AvatarStatus::Register
            } else {
                AvatarStatus::Transfer
            },
            symbol: s("symbol")?,
            address: s("address")?,
        }),
        5 => AttachmentBody::Certificate(Certificate {
            symbol: s("symbol")?,
            owner: s("owner")?,
            address: s("address")?,
            cert_type: CertType::from_u32(n("cert")? as u32),
            status: n("status")? as u8,
        }),
        _ => return None,
    };
    Some(Attachment {
        version,
        to_did: s("to_did").unwrap_or_default(),
        from_did: s("from_did").unwrap_or_default(),
        body,
    })
}
