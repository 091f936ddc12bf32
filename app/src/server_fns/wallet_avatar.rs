//! Registering an avatar (an MVS DID) for the signed-in customer's address, so others can
//! send points to a name. The worker puts it on chain; the wallet shows its progress.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::errors::AppError;

#[cfg(feature = "ssr")]
use crate::{
    domain::{context::ServerContext, customer_avatars},
    server_fns::{respond::finish, wallet_auth},
};

/// The customer's avatar and its registration's progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletAvatar {
    pub name: String,
    /// pending, signed, broadcast, confirmed or failed
    pub state: String,
}

/// Whether the chain already has an avatar with this name (an unreachable node answers
/// "no": the registration would then fail with the node's reason and may be retried).
#[cfg(feature = "ssr")]
async fn taken_on_chain(name: &str) -> bool {
    use crate::server_fns::points::CHAIN_WAIT;
    let Some(chain) = use_context::<mvs::rpc::Client>() else {
        return false;
    };
    matches!(
        tokio::time::timeout(CHAIN_WAIT, chain.get_did(name)).await,
        Ok(Ok(_))
    )
}

/// Asks for an avatar for the signed-in customer's address.
#[server(prefix = "/fn", endpoint = "wallet_register_avatar")]
pub async fn register_wallet_avatar(avatar: String) -> Result<(), AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let customer = wallet_auth::require_customer(&ctx).await?;
        let name = mvs::symbol::AvatarName::parse(avatar.trim())
            .map_err(|_| AppError::InvalidAvatarName)?;
        if taken_on_chain(name.as_str()).await {
            return Err(AppError::AvatarNameTaken);
        }
        customer_avatars::request(&ctx.db, customer.id, &name).await
    }
    .await;
    finish(result, "/wallet", |_| "/wallet?avatar=1".to_owned())
}
