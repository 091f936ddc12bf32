//! Choosing which unspent outputs pay for a transaction.

use std::collections::HashSet;

use mvs::rpc::Utxo;

/// `txid:index`, the key under which an output is reserved.
pub fn outpoint_key(txid: &str, index: u32) -> String {
    format!("{txid}:{index}")
}

/// ETP outputs covering `needed` satoshi, skipping reserved ones.
///
/// Prefers a confirmed output over a pending one (spending another transaction's
/// unconfirmed change ties the two together), then the smallest single output that covers
/// the amount, so large outputs stay whole for large needs (an issue costs 10 ETP; a
/// transfer 0.0001 ETP); otherwise adds the largest outputs until the amount is covered.
/// `None` when the wallet cannot pay.
pub fn select_etp(utxos: &[Utxo], reserved: &HashSet<String>, needed: u64) -> Option<Vec<Utxo>> {
    let mut free: Vec<&Utxo> = utxos
        .iter()
        .filter(|u| !reserved.contains(&outpoint_key(&u.txid, u.index)))
        .collect();
    if let Some(single) = free
        .iter()
        .filter(|u| u.value >= needed)
        .min_by_key(|u| (u.height == 0, u.value))
    {
        return Some(vec![(*single).clone()]);
    }
    free.sort_by_key(|u| std::cmp::Reverse(u.value));
    accumulate(free, needed, |u| u.value)
}

/// Asset outputs covering `needed` units of the symbol they were listed for, skipping
/// reserved ones; oldest first so change does not pile up in many small outputs.
pub fn select_asset(utxos: &[Utxo], reserved: &HashSet<String>, needed: u64) -> Option<Vec<Utxo>> {
    let mut free: Vec<&Utxo> = utxos
        .iter()
        .filter(|u| !reserved.contains(&outpoint_key(&u.txid, u.index)))
        .collect();
    // Confirmed outputs first (height 0 = still pending), then by height.
    free.sort_by_key(|u| (u.height == 0, u.height));
    accumulate(free, needed, asset_quantity)
}

/// The asset quantity an output carries: a transfer's quantity, or an issue's whole supply
/// (the node prints the two differently, so read it through the decoded output).
pub fn asset_quantity(utxo: &Utxo) -> u64 {
    utxo.to_output()
        .map_or(0, |output| output.attachment.asset_quantity())
}

fn accumulate(
    candidates: Vec<&Utxo>,
    needed: u64,
    amount: impl Fn(&Utxo) -> u64,
) -> Option<Vec<Utxo>> {
    let mut chosen = Vec::new();
    let mut total = 0u64;
    for utxo in candidates {
        if total >= needed {
            break;
        }
        total = total.saturating_add(amount(utxo));
        chosen.push(utxo.clone());
    }
    (total >= needed && !chosen.is_empty()).then_some(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Key 0 of the metaversejs test vectors.
    const ADDRESS: &str = "tGBMcLr6dwfaMaoYiJgtZ3cYUbbGsbpb8t";

    fn etp(txid: &str, value: u64) -> Utxo {
        Utxo {
            txid: txid.into(),
            index: 0,
            value,
            height: 1,
            address: ADDRESS.into(),
            attachment: json!({"type": 0}),
        }
    }

    fn asset(txid: &str, quantity: u64, height: u64) -> Utxo {
        Utxo {
            txid: txid.into(),
            index: 1,
            value: 0,
            height,
            address: ADDRESS.into(),
            attachment: json!({"type": 2, "status": 2, "symbol": "X.POINTS", "quantity": quantity}),
        }
    }

    #[test]
    fn the_smallest_sufficient_etp_output_is_used_alone() {
        let utxos = [etp("a", 50), etp("b", 20), etp("c", 1_000)];
        let chosen = select_etp(&utxos, &HashSet::new(), 15).unwrap();
        assert_eq!(
            chosen.iter().map(|u| u.txid.as_str()).collect::<Vec<_>>(),
            ["b"]
        );
    }

    #[test]
    fn confirmed_outputs_are_preferred_to_pending_change() {
        let mut pending_change = etp("change", 9);
        pending_change.height = 0;
        let utxos = [pending_change, etp("pool", 10)];
        assert_eq!(
            select_etp(&utxos, &HashSet::new(), 5).unwrap()[0].txid,
            "pool"
        );
    }

    #[test]
    fn small_etp_outputs_add_up_when_none_suffices_alone() {
        let utxos = [etp("a", 5), etp("b", 7), etp("c", 3)];
        let chosen = select_etp(&utxos, &HashSet::new(), 11).unwrap();
        assert_eq!(chosen.iter().map(|u| u.value).sum::<u64>(), 12);
        assert!(select_etp(&utxos, &HashSet::new(), 16).is_none());
    }

    #[test]
    fn reserved_outputs_are_never_chosen() {
        let utxos = [etp("a", 50), etp("b", 20)];
        let reserved = HashSet::from([outpoint_key("b", 0)]);
        let chosen = select_etp(&utxos, &reserved, 15).unwrap();
        assert_eq!(chosen[0].txid, "a");
        let reserved = HashSet::from([outpoint_key("a", 0), outpoint_key("b", 0)]);
        assert!(select_etp(&utxos, &reserved, 1).is_none());
    }

    #[test]
    fn assets_are_taken_confirmed_first_until_covered() {
        let utxos = [
            asset("pending", 500, 0),
            asset("old", 30, 2),
            asset("newer", 40, 5),
        ];
        let chosen = select_asset(&utxos, &HashSet::new(), 60).unwrap();
        assert_eq!(
            chosen.iter().map(|u| u.txid.as_str()).collect::<Vec<_>>(),
            ["old", "newer"]
        );
        assert_eq!(select_asset(&utxos, &HashSet::new(), 570).unwrap().len(), 3);
        assert!(select_asset(&utxos, &HashSet::new(), 571).is_none());
    }
}
