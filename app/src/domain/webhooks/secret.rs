//! Webhook signing secrets: `whsec_` + base64 of 24 random bytes, shown once, sealed at rest.
//!
//! The sender needs the secret itself to sign, so it cannot be hashed like an API key; it is
//! sealed under the platform master key (XChaCha20-Poly1305, like custodial keys).

use std::fmt;

use base64::{engine::general_purpose::STANDARD, Engine};
use chacha20poly1305::{
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload},
    XChaCha20Poly1305, XNonce,
};
use rand::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::domain::custody::MasterKey;

const PREFIX: &str = "whsec_";
const NONCE_LEN: usize = 24;
/// Binds sealed secrets to their purpose, so a sealed custodial key cannot pass for one.
const AAD: &[u8] = b"pointmint webhook secret v1";
/// Binds sealed session flashes to theirs: a flash cannot pass for a stored webhook secret.
const FLASH_AAD: &[u8] = b"pointmint session flash v1";

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Parses the `whsec_...` form.
    pub fn parse(text: &str) -> Option<Self> {
        let encoded = text.strip_prefix(PREFIX)?;
        let bytes = STANDARD.decode(encoded).ok()?;
        (!bytes.is_empty()).then_some(Self(bytes))
    }

    /// The `whsec_...` form, shown to the operator once.
    pub fn reveal(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    pub(super) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(redacted)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a sealed webhook secret does not open under this master key")]
pub struct UnsealError;

/// Seals and opens webhook secrets under the master key.
#[derive(Clone, Debug)]
pub struct SecretSealer {
    master: MasterKey,
}

impl SecretSealer {
    pub fn new(master: MasterKey) -> Self {
        Self { master }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.master.bytes().into())
    }

    pub fn seal(&self, secret: &WebhookSecret) -> Vec<u8> {
        self.seal_with(&secret.0, AAD)
    }

    pub fn open(&self, sealed: &[u8]) -> Result<WebhookSecret, UnsealError> {
        self.open_with(sealed, AAD).map(WebhookSecret)
    }

    /// Seals a secret shown once (a new API key or webhook secret) on its way through the
    /// session: sessions are rows of the database, which must never hold such a secret in
    /// the clear. Base64, for the session's JSON.
    pub fn seal_flash(&self, text: &str) -> String {
        STANDARD.encode(self.seal_with(text.as_bytes(), FLASH_AAD))
    }

    /// Opens what [`Self::seal_flash`] sealed.
    pub fn open_flash(&self, sealed: &str) -> Result<String, UnsealError> {
        let bytes = STANDARD.decode(sealed).map_err(|_| UnsealError)?;
        let opened = self.open_with(&bytes, FLASH_AAD)?;
        String::from_utf8(opened).map_err(|_| UnsealError)
    }

    fn seal_with(&self, msg: &[u8], aad: &[u8]) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher()
            .encrypt(&nonce, Payload { msg, aad })
            .expect("XChaCha20-Poly1305 encryption of a short secret cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    fn open_with(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, UnsealError> {
        if sealed.len() <= NONCE_LEN {
            return Err(UnsealError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| UnsealError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_through_text_and_sealing() {
        let secret = WebhookSecret::generate();
        let text = secret.reveal();
        assert!(text.starts_with("whsec_"));
        assert_eq!(WebhookSecret::parse(&text).unwrap().bytes(), secret.bytes());
        assert_eq!(format!("{secret:?}"), "WebhookSecret(redacted)");

        let sealer = SecretSealer::new(MasterKey::generate());
        let sealed = sealer.seal(&secret);
        assert_eq!(sealer.open(&sealed).unwrap().bytes(), secret.bytes());
        assert!(
            SecretSealer::new(MasterKey::generate())
                .open(&sealed)
                .is_err(),
            "another master key cannot open it"
        );
        assert!(WebhookSecret::parse("whsec_***").is_none());
    }

    #[test]
    fn flashes_round_trip_and_are_not_webhook_secrets() {
        let sealer = SecretSealer::new(MasterKey::generate());
        let sealed = sealer.seal_flash("pm_live_secret");
        assert!(!sealed.contains("pm_live_secret"));
        assert_eq!(sealer.open_flash(&sealed).unwrap(), "pm_live_secret");
        let bytes = STANDARD.decode(&sealed).unwrap();
        assert!(sealer.open(&bytes).is_err(), "purpose-bound");
        assert!(SecretSealer::new(MasterKey::generate())
            .open_flash(&sealed)
            .is_err());
    }
}
