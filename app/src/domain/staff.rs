//! Store staff: members and their roles, invitations by e-mail, accepting them.

use sqlx::{AnyConnection, Row};

use crate::{
    domain::{
        clock,
        context::ServerContext,
        db::Dialect,
        email::Email,
        mail::{self, templates},
        operators::Operator,
        tokens::{self, TokenPurpose, TokenSubject},
    },
    errors::AppError,
    models::{InvitationView, MemberView, Role, StoreSummary},
};

#[tracing::instrument(skip(ctx))]
pub async fn members(ctx: &ServerContext, store_id: i64) -> Result<Vec<MemberView>, AppError> {
    let rows = sqlx::query(
        "SELECT m.operator_id, o.email, m.role FROM store_members m JOIN operators o ON o.id = m.operator_id \
         WHERE m.store_id = $1 ORDER BY o.email",
    )
    .bind(store_id)
    .fetch_all(ctx.db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(MemberView {
                operator_id: row.try_get("operator_id")?,
                email: row.try_get("email")?,
                role: Role::parse(&row.try_get::<String, _>("role")?)
                    .map_err(|_| AppError::Internal)?,
            })
        })
        .collect()
}

/// Invitations not yet accepted.
#[tracing::instrument(skip(ctx))]
pub async fn pending_invitations(
    ctx: &ServerContext,
    store_id: i64,
) -> Result<Vec<InvitationView>, AppError> {
    let rows = sqlx::query(
        "SELECT id, email, role, created_at FROM store_invitations WHERE store_id = $1 AND accepted_at IS NULL ORDER BY id",
    )
    .bind(store_id)
    .fetch_all(ctx.db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(InvitationView {
                id: row.try_get("id")?,
                email: row.try_get("email")?,
                role: Role::parse(&row.try_get::<String, _>("role")?)
                    .map_err(|_| AppError::Internal)?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

/// Records an invitation and mails its link. `inviter_store` comes from `require_member`.
#[tracing::instrument(skip(ctx, inviter))]
pub async fn invite(
    ctx: &ServerContext,
    inviter: &Operator,
    inviter_store: &StoreSummary,
    email: &Email,
    role: Role,
) -> Result<(), AppError> {
    if !inviter_store.role.can_invite(role) {
        return Err(AppError::Forbidden);
    }
    let mut tx = ctx.db.begin_write().await?;
    let already = sqlx::query(
        "SELECT 1 AS one FROM store_members m JOIN operators o ON o.id = m.operator_id WHERE m.store_id = $1 AND o.email = $2",
    )
    .bind(inviter_store.id)
    .bind(email.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    if already.is_some() {
        return Err(AppError::AlreadyMember);
    }
    let row = sqlx::query(
        "INSERT INTO store_invitations (store_id, email, role, invited_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(inviter_store.id)
    .bind(email.as_str())
    .bind(role.as_str())
    .bind(inviter.id)
    .bind(clock::now())
    .fetch_one(&mut *tx)
    .await?;
    let invitation_id: i64 = row.try_get("id")?;
    let token = tokens::issue(
        &mut tx,
        TokenPurpose::Invitation,
        TokenSubject {
            operator_id: None,
            invitation_id: Some(invitation_id),
        },
    )
    .await?;
    let link = ctx.link(&format!("/invitations/accept?token={token}"));
    mail::enqueue(
        &mut tx,
        &templates::invitation(
            email,
            &inviter_store.name,
            role.as_str(),
            &inviter.email,
            &link,
        ),
    )
    .await?;
    tx.commit().await?;
    ctx.mail.wake();
    Ok(())
}

struct Invitation {
    id: i64,
    store_id: i64,
    store_name: String,
    email: Email,
    role: Role,
}

async fn invitation(conn: &mut AnyConnection, id: i64) -> Result<Invitation, AppError> {
    let row = sqlx::query(
        "SELECT i.id, i.store_id, s.name, i.email, i.role FROM store_invitations i JOIN stores s ON s.id = i.store_id \
         WHERE i.id = $1 AND i.accepted_at IS NULL",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(AppError::LinkInvalid)?;
    Ok(Invitation {
        id: row.try_get("id")?,
        store_id: row.try_get("store_id")?,
        store_name: row.try_get("name")?,
        email: Email::from_trusted(row.try_get("email")?),
        role: Role::parse(&row.try_get::<String, _>("role")?).map_err(|_| AppError::Internal)?,
    })
}

/// What an invitation link offers: (store name, role, invited address).
#[tracing::instrument(skip(ctx, token))]
pub async fn offer(ctx: &ServerContext, token: &str) -> Result<(String, Role, Email), AppError> {
    let mut conn = ctx.db.pool().acquire().await?;
    let subject = tokens::peek(&mut conn, TokenPurpose::Invitation, token).await?;
    let found = invitation(
        &mut conn,
        subject.invitation_id.ok_or(AppError::LinkInvalid)?,
    )
    .await?;
    Ok((found.store_name, found.role, found.email))
}

/// Makes the signed-in operator a member, if the invitation was sent to their address.
/// Returns the store id.
#[tracing::instrument(skip(ctx, token))]
pub async fn accept(
    ctx: &ServerContext,
    operator: &Operator,
    token: &str,
) -> Result<i64, AppError> {
    let mut tx = ctx.db.begin_write().await?;
    let subject = tokens::peek(&mut tx, TokenPurpose::Invitation, token).await?;
    let found = invitation(&mut tx, subject.invitation_id.ok_or(AppError::LinkInvalid)?).await?;
    if found.email != operator.email {
        // The link stays valid for the person it was meant for.
        return Err(AppError::InvitationForOtherEmail);
    }
    tokens::consume(&mut tx, TokenPurpose::Invitation, token).await?;
    sqlx::query(
        "INSERT INTO store_members (store_id, operator_id, role, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (store_id, operator_id) DO NOTHING",
    )
    .bind(found.store_id)
    .bind(operator.id)
    .bind(found.role.as_str())
    .bind(clock::now())
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE store_invitations SET accepted_at = $1 WHERE id = $2")
        .bind(clock::now())
        .bind(found.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(found.store_id)
}

/// Serialises membership changes of one store (PostgreSQL; SQLite writers are serial anyway),
/// so two owners demoting each other at once cannot leave the store without an owner.
async fn lock_store(
    conn: &mut AnyConnection,
    dialect: Dialect,
    store_id: i64,
) -> Result<(), AppError> {
    if dialect == Dialect::Postgres {
        sqlx::query("SELECT id FROM stores WHERE id = $1 FOR UPDATE")
            .bind(store_id)
            .fetch_optional(conn)
            .await?;
    }
    Ok(())
}

async fn member_role(
    conn: &mut AnyConnection,
    store_id: i64,
    operator_id: i64,
) -> Result<Role, AppError> {
    let row =
        sqlx::query("SELECT role FROM store_members WHERE store_id = $1 AND operator_id = $2")
            .bind(store_id)
            .bind(operator_id)
            .fetch_optional(conn)
            .await?
            .ok_or(AppError::NotFound)?;
    Role::parse(&row.try_get::<String, _>("role")?).map_err(|_| AppError::Internal)
}

async fn other_owners(
    conn: &mut AnyConnection,
    store_id: i64,
    operator_id: i64,
) -> Result<i64, AppError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM store_members WHERE store_id = $1 AND role = 'owner' AND operator_id <> $2")
        .bind(store_id)
        .bind(operator_id)
        .fetch_one(conn)
        .await?;
    Ok(row.try_get("n")?)
}

/// Gives a member another role; the last owner cannot step down.
#[tracing::instrument(skip(ctx))]
pub async fn change_role(
    ctx: &ServerContext,
    store_id: i64,
    member_id: i64,
    role: Role,
) -> Result<(), AppError> {
    let mut tx = ctx.db.begin_write().await?;
    lock_store(&mut tx, ctx.db.dialect(), store_id).await?;
    let current = member_role(&mut tx, store_id, member_id).await?;
    if current == Role::Owner
        && role != Role::Owner
        && other_owners(&mut tx, store_id, member_id).await? == 0
    {
        return Err(AppError::LastOwner);
    }
    sqlx::query("UPDATE store_members SET role = $1 WHERE store_id = $2 AND operator_id = $3")
        .bind(role.as_str())
        .bind(store_id)
        .bind(member_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a member; the last owner cannot be removed.
#[tracing::instrument(skip(ctx))]
pub async fn remove(ctx: &ServerContext, store_id: i64, member_id: i64) -> Result<(), AppError> {
    let mut tx = ctx.db.begin_write().await?;
    lock_store(&mut tx, ctx.db.dialect(), store_id).await?;
    let current = member_role(&mut tx, store_id, member_id).await?;
    if current == Role::Owner && other_owners(&mut tx, store_id, member_id).await? == 0 {
        return Err(AppError::LastOwner);
    }
    sqlx::query("DELETE FROM store_members WHERE store_id = $1 AND operator_id = $2")
        .bind(store_id)
        .bind(member_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
