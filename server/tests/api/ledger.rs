//! The ledger's invariants, on whichever database POINTMINT_TEST_DATABASE selects.

use std::sync::Arc;

use app::domain::{
    custody::{KeyVault, MasterKey},
    db::{Database, Dialect},
    email::Email,
    ledger::{
        customers::{self, StoreCustomer},
        point_systems::{self, PointSystem, PointSystemSpec},
        settle,
        submit::{submit, Destination, NewOperation, Submitted},
        writer::LedgerWriter,
        Amount, Balance, LedgerError, Operation, OperationKind, OperationState,
    },
};
use mvs::symbol::{AvatarName, Symbol};

use crate::helpers::fresh_database_url;

struct Fixture {
    db: Database,
    vault: KeyVault,
    point_system: PointSystem,
    _dir: tempfile::TempDir,
}

/// A migrated database with one store whose point system is confirmed on chain.
async fn fixture(max_supply: u64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let db = Database::connect(&url, 16).await.unwrap();
    db.migrate().await.unwrap();
    let vault = KeyVault::new(MasterKey::generate(), mvs::Network::Testnet);
    let operator_id: i64 = sqlx::query_scalar(
        "INSERT INTO operators (email, password_hash, created_at) VALUES ('owner@example.com', 'x', 0) RETURNING id",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    let store = app::domain::stores::create(&db, operator_id, "Corner Shop", "corner-shop")
        .await
        .unwrap();
    let spec = PointSystemSpec {
        symbol: Symbol::parse("CORNER.POINTS").unwrap(),
        name: "Corner points".into(),
        description: "Points of the corner shop".into(),
        decimals: 0,
        max_supply: Amount::new(max_supply).unwrap(),
        secondary_issue: 0,
        issuer_avatar: AvatarName::parse("corner-shop").unwrap(),
    };
    let point_system = point_systems::register(&db, &vault, store.id, &spec)
        .await
        .unwrap();
    point_systems::mark_issue_confirmed(&db, point_system.id, &"ab".repeat(32))
        .await
        .unwrap();
    Fixture {
        db,
        vault,
        point_system,
        _dir: dir,
    }
}

impl Fixture {
    async fn customer(&self, external_id: &str) -> StoreCustomer {
        let email = Email::parse(&format!("{external_id}@example.com")).unwrap();
        customers::upsert(
            &self.db,
            &self.vault,
            self.point_system.store_id,
            external_id,
            &email,
            None,
        )
        .await
        .unwrap()
    }

    fn award(&self, to: &StoreCustomer, amount: u64) -> NewOperation {
        NewOperation {
            point_system_id: self.point_system.id,
            kind: OperationKind::Award,
            amount: Amount::new(amount).unwrap(),
            from_key_id: self.point_system.treasury_key_id,
            to: Destination::Custodial {
                key_id: to.key_id,
                address: to.address.clone(),
            },
            actor: "operator:1".into(),
            reason: None,
            idempotency_key: None,
        }
    }

    fn redeem(&self, from: &StoreCustomer, amount: u64) -> NewOperation {
        NewOperation {
            point_system_id: self.point_system.id,
            kind: OperationKind::Redeem,
            amount: Amount::new(amount).unwrap(),
            from_key_id: from.key_id,
            to: Destination::Custodial {
                key_id: self.point_system.treasury_key_id,
                address: self.point_system.treasury_address.clone(),
            },
            actor: "api_key:1".into(),
            reason: None,
            idempotency_key: None,
        }
    }

    async fn balance(&self, key_id: i64) -> Balance {
        Balance::fetch(&self.db, key_id, self.point_system.id)
            .await
            .unwrap()
    }

    /// Holds `key_id`'s balance row in `conn`'s transaction (PostgreSQL), as a writer
    /// would, until it ends.
    async fn lock_balance_row(&self, conn: &mut sqlx::AnyConnection, key_id: i64) {
        sqlx::query(
            "SELECT available FROM balances WHERE key_id = $1 AND point_system_id = $2 FOR UPDATE",
        )
        .bind(key_id)
        .bind(self.point_system.id)
        .fetch_one(conn)
        .await
        .unwrap();
    }

    async fn count_operations(&self, kind: OperationKind) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM operations WHERE kind = $1")
            .bind(kind.as_str())
            .fetch_one(self.db.pool())
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn exactly_one_hundred_of_two_hundred_concurrent_redemptions_succeed() {
    let fx = Arc::new(fixture(1_000_000).await);
    let alice = fx.customer("alice").await;
    let award = submit(&fx.db, fx.award(&alice, 100)).await.unwrap();
    settle::confirm(&fx.db, award.operation().id, &"cd".repeat(32), 5)
        .await
        .unwrap();
    assert_eq!(
        fx.balance(alice.key_id).await,
        Balance {
            available: 100,
            pending_in: 0,
            confirmed: 100
        }
    );

    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let fx = Arc::clone(&fx);
            let request = fx.redeem(&alice, 1);
            tokio::spawn(async move { submit(&fx.db, request).await })
        })
        .collect();
    let (mut accepted, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(Submitted::Created(op)) => {
                assert_eq!(op.state, OperationState::Queued);
                accepted += 1;
            }
            Err(LedgerError::InsufficientBalance { requested: 1, .. }) => refused += 1,
            other => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!((accepted, refused), (100, 100));
    let after = fx.balance(alice.key_id).await;
    assert_eq!(after.available, 0, "every point is reserved exactly once");
    assert_eq!(
        after.confirmed, 100,
        "nothing is final until the chain confirms"
    );
    assert_eq!(fx.count_operations(OperationKind::Redeem).await, 100);
    // The treasury expects exactly what was accepted.
    assert_eq!(
        fx.balance(fx.point_system.treasury_key_id).await.pending_in,
        100
    );
}

#[tokio::test]
async fn spending_more_than_available_is_refused_and_changes_nothing() {
    let fx = fixture(50).await;
    let bob = fx.customer("bob").await;
    let error = submit(&fx.db, fx.award(&bob, 51)).await.unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::InsufficientBalance {
                available: 50,
                requested: 51
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.code(), "insufficient_balance");
    assert_eq!(
        fx.balance(fx.point_system.treasury_key_id).await.available,
        50
    );
    assert_eq!(fx.balance(bob.key_id).await, Balance::default());
    assert_eq!(fx.count_operations(OperationKind::Award).await, 0);
}

#[tokio::test]
async fn an_award_is_pending_until_confirmed_and_then_spendable() {
    let fx = fixture(1_000).await;
    let carol = fx.customer("carol").await;
    let op = submit(&fx.db, fx.award(&carol, 300)).await.unwrap();
    assert_eq!(
        fx.balance(carol.key_id).await,
        Balance {
            available: 0,
            pending_in: 300,
            confirmed: 0
        }
    );
    assert_eq!(
        fx.balance(fx.point_system.treasury_key_id).await,
        Balance {
            available: 700,
            pending_in: 0,
            confirmed: 1_000
        }
    );

    let confirmed = settle::confirm(&fx.db, op.operation().id, &"ef".repeat(32), 7)
        .await
        .unwrap();
    assert_eq!(confirmed.state, OperationState::Confirmed);
    assert_eq!(confirmed.height, Some(7));
    assert_eq!(
        fx.balance(carol.key_id).await,
        Balance {
            available: 300,
            pending_in: 0,
            confirmed: 300
        }
    );
    assert_eq!(
        fx.balance(fx.point_system.treasury_key_id).await,
        Balance {
            available: 700,
            pending_in: 0,
            confirmed: 700
        }
    );

    // A confirmation seen twice is applied once.
    assert!(matches!(
        settle::confirm(&fx.db, op.operation().id, &"ef".repeat(32), 7).await,
        Err(LedgerError::InvalidTransition(..))
    ));
    assert_eq!(fx.balance(carol.key_id).await.confirmed, 300);
}

#[tokio::test]
async fn a_failed_operation_returns_the_reserved_points() {
    let fx = fixture(1_000).await;
    let dave = fx.customer("dave").await;
    let op = submit(&fx.db, fx.award(&dave, 250)).await.unwrap();
    let failed = settle::fail(
        &fx.db,
        op.operation().id,
        "rejected by the node: fee too low",
    )
    .await
    .unwrap();
    assert_eq!(failed.state, OperationState::Failed);
    assert_eq!(
        failed.error.as_deref(),
        Some("rejected by the node: fee too low")
    );
    assert_eq!(fx.balance(dave.key_id).await, Balance::default());
    assert_eq!(
        fx.balance(fx.point_system.treasury_key_id).await.available,
        1_000
    );
    // Failed is final: it cannot be confirmed afterwards.
    assert!(settle::confirm(&fx.db, op.operation().id, "00", 1)
        .await
        .is_err());
}

#[tokio::test]
async fn an_idempotency_key_replays_the_same_request_and_refuses_another() {
    let fx = fixture(1_000).await;
    let erin = fx.customer("erin").await;
    let mut request = fx.award(&erin, 10);
    request.idempotency_key = Some("order-1001".into());
    let first = submit(&fx.db, request.clone()).await.unwrap();
    let again = submit(&fx.db, request.clone()).await.unwrap();
    assert!(matches!(first, Submitted::Created(_)));
    assert_eq!(again, Submitted::Replayed(first.operation().clone()));

    let mut different = request.clone();
    different.amount = Amount::new(11).unwrap();
    assert!(matches!(
        submit(&fx.db, different).await,
        Err(LedgerError::IdempotencyConflict)
    ));
    assert_eq!(
        fx.balance(erin.key_id).await.pending_in,
        10,
        "points were reserved once"
    );
    assert_eq!(fx.count_operations(OperationKind::Award).await, 1);
}

#[tokio::test]
async fn concurrent_requests_with_one_idempotency_key_create_one_operation() {
    let fx = Arc::new(fixture(1_000).await);
    let frank = fx.customer("frank").await;
    let mut request = fx.award(&frank, 5);
    request.idempotency_key = Some("order-2002".into());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (fx, request) = (Arc::clone(&fx), request.clone());
            tokio::spawn(async move { submit(&fx.db, request).await })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        ids.insert(
            task.await
                .unwrap()
                .expect("every request succeeds")
                .operation()
                .id,
        );
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(fx.balance(frank.key_id).await.pending_in, 5);
}

#[tokio::test]
async fn an_adjustment_needs_a_reason() {
    let fx = fixture(1_000).await;
    let gina = fx.customer("gina").await;
    let mut request = fx.award(&gina, 5);
    request.kind = OperationKind::Adjust;
    request.reason = Some("   ".into());
    assert!(matches!(
        submit(&fx.db, request.clone()).await,
        Err(LedgerError::ReasonRequired)
    ));
    request.reason = Some("goodwill after a late delivery".into());
    let op = submit(&fx.db, request).await.unwrap();
    assert_eq!(
        op.operation().reason.as_deref(),
        Some("goodwill after a late delivery")
    );
}

#[tokio::test]
async fn operations_are_only_found_through_their_own_point_system() {
    let fx = fixture(1_000).await;
    let hank = fx.customer("hank").await;
    let op = submit(&fx.db, fx.award(&hank, 5)).await.unwrap();
    let found = Operation::fetch(&fx.db, fx.point_system.id, op.operation().id)
        .await
        .unwrap();
    assert_eq!(&found, op.operation());
    assert!(matches!(
        Operation::fetch(&fx.db, fx.point_system.id + 1, op.operation().id).await,
        Err(LedgerError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_second_point_system_or_a_taken_symbol_is_refused() {
    let fx = fixture(1_000).await;
    let spec = PointSystemSpec {
        symbol: Symbol::parse("OTHER.POINTS").unwrap(),
        name: "x".into(),
        description: String::new(),
        decimals: 0,
        max_supply: Amount::new(5).unwrap(),
        secondary_issue: 0,
        issuer_avatar: AvatarName::parse("other-shop").unwrap(),
    };
    let again = point_systems::register(&fx.db, &fx.vault, fx.point_system.store_id, &spec).await;
    assert!(matches!(again, Err(LedgerError::PointSystemExists)));
}

#[tokio::test]
async fn custodial_keys_are_sealed_at_rest_and_bound_to_their_address() {
    let fx = fixture(1_000).await;
    let ivy = fx.customer("ivy").await;
    let jay = fx.customer("jay").await;
    let key = fx.vault.private_key(&fx.db, ivy.key_id).await.unwrap();
    assert_eq!(key.address().to_string(), ivy.address);

    let sealed: Vec<u8> =
        sqlx::query_scalar("SELECT sealed_secret FROM custody_keys WHERE id = $1")
            .bind(ivy.key_id)
            .fetch_one(fx.db.pool())
            .await
            .unwrap();
    let secret = key.to_bytes();
    assert!(
        !sealed.windows(secret.len()).any(|w| w == secret),
        "the secret is not stored in the clear"
    );
    assert!(!hex::encode(&sealed).contains(&hex::encode(secret)));

    // Another master key opens nothing.
    let stranger = KeyVault::new(MasterKey::generate(), mvs::Network::Testnet);
    assert!(stranger.private_key(&fx.db, ivy.key_id).await.is_err());

    // A sealed secret moved onto another row does not open there.
    sqlx::query("UPDATE custody_keys SET sealed_secret = $1 WHERE id = $2")
        .bind(sealed)
        .bind(jay.key_id)
        .execute(fx.db.pool())
        .await
        .unwrap();
    assert!(fx.vault.private_key(&fx.db, jay.key_id).await.is_err());
}

#[tokio::test]
async fn one_customer_keeps_one_address_across_stores_and_updates() {
    let fx = fixture(1_000).await;
    let first = fx.customer("kim").await;
    let email = Email::parse("kim@example.com").unwrap();
    let renamed = customers::upsert(
        &fx.db,
        &fx.vault,
        fx.point_system.store_id,
        "kim",
        &email,
        Some("Kim K."),
    )
    .await
    .unwrap();
    assert_eq!(renamed.address, first.address);
    assert_eq!(renamed.name.as_deref(), Some("Kim K."));
    assert!(
        customers::fetch(&fx.db, fx.point_system.store_id + 1, "kim")
            .await
            .unwrap()
            .is_none(),
        "other stores do not see it"
    );
}

#[tokio::test]
async fn confirmations_and_failures_are_logged_as_events_for_the_store() {
    let fx = fixture(1_000).await;
    let lee = fx.customer("lee").await;
    let confirmed = submit(&fx.db, fx.award(&lee, 10)).await.unwrap();
    let failed = submit(&fx.db, fx.award(&lee, 20)).await.unwrap();
    settle::confirm(&fx.db, confirmed.operation().id, &"11".repeat(32), 9)
        .await
        .unwrap();
    settle::fail(&fx.db, failed.operation().id, "rejected")
        .await
        .unwrap();

    let events = app::domain::events::after(&fx.db, 0, 100).await.unwrap();
    let types: Vec<_> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "point_system.confirmed",
            "operation.confirmed",
            "operation.failed"
        ]
    );
    assert!(events
        .iter()
        .all(|e| e.store_id == fx.point_system.store_id));
    let confirmed_event = &events[1].data;
    assert_eq!(confirmed_event["operation"]["id"], confirmed.operation().id);
    assert_eq!(confirmed_event["operation"]["state"], "confirmed");
    assert_eq!(confirmed_event["operation"]["kind"], "award");
    assert_eq!(confirmed_event["to_customer"], "lee");
    assert_eq!(events[2].data["operation"]["error"], "rejected");
    // Cursor reads continue where they left off.
    assert_eq!(
        app::domain::events::after(&fx.db, events[1].id, 100)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_reorganised_award_returns_to_pending_and_confirming_again_credits_nothing_twice() {
    let fx = fixture(1_000).await;
    let mia = fx.customer("mia").await;
    let award = submit(&fx.db, fx.award(&mia, 100))
        .await
        .unwrap()
        .operation()
        .id;
    settle::confirm(&fx.db, award, &"aa".repeat(32), 5)
        .await
        .unwrap();
    let redeem = submit(&fx.db, fx.redeem(&mia, 30))
        .await
        .unwrap()
        .operation()
        .id;
    settle::confirm(&fx.db, redeem, &"bb".repeat(32), 6)
        .await
        .unwrap();
    assert_eq!(
        fx.balance(mia.key_id).await,
        Balance {
            available: 70,
            pending_in: 0,
            confirmed: 70
        }
    );

    // Both blocks are undone: the spend first, then the award it spent from.
    let mut tx = fx.db.begin_write().await.unwrap();
    settle::unconfirm_in(&mut tx, redeem).await.unwrap();
    settle::unconfirm_in(&mut tx, award).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        fx.balance(mia.key_id).await,
        Balance {
            available: 70,
            pending_in: 100,
            confirmed: 0
        }
    );
    let op = Operation::fetch(&fx.db, fx.point_system.id, award)
        .await
        .unwrap();
    assert_eq!((op.state, op.height), (OperationState::Broadcast, None));

    settle::confirm(&fx.db, award, &"aa".repeat(32), 7)
        .await
        .unwrap();
    settle::confirm(&fx.db, redeem, &"bb".repeat(32), 7)
        .await
        .unwrap();
    assert_eq!(
        fx.balance(mia.key_id).await,
        Balance {
            available: 70,
            pending_in: 0,
            confirmed: 70
        }
    );
    assert_eq!(
        fx.balance(fx.point_system.treasury_key_id).await,
        Balance {
            available: 930,
            pending_in: 0,
            confirmed: 930
        }
    );
}

#[tokio::test]
async fn an_outside_destination_must_be_an_address_of_the_network_and_a_valid_avatar() {
    let fx = fixture(1_000).await;
    let nia = fx.customer("nia").await;
    let award = submit(&fx.db, fx.award(&nia, 100))
        .await
        .unwrap()
        .operation()
        .id;
    settle::confirm(&fx.db, award, &"aa".repeat(32), 5)
        .await
        .unwrap();
    let withdraw = |address: String, avatar: Option<&str>| NewOperation {
        kind: OperationKind::Withdraw,
        to: Destination::External {
            address,
            avatar: avatar.map(str::to_owned),
        },
        ..fx.redeem(&nia, 10)
    };
    let mainnet = mvs::keys::PrivateKey::generate(mvs::Network::Mainnet)
        .address()
        .to_string();
    let testnet = mvs::keys::PrivateKey::generate(mvs::Network::Testnet)
        .address()
        .to_string();
    for bad in ["not-an-address".to_owned(), mainnet] {
        let error = submit(&fx.db, withdraw(bad.clone(), None))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, LedgerError::InvalidAddress(a) if *a == bad),
            "{error:?}"
        );
        assert_eq!(error.code(), "invalid_address");
    }
    let error = submit(&fx.db, withdraw(testnet.clone(), Some("no spaces allowed")))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid_avatar");
    assert_eq!(
        fx.balance(nia.key_id).await.available,
        100,
        "refusals change nothing"
    );
    assert_eq!(fx.count_operations(OperationKind::Withdraw).await, 0);

    let ok = submit(&fx.db, withdraw(testnet, None)).await.unwrap();
    assert_eq!(ok.operation().kind, OperationKind::Withdraw);
}

/// Takes the confirmed operations' block away (reorganisation) and has the node refuse the
/// rebroadcast: the path of `mark_reorganised` then `mark_rejected`.
async fn reorganise_and_refuse(fx: &Fixture, ids_newest_first: &[i64]) -> Vec<Operation> {
    let mut tx = fx.db.begin_write().await.unwrap();
    for id in ids_newest_first {
        settle::unconfirm_in(&mut tx, *id).await.unwrap();
    }
    let mut failed = Vec::new();
    for id in ids_newest_first.iter().rev() {
        failed.push(
            settle::fail_in(&mut tx, *id, "rejected by the node: double spend")
                .await
                .unwrap(),
        );
    }
    tx.commit().await.unwrap();
    failed
}

#[tokio::test]
async fn a_credited_transfer_refused_after_a_reorganisation_is_taken_back_from_the_receiver() {
    let fx = fixture(1_000).await;
    let mia = fx.customer("mia").await;
    let award = submit(&fx.db, fx.award(&mia, 100))
        .await
        .unwrap()
        .operation()
        .id;
    settle::confirm(&fx.db, award, &"aa".repeat(32), 5)
        .await
        .unwrap();

    let failed = reorganise_and_refuse(&fx, &[award]).await;

    assert_eq!(failed[0].state, OperationState::Failed);
    assert_eq!(
        failed[0].error.as_deref(),
        Some("rejected by the node: double spend")
    );
    assert_eq!(
        fx.balance(mia.key_id).await,
        Balance::default(),
        "counted once, on neither side twice"
    );
    assert_eq!(
        fx.balance(fx.point_system.treasury_key_id).await,
        Balance {
            available: 1_000,
            pending_in: 0,
            confirmed: 1_000
        }
    );
}

#[tokio::test]
async fn a_refused_credited_transfer_whose_points_were_spent_records_the_shortfall() {
    let fx = fixture(1_000).await;
    let mia = fx.customer("mia").await;
    let award = submit(&fx.db, fx.award(&mia, 100))
        .await
        .unwrap()
        .operation()
        .id;
    settle::confirm(&fx.db, award, &"aa".repeat(32), 5)
        .await
        .unwrap();
    // Mia sends 30 out of the platform; that spend is not refused (yet).
    let mut out = fx.redeem(&mia, 30);
    out.kind = OperationKind::Withdraw;
    out.to = Destination::External {
        address: fx.point_system.treasury_address.clone(),
        avatar: None,
    };
    let spend = submit(&fx.db, out).await.unwrap().operation().id;
    settle::confirm(&fx.db, spend, &"bb".repeat(32), 6)
        .await
        .unwrap();

    let mut tx = fx.db.begin_write().await.unwrap();
    settle::unconfirm_in(&mut tx, spend).await.unwrap();
    settle::unconfirm_in(&mut tx, award).await.unwrap();
    let failed = settle::fail_in(&mut tx, award, "rejected by the node")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(
        failed.error.as_deref(),
        Some("rejected by the node; 30 of its points had already been spent by the recipient and could not be taken back")
    );
    // Never below zero: the 70 left are taken, the 30 spent stay recorded as the shortfall.
    assert_eq!(
        fx.balance(mia.key_id).await,
        Balance {
            available: 0,
            pending_in: 0,
            confirmed: 0
        }
    );
    assert_eq!(
        fx.balance(fx.point_system.treasury_key_id).await.available,
        1_000
    );
}

#[tokio::test]
async fn a_credited_secondary_issue_refused_after_a_reorganisation_shrinks_the_supply_again() {
    use app::domain::ledger::secondary_issue::{self, NewSecondaryIssue};
    let fx = fixture(1_000).await;
    sqlx::query("UPDATE point_systems SET secondary_issue = 127 WHERE id = $1")
        .bind(fx.point_system.id)
        .execute(fx.db.pool())
        .await
        .unwrap();
    let op = secondary_issue::submit(
        &fx.db,
        NewSecondaryIssue {
            point_system_id: fx.point_system.id,
            amount: Amount::new(500).unwrap(),
            actor: "operator:1".into(),
            reason: None,
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    settle::confirm(&fx.db, op.id, &"cc".repeat(32), 5)
        .await
        .unwrap();
    let supply = || async {
        sqlx::query_scalar::<_, i64>("SELECT max_supply FROM point_systems WHERE id = $1")
            .bind(fx.point_system.id)
            .fetch_one(fx.db.pool())
            .await
            .unwrap()
    };
    assert_eq!(supply().await, 1_500);

    let failed = reorganise_and_refuse(&fx, &[op.id]).await;

    assert_eq!(failed[0].state, OperationState::Failed);
    assert_eq!(supply().await, 1_000);
    assert_eq!(
        fx.balance(fx.point_system.treasury_key_id).await,
        Balance {
            available: 1_000,
            pending_in: 0,
            confirmed: 1_000
        }
    );
}

#[tokio::test]
async fn a_credited_issue_refused_after_a_reorganisation_takes_the_supply_back_from_the_treasury() {
    let fx = fixture(1_000).await;
    let mia = fx.customer("mia").await;
    // The treasury sent 100 out of the platform before the issue was reorganised out;
    // that spend stays (its own refusal is a separate transaction).
    let award = submit(&fx.db, fx.award(&mia, 100))
        .await
        .unwrap()
        .operation()
        .id;
    settle::confirm(&fx.db, award, &"aa".repeat(32), 5)
        .await
        .unwrap();
    let mut tx = fx.db.begin_write().await.unwrap();
    settle::unconfirm_in(&mut tx, award).await.unwrap();
    point_systems::unconfirm_issue_in(&mut tx, fx.point_system.id)
        .await
        .unwrap();
    // As `mark_rejected` does for a refused issue.
    sqlx::query("UPDATE point_systems SET status = 'failed', issue_error = 'rejected by the node' WHERE id = $1")
        .bind(fx.point_system.id)
        .execute(&mut *tx)
        .await
        .unwrap();
    point_systems::take_back_failed_issue_in(&mut tx, fx.point_system.id)
        .await
        .unwrap();
    // Runs once.
    point_systems::take_back_failed_issue_in(&mut tx, fx.point_system.id)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(
        fx.balance(fx.point_system.treasury_key_id).await,
        Balance::default()
    );
    let error: Option<String> =
        sqlx::query_scalar("SELECT issue_error FROM point_systems WHERE id = $1")
            .bind(fx.point_system.id)
            .fetch_one(fx.db.pool())
            .await
            .unwrap();
    assert_eq!(
        error.as_deref(),
        Some("rejected by the node; 100 of the issued points had already been sent from the treasury and could not be taken back")
    );
}

// The group writer (`ledger::writer`) shares one write transaction between the
// submissions waiting at the same moment (one bulk write, or item by item in savepoints
// when an item is refused): the same invariants must hold through it. Its tests run on a
// multi-threaded runtime, as the server does, so submissions queue while another one is
// being written and batches form.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_group_writer_exactly_one_hundred_of_two_hundred_redemptions_succeed() {
    let fx = Arc::new(fixture(1_000_000).await);
    let writer = LedgerWriter::spawn(fx.db.clone());
    let alice = fx.customer("alice").await;
    let award = writer.submit(fx.award(&alice, 100)).await.unwrap();
    settle::confirm(&fx.db, award.operation().id, &"cd".repeat(32), 5)
        .await
        .unwrap();

    // Refusals and acceptances share batches: a refused item rolls back only itself.
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let writer = writer.clone();
            let request = fx.redeem(&alice, 1);
            tokio::spawn(async move { writer.submit(request).await })
        })
        .collect();
    let (mut accepted, mut refused) = (0, 0);
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(Submitted::Created(op)) => {
                assert!(ids.insert(op.id), "one operation per accepted request");
                accepted += 1;
            }
            Err(LedgerError::InsufficientBalance { requested: 1, .. }) => refused += 1,
            other => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!((accepted, refused), (100, 100));
    assert_eq!(fx.balance(alice.key_id).await.available, 0);
    assert_eq!(fx.count_operations(OperationKind::Redeem).await, 100);
    assert_eq!(
        fx.balance(fx.point_system.treasury_key_id).await.pending_in,
        100
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_group_writer_one_idempotency_key_creates_one_operation() {
    let fx = Arc::new(fixture(1_000_000).await);
    let writer = LedgerWriter::spawn(fx.db.clone());
    let bob = fx.customer("bob").await;
    let keyed = |amount| NewOperation {
        idempotency_key: Some("order-7".into()),
        ..fx.award(&bob, amount)
    };
    // Twenty identical requests and one with another amount under the same key, all at
    // once: they land in the same batch, so the race is inside one transaction. Whichever
    // amount comes first wins; every other answer names its operation or is refused.
    let tasks: Vec<_> = (0..21)
        .map(|n| {
            let writer = writer.clone();
            let amount: u64 = if n == 10 { 8 } else { 7 };
            let request = keyed(amount);
            tokio::spawn(async move { (amount, writer.submit(request).await) })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    let created: Vec<_> = answers
        .iter()
        .filter_map(|(_, answer)| match answer {
            Ok(Submitted::Created(op)) => Some(op.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    let winner = &created[0];
    for (amount, answer) in &answers {
        match answer {
            Ok(submitted) => {
                assert_eq!(submitted.operation().id, winner.id);
                assert_eq!(*amount, winner.amount);
            }
            Err(LedgerError::IdempotencyConflict) => {
                assert_ne!(*amount, winner.amount)
            }
            Err(other) => panic!("unexpected refusal: {other:?}"),
        }
    }
    assert_eq!(fx.count_operations(OperationKind::Award).await, 1);
    assert_eq!(fx.balance(bob.key_id).await.pending_in, winner.amount);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_group_writer_each_answer_is_the_operation_of_its_own_request() {
    let fx = Arc::new(fixture(1_000_000).await);
    let writer = LedgerWriter::spawn(fx.db.clone());
    let mut customers = Vec::new();
    for n in 0..12 {
        customers.push(fx.customer(&format!("c{n}")).await);
    }
    let treasury = fx.point_system.treasury_key_id;
    let before = fx.balance(treasury).await.available;

    // Batches of many awards in which one customer appears several times: the bulk write
    // sums them per customer, and each caller must still get its own operation back.
    let tasks: Vec<_> = (0..120u64)
        .map(|n| {
            let writer = writer.clone();
            let request = NewOperation {
                reason: Some(format!("order {n}")),
                ..fx.award(&customers[n as usize % 12], n + 1)
            };
            tokio::spawn(async move { (n, writer.submit(request).await) })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        let (n, answer) = task.await.unwrap();
        let Ok(Submitted::Created(op)) = answer else {
            panic!("award {n} was not created: {answer:?}");
        };
        assert!(ids.insert(op.id), "one operation per request");
        assert_eq!(op.amount, n + 1);
        assert_eq!(op.to_key_id, Some(customers[n as usize % 12].key_id));
        assert_eq!(op.reason.as_deref(), Some(format!("order {n}").as_str()));
        assert_eq!(op.state, OperationState::Queued);
        let stored = Operation::fetch(&fx.db, fx.point_system.id, op.id)
            .await
            .unwrap();
        assert_eq!(stored, op, "the answer is what was stored");
    }
    for (i, customer) in customers.iter().enumerate() {
        let expected: u64 = (0..120u64)
            .filter(|n| *n as usize % 12 == i)
            .map(|n| n + 1)
            .sum();
        let balance = fx.balance(customer.key_id).await;
        assert_eq!((balance.pending_in, balance.available), (expected, 0));
    }
    let total: u64 = (1..=120).sum();
    assert_eq!(fx.balance(treasury).await.available, before - total);
    assert_eq!(fx.count_operations(OperationKind::Award).await, 120);
}

#[tokio::test]
async fn through_the_group_writer_a_submission_whose_caller_went_away_before_its_write_is_not_written(
) {
    let fx = Arc::new(fixture(1_000_000).await);
    let writer = LedgerWriter::spawn(fx.db.clone());
    let alice = fx.customer("alice").await;
    let submit = |amount| {
        let (writer, request) = (writer.clone(), fx.award(&alice, amount));
        tokio::spawn(async move { writer.submit(request).await })
    };
    // Another writer holds what an award needs: SQLite's write lock (and the process's
    // write turn), or on PostgreSQL the treasury's balance row.
    let mut blocker = fx.db.begin_write().await.unwrap();
    if fx.db.dialect() == Dialect::Postgres {
        fx.lock_balance_row(&mut blocker, fx.point_system.treasury_key_id)
            .await;
    }
    // The first award's caller leads and waits; the second queues behind it, and its
    // caller goes away (a client that disconnected) before any write took it.
    let first = submit(1);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let second = submit(10);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    second.abort();
    assert!(second.await.unwrap_err().is_cancelled());
    blocker.rollback().await.unwrap();

    assert!(matches!(first.await.unwrap(), Ok(Submitted::Created(_))));
    // A later award leads with whatever is still queued: not the abandoned one.
    assert!(matches!(
        submit(100).await.unwrap(),
        Ok(Submitted::Created(_))
    ));
    assert_eq!(fx.count_operations(OperationKind::Award).await, 2);
    assert_eq!(fx.balance(alice.key_id).await.pending_in, 101);
}

#[tokio::test]
async fn through_the_group_writer_a_batch_whose_leader_went_away_half_way_is_still_written_for_the_others(
) {
    let fx = Arc::new(fixture(1_000_000).await);
    if fx.db.dialect() == Dialect::Sqlite {
        // On a SQLite file the leader writes its batch without an await between `BEGIN`
        // and `COMMIT` (the writer's own connection): there is no point to stop it at.
        return;
    }
    let writer = LedgerWriter::spawn(fx.db.clone());
    let (alice, bob, carol) = (
        fx.customer("alice").await,
        fx.customer("bob").await,
        fx.customer("carol").await,
    );
    // bob's balance row exists, so another transaction can hold it.
    writer.submit(fx.award(&bob, 1)).await.unwrap();
    let submit = |to: &StoreCustomer, amount| {
        let (writer, request) = (writer.clone(), fx.award(to, amount));
        tokio::spawn(async move { writer.submit(request).await })
    };
    let mut treasury = fx.db.pool().begin().await.unwrap();
    fx.lock_balance_row(&mut treasury, fx.point_system.treasury_key_id)
        .await;
    let mut bobs_row = fx.db.pool().begin().await.unwrap();
    fx.lock_balance_row(&mut bobs_row, bob.key_id).await;
    // The first award's caller leads and waits for the treasury's row; two more queue
    // behind it, `to_bob` first (the writer's lock hands over in arrival order).
    let first = submit(&alice, 1);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let to_bob = submit(&bob, 10);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let to_carol = submit(&carol, 100);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    treasury.rollback().await.unwrap();
    assert!(matches!(first.await.unwrap(), Ok(Submitted::Created(_))));
    // `to_bob`'s caller now leads the batch of both and waits for bob's row in the middle
    // of its write; then that caller goes away (a client that disconnected).
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    to_bob.abort();
    assert!(to_bob.await.unwrap_err().is_cancelled());
    bobs_row.rollback().await.unwrap();

    // The write it started is finished all the same, and the other caller of its batch
    // gets the answer.
    assert!(matches!(to_carol.await.unwrap(), Ok(Submitted::Created(_))));
    assert_eq!(fx.count_operations(OperationKind::Award).await, 4);
    assert_eq!(fx.balance(bob.key_id).await.pending_in, 11);
    assert_eq!(fx.balance(carol.key_id).await.pending_in, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_group_writer_awards_and_redemptions_of_one_treasury_share_batches() {
    let fx = Arc::new(fixture(1_000_000).await);
    let writer = LedgerWriter::spawn(fx.db.clone());
    let alice = fx.customer("alice").await;
    let bob = fx.customer("bob").await;
    let award = writer.submit(fx.award(&alice, 100)).await.unwrap();
    settle::confirm(&fx.db, award.operation().id, &"ab".repeat(32), 5)
        .await
        .unwrap();
    let treasury = fx.point_system.treasury_key_id;
    let before = fx.balance(treasury).await;

    // In one batch the treasury is debited (awards to bob) and credited (alice's
    // redemptions): the bulk write must not change its row twice in one statement.
    let tasks: Vec<_> = (0..80u64)
        .map(|n| {
            let writer = writer.clone();
            let request = if n % 2 == 0 {
                fx.award(&bob, 3)
            } else {
                fx.redeem(&alice, 2)
            };
            tokio::spawn(async move { writer.submit(request).await })
        })
        .collect();
    for task in tasks {
        assert!(matches!(task.await.unwrap(), Ok(Submitted::Created(_))));
    }
    let after = fx.balance(treasury).await;
    assert_eq!(after.available, before.available - 40 * 3);
    assert_eq!(after.pending_in, before.pending_in + 40 * 2);
    assert_eq!(fx.balance(bob.key_id).await.pending_in, 40 * 3);
    assert_eq!(fx.balance(alice.key_id).await.available, 100 - 40 * 2);
}

/// More than the 2000 rows of one statement, for events and balance rows alike.
const BULK_CUSTOMERS: i64 = 2100;

// Settling more operations at once than one multi-row statement carries: the worker
// confirms a chain transaction's operations together, in chunks of rows.
#[tokio::test]
async fn confirming_more_operations_than_one_statement_carries_settles_each_once() {
    let fx = fixture(1_000_000).await;
    let db = &fx.db;
    let point_system = &fx.point_system;
    let store_id = point_system.store_id;
    let treasury = point_system.treasury_key_id;
    let treasury_before = Balance::fetch(db, treasury, point_system.id).await.unwrap();

    // Customers straight in SQL: their keys are never used to sign here.
    let mut tx = db.begin_write().await.unwrap();
    let mut keys = Vec::new();
    for n in 0..BULK_CUSTOMERS {
        let key_id: i64 = sqlx::query_scalar(
            "INSERT INTO custody_keys (purpose, address, public_key, sealed_secret, created_at) \
             VALUES ('customer', $1, 'none', $2, 0) RETURNING id",
        )
        .bind(format!("bulk-address-{n}"))
        .bind(vec![0u8])
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        let customer_id: i64 = sqlx::query_scalar(
            "INSERT INTO customers (email, key_id, created_at) VALUES ($1, $2, 0) RETURNING id",
        )
        .bind(format!("bulk{n}@example.com"))
        .bind(key_id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO store_customers (store_id, external_id, customer_id, created_at, updated_at) \
             VALUES ($1, $2, $3, 0, 0)",
        )
        .bind(store_id)
        .bind(format!("bulk{n}"))
        .bind(customer_id)
        .execute(&mut *tx)
        .await
        .unwrap();
        keys.push(key_id);
    }
    tx.commit().await.unwrap();

    let amount = |n: i64| (n % 7 + 1) as u64;
    let mut ids = Vec::new();
    for (n, key_id) in keys.iter().enumerate() {
        let request = NewOperation {
            point_system_id: point_system.id,
            kind: OperationKind::Award,
            amount: Amount::new(amount(n as i64)).unwrap(),
            from_key_id: treasury,
            to: Destination::Custodial {
                key_id: *key_id,
                address: format!("bulk-address-{n}"),
            },
            actor: "test".into(),
            reason: None,
            idempotency_key: None,
        };
        ids.push(submit(db, request).await.unwrap().operation().id);
    }
    let awarded: u64 = (0..BULK_CUSTOMERS).map(amount).sum();
    // As the worker leaves them once the node has the transaction.
    let txid = "cd".repeat(32);
    sqlx::query("UPDATE operations SET state = 'broadcast', txid = $1 WHERE point_system_id = $2")
        .bind(&txid)
        .bind(point_system.id)
        .execute(db.pool())
        .await
        .unwrap();

    let mut tx = db.begin_write().await.unwrap();
    let confirmed = settle::confirm_many_in(&mut tx, &ids, &txid, 7)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        confirmed.iter().map(|op| op.id).collect::<Vec<_>>(),
        ids,
        "every operation, in id order"
    );

    let settled: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM operations WHERE point_system_id = $1 AND state = 'confirmed' \
           AND txid = $2 AND height = 7 AND credited_at IS NOT NULL",
    )
    .bind(point_system.id)
    .bind(&txid)
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(settled, BULK_CUSTOMERS);
    for (n, key_id) in keys.iter().enumerate() {
        let points = amount(n as i64);
        assert_eq!(
            Balance::fetch(db, *key_id, point_system.id).await.unwrap(),
            Balance {
                available: points,
                pending_in: 0,
                confirmed: points,
            },
            "customer {n}"
        );
    }
    assert_eq!(
        Balance::fetch(db, treasury, point_system.id).await.unwrap(),
        Balance {
            available: treasury_before.available - awarded,
            pending_in: 0,
            confirmed: treasury_before.confirmed - awarded,
        }
    );

    let events: Vec<String> = sqlx::query_scalar(
        "SELECT data FROM events WHERE event_type = 'operation.confirmed' ORDER BY id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert_eq!(events.len(), ids.len(), "one event per operation");
    for (n, data) in events.iter().enumerate() {
        let data: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(data["operation"]["id"].as_i64(), Some(ids[n]), "event {n}");
        assert_eq!(data["operation"]["state"], "confirmed", "event {n}");
        assert_eq!(data["from_customer"], serde_json::Value::Null, "event {n}");
        assert_eq!(data["to_customer"], format!("bulk{n}"), "event {n}");
    }

    // Confirming again changes nothing: none of them is open any more.
    let mut tx = db.begin_write().await.unwrap();
    assert!(settle::confirm_many_in(&mut tx, &ids, &txid, 7)
        .await
        .is_err());
    tx.rollback().await.unwrap();
}
