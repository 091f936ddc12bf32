//! The public page of a point system: figures, recent transactions, the verify box (ledger
//! next to chain) and 404 for an unknown symbol. No sign-in, and no customer e-mail shown.

use app::domain::api_keys::Scope;
use serde_json::json;

use crate::{
    api_support::{api_fixture, wait_confirmed},
    browser::Browser,
};

#[tokio::test]
async fn the_public_page_shows_supply_holders_and_verifies_against_the_chain() {
    let fx = api_fixture().await;
    let key = fx.key(&[Scope::PointsWrite]).await;
    fx.put(
        "/customers/a",
        &key,
        &json!({ "email": "secret-a@example.com" }),
    )
    .await;
    let response = fx
        .post("/awards", &key, &json!({ "customer": "a", "amount": 250 }))
        .await;
    assert_eq!(response.status(), 202);
    let op: serde_json::Value = response.json().await.unwrap();
    let id = op["id"].as_i64().unwrap();
    let txid = wait_confirmed(&fx.db, id).await;

    let visitor = Browser::new(&fx.app);
    let (status, _, html) = visitor.page("/points/CORNER.POINTS").await;
    assert_eq!(status, 200);
    for expected in [
        r#"data-testid="points-symbol">CORNER.POINTS<"#,
        r#"data-testid="issuer-avatar">corner<"#,
        r#"data-testid="supply-issued">1000000<"#,
        r#"data-testid="supply-outstanding">250<"#,
        r#"data-testid="holders">1<"#,
        txid.as_str(),
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    assert!(
        !html.contains("secret-a@example.com"),
        "no customer e-mail on a public page"
    );

    // Verify by txid and by operation id: the ledger's record and the chain's outputs.
    for query in [txid.clone(), id.to_string()] {
        let (status, _, html) = visitor
            .page(&format!("/points/CORNER.POINTS?verify={query}"))
            .await;
        assert_eq!(status, 200);
        // Leptos marks text boundaries with <!--> comments; read the text as a person would.
        let html = html.replace("<!>", "");
        assert!(html.contains(r#"data-testid="verify-result""#), "{html}");
        assert!(
            html.contains(&format!(r#"data-operation-id="{id}""#)),
            "{html}"
        );
        assert!(html.contains(r#"data-found="true""#), "{html}");
        assert!(html.contains(" receives 250"), "{html}");
    }
    // A txid the chain does not know, and an operation id of nothing.
    let unknown = "ab".repeat(32);
    let (_, _, html) = visitor
        .page(&format!("/points/CORNER.POINTS?verify={unknown}"))
        .await;
    assert!(html.contains(r#"data-found="false""#), "{html}");
    assert!(
        html.contains(r#"data-testid="ledger-says">No operation"#),
        "{html}"
    );
    let (_, _, html) = visitor.page("/points/CORNER.POINTS?verify=99999").await;
    assert!(
        html.contains(r#"data-testid="ledger-says">No operation"#),
        "{html}"
    );

    // An unknown symbol is a 404 page.
    let (status, _, html) = visitor.page("/points/NO.SUCH.POINTS").await;
    assert_eq!(status, 404);
    assert!(html.contains(r#"data-testid="points-not-found""#), "{html}");
    fx.app.stop().await;
}
