//! Every transaction metaversejs built in `shared/mvs/vectors-testnet.json` must decode,
//! re-encode byte for byte, have the recorded txid, verify, decode to the same JSON, and
//! come out identical when re-signed by this crate.

mod common;

use mvs::encoding::{Decode, Encode};
use mvs::sign::{sign_input, verify_transaction, VerifyError};
use mvs::tx::Transaction;
use mvs::Network;

#[test]
fn keys_match_the_vectors() {
    let v = common::vectors();
    for k in v["keys"].as_array().unwrap() {
        let key = mvs::keys::PrivateKey::from_wif(k["wif"].as_str().unwrap()).unwrap();
        assert_eq!(
            hex::encode(key.to_bytes()),
            k["private_key_hex"].as_str().unwrap()
        );
        assert_eq!(
            hex::encode(key.public_key().to_bytes()),
            k["public_key_hex"].as_str().unwrap()
        );
        assert_eq!(key.address().to_string(), k["address"].as_str().unwrap());
        assert_eq!(key.to_wif(), k["wif"].as_str().unwrap());
    }
}

#[test]
fn every_vector_round_trips_byte_identically_with_its_txid() {
    let v = common::vectors();
    let txs = v["transactions"].as_array().unwrap();
    assert_eq!(txs.len(), 5);
    for t in txs {
        let name = t["name"].as_str().unwrap();
        let raw = t["raw_hex"].as_str().unwrap();
        let tx = Transaction::decode_hex(raw).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(tx.encode_hex(), raw, "{name}: re-encoding differs");
        assert_eq!(
            tx.txid().to_string(),
            t["txid"].as_str().unwrap(),
            "{name}: txid"
        );
        assert_eq!(
            Transaction::decode(&tx.encode()).unwrap(),
            tx,
            "{name}: decode(encode(x)) != x"
        );
    }
}

#[test]
fn every_vector_decodes_to_the_json_metaversejs_printed() {
    let v = common::vectors();
    for t in v["transactions"].as_array().unwrap() {
        let tx = Transaction::decode_hex(t["raw_hex"].as_str().unwrap()).unwrap();
        assert_eq!(
            mvs::json::transaction_json(&tx, Network::Testnet),
            t["decoded"],
            "{}",
            t["name"]
        );
    }
}

#[test]
fn every_vector_input_verifies_against_its_prevout() {
    let v = common::vectors();
    for t in v["transactions"].as_array().unwrap() {
        let tx = Transaction::decode_hex(t["raw_hex"].as_str().unwrap()).unwrap();
        let prevouts = common::prevouts(t);
        for (input, p) in tx.inputs.iter().zip(&prevouts) {
            assert_eq!(input.previous_output, p.outpoint);
        }
        let spent: Vec<_> = prevouts.iter().map(|p| &p.output).collect();
        verify_transaction(&tx, &spent).unwrap_or_else(|e| panic!("{}: {e}", t["name"]));

        // The signature commits to the spent output's script: a different owner fails.
        let mut wrong = prevouts[0].output.clone();
        wrong.script_pubkey = prevouts.last().unwrap().address.script_pubkey();
        if wrong.script_pubkey != prevouts[0].output.script_pubkey {
            let mut spent_wrong = spent.clone();
            spent_wrong[0] = &wrong;
            assert_eq!(
                verify_transaction(&tx, &spent_wrong),
                Err(VerifyError::PublicKeyMismatch(0)),
                "{}",
                t["name"]
            );
        }
    }
}

#[test]
fn re_signing_the_unsigned_vector_reproduces_metaversejs_signatures() {
    let v = common::vectors();
    let keys = common::keys(&v);
    for t in v["transactions"].as_array().unwrap() {
        let signed = Transaction::decode_hex(t["raw_hex"].as_str().unwrap()).unwrap();
        let mut tx = signed.clone();
        for input in &mut tx.inputs {
            input.script = Default::default();
        }
        for (i, p) in common::prevouts(t).iter().enumerate() {
            sign_input(
                &mut tx,
                i,
                common::key_for(&keys, &p.address),
                &p.output.script_pubkey,
            )
            .unwrap();
        }
        assert_eq!(tx, signed, "{}: RFC 6979 signatures differ", t["name"]);
    }
}

mod builders_reproduce_vectors {
    //! The crate's builders, given the same inputs, produce metaversejs' transactions
    //! byte for byte (same layout, same RFC 6979 signatures, same txid).

    use super::common::{self, Prevout};
    use mvs::builder::{
        AvatarRegistration, DomainCertificate, MstIssue, MstTransfer, Recipient, SecondaryIssue,
        Spendable,
    };
    use mvs::consensus::MAX_DEVELOPER_SHARE;
    use mvs::keys::PrivateKey;
    use mvs::symbol::{AvatarName, Symbol};
    use mvs::tx::Transaction;
    use mvs::Network;
    use serde_json::Value;

    fn vector(name: &str) -> (Value, Vec<PrivateKey>) {
        let v = common::vectors();
        let keys = common::keys(&v);
        let t = v["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()
            .clone();
        (t, keys)
    }

    fn spendable(p: &Prevout, keys: &[PrivateKey]) -> Spendable {
        Spendable {
            outpoint: p.outpoint,
            output: p.output.clone(),
            key: common::key_for(keys, &p.address).clone(),
        }
    }

    fn assert_same(tx: &Transaction, t: &Value) {
        assert_eq!(
            tx.txid().to_string(),
            t["txid"].as_str().unwrap(),
            "{}",
            t["name"]
        );
        assert_eq!(
            mvs::encoding::Encode::encode_hex(tx),
            t["raw_hex"].as_str().unwrap()
        );
    }

    #[test]
    fn transfer_with_sponsor_fee() {
        let (t, k) = vector("mst_transfer_with_sponsor_fee");
        let p = common::prevouts(&t);
        let tx = MstTransfer {
            network: Network::Testnet,
            symbol: "SHOP.POINTS".into(),
            asset_inputs: vec![spendable(&p[0], &k)],
            recipients: vec![Recipient::address(k[2].address(), 150)],
            asset_change: k[0].address(),
            fee_inputs: vec![spendable(&p[1], &k)],
            fee_change: k[1].address(),
            fee: 10_000,
        }
        .build()
        .unwrap();
        assert_same(&tx, &t);
    }

    #[test]
    fn batched_award() {
        let (t, k) = vector("mst_batched_award");
        let p = common::prevouts(&t);
        let to = [2, 3, 2, 3, 2];
        let recipients = (0..5)
            .map(|i| Recipient::address(k[to[i]].address(), 10 * (i as u64 + 1)))
            .collect();
        let tx = MstTransfer {
            network: Network::Testnet,
            symbol: "SHOP.POINTS".into(),
            asset_inputs: vec![spendable(&p[0], &k)],
            recipients,
            asset_change: k[0].address(),
            fee_inputs: vec![spendable(&p[1], &k)],
            fee_change: k[1].address(),
            fee: 10_000,
        }
        .build()
        .unwrap();
        assert_same(&tx, &t);
    }

    #[test]
    fn issue_with_certificates() {
        let (t, k) = vector("mst_issue_with_certs");
        let p = common::prevouts(&t);
        let tx = MstIssue {
            network: Network::Testnet,
            symbol: Symbol::parse("SHOP.POINTS").unwrap(),
            max_supply: 100_000_000,
            decimals: 2,
            secondary_issue: SecondaryIssue::Free,
            issuer: AvatarName::parse("shopavatar").unwrap(),
            to: k[0].address(),
            description: "Shop loyalty points".into(),
            domain_certificate: DomainCertificate::AutoIssue,
            fee_inputs: vec![spendable(&p[0], &k)],
            fee_change: k[1].address(),
            developer_share: MAX_DEVELOPER_SHARE,
        }
        .build()
        .unwrap();
        assert_same(&tx, &t);
    }

    #[test]
    fn avatar_registration() {
        let (t, k) = vector("did_register");
        let p = common::prevouts(&t);
        let tx = AvatarRegistration {
            network: Network::Testnet,
            name: AvatarName::parse("alice.avatar").unwrap(),
            address: k[3].address(),
            fee_inputs: vec![spendable(&p[0], &k)],
            fee_change: k[1].address(),
        }
        .build()
        .unwrap();
        assert_same(&tx, &t);
    }

    #[test]
    fn transfer_to_avatar() {
        let (t, k) = vector("mst_transfer_to_avatar");
        let p = common::prevouts(&t);
        let tx = MstTransfer {
            network: Network::Testnet,
            symbol: "SHOP.POINTS".into(),
            asset_inputs: vec![spendable(&p[0], &k)],
            recipients: vec![Recipient::avatar("alice.avatar", k[3].address(), 40)],
            asset_change: k[2].address(),
            fee_inputs: vec![spendable(&p[1], &k)],
            fee_change: k[1].address(),
            fee: 10_000,
        }
        .build()
        .unwrap();
        assert_same(&tx, &t);
    }
}
