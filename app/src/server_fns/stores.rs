//! Creating and listing stores.

use leptos::prelude::*;

use crate::{errors::AppError, models::StoreSummary};

#[cfg(feature = "ssr")]
use crate::{
    domain::{context::ServerContext, stores},
    server_fns::{
        auth,
        respond::{answer, finish},
    },
};

/// Creates a store; the signed-in operator becomes its owner. An empty slug is derived from the name.
#[server(prefix = "/fn", endpoint = "create_store")]
pub async fn create_store(name: String, slug: String) -> Result<StoreSummary, AppError> {
    let result = async {
        let ctx = ServerContext::get()?;
        let operator = auth::require_operator(&ctx).await?;
        let name = stores::parse_name(&name)?;
        let slug = stores::parse_slug(&slug, &name)?;
        stores::create(&ctx.db, operator.id, &name, &slug).await
    }
    .await;
    finish(result, "/dashboard", |store| {
        format!("/dashboard?created={}", store.id)
    })
}

/// The stores the signed-in operator works on.
#[server(prefix = "/fn", endpoint = "my_stores")]
pub async fn my_stores() -> Result<Vec<StoreSummary>, AppError> {
    answer(
        async {
            let ctx = ServerContext::get()?;
            let operator = auth::require_operator(&ctx).await?;
            stores::list_for(&ctx.db, operator.id).await
        }
        .await,
    )
}
