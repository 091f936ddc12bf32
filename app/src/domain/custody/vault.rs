//! Creating custodial keys and opening them for signing.
//!
//! A private key is stored as `nonce || XChaCha20-Poly1305(master, secret, aad = address)`.
//! Binding the address as associated data means a sealed secret copied onto another row
//! fails to open instead of signing for the wrong address.

use chacha20poly1305::{
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload},
    XChaCha20Poly1305, XNonce,
};
use mvs::{keys::PrivateKey, Network};
use sqlx::{AnyConnection, Row};
use zeroize::Zeroize;

use super::MasterKey;
use crate::domain::{clock::now, db::Database};

/// Row id of a custodial key.
pub type KeyId = i64;

/// What a custodial key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPurpose {
    /// Pays every transaction's ETP fee.
    FeeWallet,
    /// Holds a point system's unissued and redeemed points.
    Treasury,
    /// Holds one customer's points of every store.
    Customer,
}

impl KeyPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::FeeWallet => "fee_wallet",
            KeyPurpose::Treasury => "treasury",
            KeyPurpose::Customer => "customer",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("custodial key {0} does not exist")]
    UnknownKey(KeyId),
    #[error("custodial key {0} cannot be opened with this master key")]
    Unsealable(KeyId),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Creates and opens custodial keys. Cheap to clone.
#[derive(Clone, Debug)]
pub struct KeyVault {
    master: MasterKey,
    network: Network,
}

/// A key just created: its row and its address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewKey {
    pub id: KeyId,
    pub address: String,
}

const NONCE_LEN: usize = 24;

impl KeyVault {
    pub fn new(master: MasterKey, network: Network) -> Self {
        Self { master, network }
    }

    pub fn network(&self) -> Network {
        self.network
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.master.bytes().into())
    }

    /// Generates a key and stores it sealed, inside the caller's transaction.
    #[tracing::instrument(skip(self, conn), fields(purpose = purpose.as_str()))]
    pub async fn create_key(
        &self,
        conn: &mut AnyConnection,
        purpose: KeyPurpose,
    ) -> Result<NewKey, VaultError> {
        let key = PrivateKey::generate(self.network);
        let address = key.address().to_string();
        let public_key = hex::encode(key.public_key().to_bytes());
        let sealed = self.seal(&key, &address);
        let id: i64 = sqlx::query(
            "INSERT INTO custody_keys (purpose, address, public_key, sealed_secret, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(purpose.as_str())
        .bind(&address)
        .bind(public_key)
        .bind(sealed)
        .bind(now())
        .fetch_one(&mut *conn)
        .await?
        .get(0);
        Ok(NewKey { id, address })
    }

    /// Opens a stored key for signing. The key lives only as long as the caller keeps it.
    #[tracing::instrument(skip(self, db))]
    pub async fn private_key(&self, db: &Database, id: KeyId) -> Result<PrivateKey, VaultError> {
        let row = sqlx::query("SELECT address, sealed_secret FROM custody_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await?
            .ok_or(VaultError::UnknownKey(id))?;
        let address: String = row.get(0);
        let sealed: Vec<u8> = row.get(1);
        self.open(id, &sealed, &address)
    }

    fn seal(&self, key: &PrivateKey, address: &str) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut secret = key.to_bytes();
        let ciphertext = self
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: &secret,
                    aad: address.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption of 32 bytes cannot fail");
        secret.zeroize();
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    fn open(&self, id: KeyId, sealed: &[u8], address: &str) -> Result<PrivateKey, VaultError> {
        if sealed.len() <= NONCE_LEN {
            return Err(VaultError::Unsealable(id));
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let mut secret = self
            .cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: address.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Unsealable(id))?;
        let key =
            PrivateKey::from_bytes(&secret, self.network).map_err(|_| VaultError::Unsealable(id));
        secret.zeroize();
        let key = key?;
        // A row whose address does not match its secret is tampered with, whatever the AEAD says.
        if key.address().to_string() != address {
            return Err(VaultError::Unsealable(id));
        }
        Ok(key)
    }
}
