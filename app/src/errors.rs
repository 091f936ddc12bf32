//! `AppError`: the one error type at the server-function boundary.
//!
//! Every variant is something a person can act on; internal failures collapse into
//! [`AppError::Internal`] after being logged on the server, so nothing internal leaks.
//! Each error knows the form field it belongs to (shown next to that field) and a stable
//! code, which also carries it through a redirect when a form is posted without JavaScript.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Enter a valid e-mail address, like name@example.com.")]
    InvalidEmail,
    #[error("Use at least {0} characters for the password.")]
    PasswordTooShort(u32),
    #[error("That password is too long (at most {0} characters).")]
    PasswordTooLong(u32),
    #[error("The two passwords differ.")]
    PasswordsDiffer,
    #[error("The current password is wrong.")]
    WrongCurrentPassword,
    #[error("E-mail address or password is wrong.")]
    WrongCredentials,
    #[error("Confirm your e-mail address first: we have sent you a new link.")]
    NotVerified,
    #[error("Too many attempts; try again in {0} minutes.")]
    RateLimited(u32),
    #[error("This link is invalid, has expired or has already been used.")]
    LinkInvalid,
    #[error("Log in first.")]
    NotSignedIn,
    #[error("Not found.")]
    NotFound,
    #[error("Your role in this store does not allow that.")]
    Forbidden,
    #[error("Give the store a name (1 to 80 characters).")]
    InvalidStoreName,
    #[error("Use 3 to 40 lowercase letters, digits and dashes for the address.")]
    InvalidSlug,
    #[error("Another store already uses that address.")]
    SlugTaken,
    #[error("Required confirmations must be a whole number from 1 to 1000 (or empty for the platform's setting).")]
    InvalidConfirmations,
    #[error("The batch window must be a whole number of milliseconds from 0 to 60000 (or empty for the platform's setting).")]
    InvalidBatchWindow,
    #[error("The earn rate must be a number of points greater than 0 (at most 1000000, up to three decimals), like 1 or 2.5.")]
    InvalidEarnRate,
    #[error("Enter the order total as an amount greater than 0, like 12.50.")]
    InvalidOrderTotal,
    #[error("Choose owner, manager or staff.")]
    InvalidRole,
    #[error("This invitation was sent to another e-mail address; log in with that address.")]
    InvitationForOtherEmail,
    #[error("That person already works on this store.")]
    AlreadyMember,
    #[error("A store needs at least one owner.")]
    LastOwner,
    #[error("This request came from another site and was refused.")]
    CrossSite,
    #[error("The form was incomplete or malformed.")]
    BadRequest,
    #[error("Use 3 to 63 characters for the symbol.")]
    SymbolLength,
    #[error("Use only capital letters A-Z, digits and dots in the symbol.")]
    SymbolCharacters,
    #[error("The symbol contains a reserved word (such as ETP, USD, TOKEN, ASSET, ASK, BID, BUY, SELL or DID).")]
    SymbolReservedWord,
    #[error("That symbol is already registered; choose another.")]
    SymbolTaken,
    #[error("Use 3 to 63 letters, digits, dots, dashes, underscores or @ for the issuer avatar, with no reserved word.")]
    InvalidAvatar,
    #[error("Give the points a name (1 to 80 characters).")]
    InvalidPointSystemName,
    #[error("Keep the description under 500 characters.")]
    InvalidDescription,
    #[error("Decimals must be a whole number from 0 to 19.")]
    InvalidDecimals,
    #[error("The maximum supply must be a whole number from 1 to 9007199254740991.")]
    InvalidMaxSupply,
    #[error("Choose a secondary-issue policy from the list.")]
    InvalidSecondaryIssue,
    #[error("This store already has a point system.")]
    PointSystemExists,
    #[error("That avatar is already registered; choose another.")]
    AvatarTaken,
    #[error("That is not an MVS address of this network.")]
    InvalidAddress,
    #[error("No avatar with that name exists on the chain.")]
    UnknownAvatar,
    #[error("Nobody with that e-mail address has a points wallet here.")]
    UnknownRecipient,
    #[error("These points are already yours; choose someone else.")]
    SendToSelf,
    #[error("Use 3 to 63 letters, digits, dots, dashes, underscores or @ for the avatar, with no reserved word.")]
    InvalidAvatarName,
    #[error("That avatar is already taken; choose another.")]
    AvatarNameTaken,
    #[error("You already have an avatar.")]
    AlreadyHasAvatar,
    #[error("Give the customer an id from your shop (1 to 100 characters).")]
    InvalidExternalId,
    #[error("Keep the customer's name under 100 characters.")]
    InvalidCustomerName,
    #[error("Enter a whole number of points greater than zero.")]
    InvalidAmount,
    #[error("That is more points than are available.")]
    InsufficientBalance,
    #[error("Give a reason for the adjustment.")]
    ReasonRequired,
    #[error("Keep the reason to 500 characters or fewer.")]
    ReasonTooLong,
    #[error("The point system is not confirmed on chain yet; wait until it is.")]
    PointSystemNotReady,
    #[error(
        "This point system was issued with a fixed supply: its policy allows no secondary issue."
    )]
    SecondaryIssueForbidden,
    #[error("The treasury holds too few points for the point system's secondary-issue threshold; redeem points back first.")]
    SecondaryIssueShareTooLow,
    #[error("The total supply would be larger than 9007199254740991 points.")]
    SupplyTooLarge,
    #[error("Give the key a name (1 to 80 characters).")]
    InvalidKeyName,
    #[error("Choose at least one scope from the list.")]
    InvalidScopes,
    #[error("Enter an absolute http:// or https:// URL without a user name or password.")]
    InvalidWebhookUrl,
    #[error("That host name does not resolve; check the URL.")]
    WebhookHostUnresolvable,
    #[error("That URL points to a private, loopback or link-local address; webhooks go only to public addresses.")]
    PrivateWebhookTarget,
    #[error("Choose event types from the list.")]
    InvalidEventTypes,
    #[error("Keep the description under 200 characters.")]
    WebhookDescriptionTooLong,
    #[error("This endpoint is disabled; enable it first.")]
    WebhookEndpointDisabled,
    #[error("Something went wrong on our side; please try again.")]
    Internal,
}

impl AppError {
    /// The form field this error belongs to, if any.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            AppError::InvalidEmail
            | AppError::InvitationForOtherEmail
            | AppError::AlreadyMember => Some("email"),
            AppError::PasswordTooShort(_) | AppError::PasswordTooLong(_) => Some("password"),
            AppError::PasswordsDiffer => Some("password_repeat"),
            AppError::WrongCurrentPassword => Some("current_password"),
            AppError::InvalidStoreName => Some("name"),
            AppError::InvalidSlug | AppError::SlugTaken => Some("slug"),
            AppError::InvalidRole => Some("role"),
            AppError::SymbolLength
            | AppError::SymbolCharacters
            | AppError::SymbolReservedWord
            | AppError::SymbolTaken => Some("symbol"),
            AppError::InvalidAvatar | AppError::AvatarTaken => Some("issuer_avatar"),
            AppError::InvalidPointSystemName => Some("name"),
            AppError::InvalidDescription => Some("description"),
            AppError::InvalidDecimals => Some("decimals"),
            AppError::InvalidMaxSupply => Some("max_supply"),
            AppError::InvalidSecondaryIssue => Some("secondary_issue"),
            AppError::InvalidExternalId => Some("external_id"),
            AppError::InvalidCustomerName => Some("name"),
            AppError::InvalidAmount | AppError::InsufficientBalance => Some("amount"),
            AppError::InvalidAddress
            | AppError::UnknownAvatar
            | AppError::UnknownRecipient
            | AppError::SendToSelf => Some("to"),
            AppError::InvalidAvatarName | AppError::AvatarNameTaken => Some("avatar"),
            AppError::InvalidConfirmations => Some("required_confirmations"),
            AppError::InvalidBatchWindow => Some("batch_window_ms"),
            AppError::InvalidEarnRate => Some("earn_rate"),
            AppError::InvalidOrderTotal => Some("order_total"),
            AppError::ReasonRequired | AppError::ReasonTooLong => Some("reason"),
            AppError::SecondaryIssueForbidden
            | AppError::SecondaryIssueShareTooLow
            | AppError::SupplyTooLarge => Some("amount"),
            AppError::InvalidKeyName => Some("name"),
            AppError::InvalidScopes => Some("scopes"),
            AppError::InvalidWebhookUrl
            | AppError::WebhookHostUnresolvable
            | AppError::PrivateWebhookTarget => Some("url"),
            AppError::InvalidEventTypes => Some("event_types"),
            AppError::WebhookDescriptionTooLong => Some("description"),
            _ => None,
        }
    }

    /// A stable, URL-safe code for this error (with its number, if it has one).
    pub fn code(&self) -> String {
        let (name, number) = match self {
            AppError::InvalidEmail => ("invalid_email", None),
            AppError::PasswordTooShort(n) => ("password_too_short", Some(n)),
            AppError::PasswordTooLong(n) => ("password_too_long", Some(n)),
            AppError::PasswordsDiffer => ("passwords_differ", None),
            AppError::WrongCurrentPassword => ("wrong_current_password", None),
            AppError::WrongCredentials => ("wrong_credentials", None),
            AppError::NotVerified => ("not_verified", None),
            AppError::RateLimited(n) => ("rate_limited", Some(n)),
            AppError::LinkInvalid => ("link_invalid", None),
            AppError::NotSignedIn => ("not_signed_in", None),
            AppError::NotFound => ("not_found", None),
            AppError::Forbidden => ("forbidden", None),
            AppError::InvalidStoreName => ("invalid_store_name", None),
            AppError::InvalidSlug => ("invalid_slug", None),
            AppError::SlugTaken => ("slug_taken", None),
            AppError::InvalidRole => ("invalid_role", None),
            AppError::InvitationForOtherEmail => ("invitation_for_other_email", None),
            AppError::AlreadyMember => ("already_member", None),
            AppError::LastOwner => ("last_owner", None),
            AppError::CrossSite => ("cross_site", None),
            AppError::BadRequest => ("bad_request", None),
            AppError::SymbolLength => ("symbol_length", None),
            AppError::SymbolCharacters => ("symbol_characters", None),
            AppError::SymbolReservedWord => ("symbol_reserved_word", None),
            AppError::SymbolTaken => ("symbol_taken", None),
            AppError::InvalidAvatar => ("invalid_avatar", None),
            AppError::InvalidPointSystemName => ("invalid_point_system_name", None),
            AppError::InvalidDescription => ("invalid_description", None),
            AppError::InvalidDecimals => ("invalid_decimals", None),
            AppError::InvalidMaxSupply => ("invalid_max_supply", None),
            AppError::InvalidSecondaryIssue => ("invalid_secondary_issue", None),
            AppError::PointSystemExists => ("point_system_exists", None),
            AppError::AvatarTaken => ("avatar_taken", None),
            AppError::InvalidAddress => ("invalid_address", None),
            AppError::UnknownAvatar => ("unknown_avatar", None),
            AppError::UnknownRecipient => ("unknown_recipient", None),
            AppError::SendToSelf => ("send_to_self", None),
            AppError::InvalidAvatarName => ("invalid_avatar_name", None),
            AppError::AvatarNameTaken => ("avatar_name_taken", None),
            AppError::AlreadyHasAvatar => ("already_has_avatar", None),
            AppError::InvalidExternalId => ("invalid_external_id", None),
            AppError::InvalidCustomerName => ("invalid_customer_name", None),
            AppError::InvalidAmount => ("invalid_amount", None),
            AppError::InvalidConfirmations => ("invalid_confirmations", None),
            AppError::InvalidBatchWindow => ("invalid_batch_window", None),
            AppError::InvalidEarnRate => ("invalid_earn_rate", None),
            AppError::InvalidOrderTotal => ("invalid_order_total", None),
            AppError::InsufficientBalance => ("insufficient_balance", None),
            AppError::ReasonRequired => ("reason_required", None),
            AppError::ReasonTooLong => ("reason_too_long", None),
            AppError::PointSystemNotReady => ("point_system_not_ready", None),
            AppError::SecondaryIssueForbidden => ("secondary_issue_forbidden", None),
            AppError::SecondaryIssueShareTooLow => ("secondary_issue_share_too_low", None),
            AppError::SupplyTooLarge => ("supply_too_large", None),
            AppError::InvalidKeyName => ("invalid_key_name", None),
            AppError::InvalidScopes => ("invalid_scopes", None),
            AppError::InvalidWebhookUrl => ("invalid_webhook_url", None),
            AppError::WebhookHostUnresolvable => ("webhook_host_unresolvable", None),
            AppError::PrivateWebhookTarget => ("private_webhook_target", None),
            AppError::InvalidEventTypes => ("invalid_event_types", None),
            AppError::WebhookDescriptionTooLong => ("webhook_description_too_long", None),
            AppError::WebhookEndpointDisabled => ("webhook_endpoint_disabled", None),
            AppError::Internal => ("internal", None),
        };
        match number {
            Some(n) => format!("{name}-{n}"),
            None => name.to_owned(),
        }
    }

    /// The error a [`code`](Self::code) stands for; `None` for codes nobody issued.
    pub fn from_code(code: &str) -> Option<Self> {
        let (name, number) = match code.split_once('-') {
            Some((name, n)) => (name, Some(n.parse::<u32>().ok()?)),
            None => (code, None),
        };
        let error = match (name, number) {
            ("invalid_email", None) => AppError::InvalidEmail,
            ("password_too_short", Some(n)) => AppError::PasswordTooShort(n),
            ("password_too_long", Some(n)) => AppError::PasswordTooLong(n),
            ("passwords_differ", None) => AppError::PasswordsDiffer,
            ("wrong_current_password", None) => AppError::WrongCurrentPassword,
            ("wrong_credentials", None) => AppError::WrongCredentials,
            ("not_verified", None) => AppError::NotVerified,
            ("rate_limited", Some(n)) => AppError::RateLimited(n),
            ("link_invalid", None) => AppError::LinkInvalid,
            ("not_signed_in", None) => AppError::NotSignedIn,
            ("not_found", None) => AppError::NotFound,
            ("forbidden", None) => AppError::Forbidden,
            ("invalid_store_name", None) => AppError::InvalidStoreName,
            ("invalid_slug", None) => AppError::InvalidSlug,
            ("slug_taken", None) => AppError::SlugTaken,
            ("invalid_role", None) => AppError::InvalidRole,
            ("invitation_for_other_email", None) => AppError::InvitationForOtherEmail,
            ("already_member", None) => AppError::AlreadyMember,
            ("last_owner", None) => AppError::LastOwner,
            ("cross_site", None) => AppError::CrossSite,
            ("bad_request", None) => AppError::BadRequest,
            ("symbol_length", None) => AppError::SymbolLength,
            ("symbol_characters", None) => AppError::SymbolCharacters,
            ("symbol_reserved_word", None) => AppError::SymbolReservedWord,
            ("symbol_taken", None) => AppError::SymbolTaken,
            ("invalid_avatar", None) => AppError::InvalidAvatar,
            ("invalid_point_system_name", None) => AppError::InvalidPointSystemName,
            ("invalid_description", None) => AppError::InvalidDescription,
            ("invalid_decimals", None) => AppError::InvalidDecimals,
            ("invalid_max_supply", None) => AppError::InvalidMaxSupply,
            ("invalid_secondary_issue", None) => AppError::InvalidSecondaryIssue,
            ("point_system_exists", None) => AppError::PointSystemExists,
            ("avatar_taken", None) => AppError::AvatarTaken,
            ("invalid_address", None) => AppError::InvalidAddress,
            ("unknown_avatar", None) => AppError::UnknownAvatar,
            ("unknown_recipient", None) => AppError::UnknownRecipient,
            ("send_to_self", None) => AppError::SendToSelf,
            ("invalid_avatar_name", None) => AppError::InvalidAvatarName,
            ("avatar_name_taken", None) => AppError::AvatarNameTaken,
            ("already_has_avatar", None) => AppError::AlreadyHasAvatar,
            ("invalid_external_id", None) => AppError::InvalidExternalId,
            ("invalid_customer_name", None) => AppError::InvalidCustomerName,
            ("invalid_amount", None) => AppError::InvalidAmount,
            ("insufficient_balance", None) => AppError::InsufficientBalance,
            ("reason_required", None) => AppError::ReasonRequired,
            ("reason_too_long", None) => AppError::ReasonTooLong,
            ("point_system_not_ready", None) => AppError::PointSystemNotReady,
            ("secondary_issue_forbidden", None) => AppError::SecondaryIssueForbidden,
            ("secondary_issue_share_too_low", None) => AppError::SecondaryIssueShareTooLow,
            ("supply_too_large", None) => AppError::SupplyTooLarge,
            ("invalid_key_name", None) => AppError::InvalidKeyName,
            ("invalid_scopes", None) => AppError::InvalidScopes,
            ("invalid_webhook_url", None) => AppError::InvalidWebhookUrl,
            ("webhook_host_unresolvable", None) => AppError::WebhookHostUnresolvable,
            ("invalid_confirmations", None) => AppError::InvalidConfirmations,
            ("invalid_batch_window", None) => AppError::InvalidBatchWindow,
            ("invalid_earn_rate", None) => AppError::InvalidEarnRate,
            ("invalid_order_total", None) => AppError::InvalidOrderTotal,
            ("private_webhook_target", None) => AppError::PrivateWebhookTarget,
            ("invalid_event_types", None) => AppError::InvalidEventTypes,
            ("webhook_description_too_long", None) => AppError::WebhookDescriptionTooLong,
            ("webhook_endpoint_disabled", None) => AppError::WebhookEndpointDisabled,
            ("internal", None) => AppError::Internal,
            _ => return None,
        };
        Some(error)
    }

    /// The HTTP status a JavaScript caller receives with this error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::NotSignedIn => 401,
            AppError::Forbidden | AppError::CrossSite => 403,
            AppError::NotFound => 404,
            AppError::SlugTaken
            | AppError::AlreadyMember
            | AppError::LastOwner
            | AppError::SymbolTaken
            | AppError::PointSystemExists
            | AppError::AvatarTaken => 409,
            AppError::InsufficientBalance | AppError::PointSystemNotReady => 409,
            AppError::SecondaryIssueForbidden | AppError::SecondaryIssueShareTooLow => 409,
            AppError::WebhookEndpointDisabled => 409,
            AppError::RateLimited(_) => 429,
            AppError::Internal => 500,
            _ => 400,
        }
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr;
        match value {
            // Missing or malformed fields in a posted form.
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::Deserialization(_)
            | ServerFnErrorErr::MissingArg(_) => AppError::BadRequest,
            _ => AppError::Internal,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(%error, "database error");
        AppError::Internal
    }
}

#[cfg(test)]
mod tests {
    use super::AppError;

    #[test]
    fn codes_round_trip() {
        for error in [
            AppError::InvalidEmail,
            AppError::PasswordTooShort(10),
            AppError::RateLimited(14),
            AppError::LinkInvalid,
            AppError::Internal,
            AppError::LastOwner,
        ] {
            assert_eq!(AppError::from_code(&error.code()), Some(error));
        }
        assert_eq!(AppError::from_code("rate_limited-x"), None);
        assert_eq!(AppError::from_code("<script>"), None);
    }

    #[test]
    fn messages_are_clear() {
        assert_eq!(
            AppError::RateLimited(3).to_string(),
            "Too many attempts; try again in 3 minutes."
        );
    }
}
