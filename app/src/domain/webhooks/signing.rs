//! Standard Webhooks signatures: `v1,` + base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")).

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::WebhookSecret;

/// The `webhook-signature` header value for one message.
pub fn sign(secret: &WebhookSecret, msg_id: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.bytes()).expect("HMAC accepts keys of any length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference case published by Standard Webhooks.
    #[test]
    fn matches_the_standard_webhooks_reference_signature() {
        let secret = WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let body = r#"{"email":"test@example.com","username":"test_user"}"#;
        assert_eq!(
            sign(&secret, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, body),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn any_change_changes_the_signature() {
        let secret = WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let reference = sign(&secret, "msg_1", 1, "{}");
        assert_ne!(sign(&secret, "msg_2", 1, "{}"), reference);
        assert_ne!(sign(&secret, "msg_1", 2, "{}"), reference);
        assert_ne!(sign(&secret, "msg_1", 1, "{ }"), reference);
        assert_ne!(
            sign(&WebhookSecret::generate(), "msg_1", 1, "{}"),
            reference
        );
    }
}
