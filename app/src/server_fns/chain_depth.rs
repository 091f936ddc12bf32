//! How deep on chain the transactions a page lists are: the n of "n/N confirmations".

use leptos::prelude::use_context;

use super::points::CHAIN_WAIT;

/// Fills in, for at most `limit` of `items` that name a transaction (`broadcast_txid`: the
/// txid of an operation that is broadcast and not yet confirmed), its depth if it is in a
/// block. The node is asked within one [`CHAIN_WAIT`] for all of them together: a slow or
/// absent node costs the page that long at most, and the page goes on without depths.
pub(crate) async fn fill<T>(
    items: &mut [T],
    limit: usize,
    broadcast_txid: impl Fn(&T) -> Option<&str>,
    set_depth: impl Fn(&mut T, u64),
) {
    let waiting: Vec<(usize, mvs::tx::Txid)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| Some((i, broadcast_txid(item)?.parse().ok()?)))
        .take(limit)
        .collect();
    if waiting.is_empty() {
        return;
    }
    let Some(chain) = use_context::<mvs::rpc::Client>() else {
        return;
    };
    let _ = tokio::time::timeout(CHAIN_WAIT, async {
        let Ok(tip) = chain.get_height().await else {
            return;
        };
        for (i, txid) in waiting {
            if let Ok(info) = chain.get_tx(&txid).await {
                if info.height > 0 && info.height <= tip {
                    set_depth(&mut items[i], tip - info.height + 1);
                }
            }
        }
    })
    .await;
}
