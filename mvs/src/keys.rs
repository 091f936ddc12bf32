//! secp256k1 keys: generation, WIF import/export, compressed public keys, ECDSA.

use secp256k1::{ecdsa, Message, SecretKey, SECP256K1};

use crate::address::Address;
use crate::hash::hash160;
use crate::network::Network;

/// Why a private or public key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not Base58Check, or the checksum does not match.
    #[error("invalid WIF encoding: {0}")]
    InvalidWif(String),
    /// A WIF version byte other than 0x80 (mainnet) or 0xEF (testnet).
    #[error("unknown WIF version byte 0x{0:02x}")]
    UnknownWifVersion(u8),
    /// The WIF lacks the 0x01 suffix: MVS keys are always used compressed.
    #[error("WIF key is not marked compressed; MVS uses compressed public keys")]
    UncompressedWif,
    /// 32 bytes that are zero or not below the curve order.
    #[error("private key is out of range")]
    OutOfRange,
    /// A private key must be exactly 32 bytes.
    #[error("private key must be 32 bytes, got {0}")]
    WrongLength(usize),
    /// Bytes that are not a point on the curve.
    #[error("invalid public key")]
    InvalidPublicKey,
    /// Text that is not hexadecimal.
    #[error("invalid hex")]
    InvalidHex,
}

/// A secp256k1 private key together with the network its WIF and address belong to.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey {
    secret: SecretKey,
    network: Network,
}

impl std::fmt::Debug for PrivateKey {
    // Never print key material: this type ends up in logs through `{:?}` of larger structs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PrivateKey({}, {})",
            self.network,
            self.public_key().address(self.network)
        )
    }
}

impl PrivateKey {
    /// A fresh key from the operating system's random number generator.
    pub fn generate(network: Network) -> PrivateKey {
        let secret = SecretKey::new(&mut rand::rngs::OsRng);
        PrivateKey { secret, network }
    }

    /// A key from its 32 raw bytes.
    pub fn from_bytes(bytes: &[u8], network: Network) -> Result<PrivateKey, KeyError> {
        if bytes.len() != 32 {
            return Err(KeyError::WrongLength(bytes.len()));
        }
        let secret = SecretKey::from_slice(bytes).map_err(|_| KeyError::OutOfRange)?;
        Ok(PrivateKey { secret, network })
    }

    /// A key from 64 hex characters.
    pub fn from_hex(s: &str, network: Network) -> Result<PrivateKey, KeyError> {
        let bytes = hex::decode(s.trim()).map_err(|_| KeyError::InvalidHex)?;
        PrivateKey::from_bytes(&bytes, network)
    }

    /// Imports a compressed WIF key; the network comes from its version byte.
    pub fn from_wif(wif: &str) -> Result<PrivateKey, KeyError> {
        let payload = bs58::decode(wif.trim())
            .with_check(None)
            .into_vec()
            .map_err(|e| KeyError::InvalidWif(e.to_string()))?;
        let network = match payload.first() {
            Some(0x80) => Network::Mainnet,
            Some(0xEF) => Network::Testnet,
            Some(v) => return Err(KeyError::UnknownWifVersion(*v)),
            None => return Err(KeyError::InvalidWif("empty".into())),
        };
        match payload.len() {
            34 if payload[33] == 0x01 => PrivateKey::from_bytes(&payload[1..33], network),
            33 => Err(KeyError::UncompressedWif),
            n => Err(KeyError::InvalidWif(format!("payload of {n} bytes"))),
        }
    }

    /// Exports as compressed WIF.
    pub fn to_wif(&self) -> String {
        let mut payload = Vec::with_capacity(34);
        payload.push(self.network.wif_version());
        payload.extend_from_slice(&self.secret.secret_bytes());
        payload.push(0x01);
        bs58::encode(payload).with_check().into_string()
    }

    /// The 32 raw secret bytes (for encrypting at rest).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.secret.secret_bytes()
    }

    /// The network of this key's WIF and address.
    pub fn network(&self) -> Network {
        self.network
    }

    /// The compressed public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.secret.public_key(SECP256K1))
    }

    /// The P2PKH address of this key on its network.
    pub fn address(&self) -> Address {
        self.public_key().address(self.network)
    }

    /// Signs a 32-byte digest: RFC 6979 deterministic nonce, low-S, DER encoded
    /// (without the sighash type byte).
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Vec<u8> {
        let msg = Message::from_digest(*digest);
        // libsecp256k1 always produces low-S signatures with an RFC 6979 nonce.
        SECP256K1
            .sign_ecdsa(&msg, &self.secret)
            .serialize_der()
            .to_vec()
    }
}

/// A secp256k1 public key, always serialized compressed (33 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(secp256k1::PublicKey);

impl PublicKey {
    /// Reads a compressed (33-byte) or uncompressed (65-byte) encoding.
    pub fn from_slice(bytes: &[u8]) -> Result<PublicKey, KeyError> {
        secp256k1::PublicKey::from_slice(bytes)
            .map(PublicKey)
            .map_err(|_| KeyError::InvalidPublicKey)
    }

    /// Reads hex of a compressed or uncompressed key.
    pub fn from_hex(s: &str) -> Result<PublicKey, KeyError> {
        let bytes = hex::decode(s.trim()).map_err(|_| KeyError::InvalidHex)?;
        PublicKey::from_slice(&bytes)
    }

    /// The 33-byte compressed encoding.
    pub fn to_bytes(&self) -> [u8; 33] {
        self.0.serialize()
    }

    /// HASH160 of the compressed encoding.
    pub fn hash160(&self) -> [u8; 20] {
        hash160(&self.to_bytes())
    }

    /// The P2PKH address of this key.
    pub fn address(&self, network: Network) -> Address {
        Address::p2pkh(network, self.hash160())
    }

    /// Checks a DER signature (without sighash byte) over a digest. Only low-S,
    /// strictly DER-encoded signatures are accepted, as MVS nodes require.
    pub fn verify_digest(&self, digest: &[u8; 32], der: &[u8]) -> bool {
        if !crate::sign::is_strict_der(der) {
            return false;
        }
        let Ok(sig) = ecdsa::Signature::from_der(der) else {
            return false;
        };
        let mut normalized = sig;
        normalized.normalize_s();
        if normalized != sig {
            return false;
        }
        SECP256K1
            .verify_ecdsa(&Message::from_digest(*digest), &sig, &self.0)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Key 0 of vectors-testnet.json (generated by metaversejs).
    const WIF: &str = "cRL18iZd7Kp21q1ib3NRciLYvmCAXyWRaHeVqU7vWnyQ1gyjD1b9";

    #[test]
    fn wif_round_trip_and_derivations_match_metaversejs() {
        let key = PrivateKey::from_wif(WIF).unwrap();
        assert_eq!(key.network(), Network::Testnet);
        assert_eq!(
            hex::encode(key.to_bytes()),
            "6fc9c14fcb997c91db7fd0951a26a209eba5a7dd743f45e9736d49d10535df1e"
        );
        assert_eq!(
            hex::encode(key.public_key().to_bytes()),
            "0320e8cee427771928544054986e9dc14f2a9d0bb7aea0ffcdb382023475b5bdbc"
        );
        assert_eq!(
            key.address().to_string(),
            "tGBMcLr6dwfaMaoYiJgtZ3cYUbbGsbpb8t"
        );
        assert_eq!(key.to_wif(), WIF);
    }

    #[test]
    fn bad_wif_is_rejected_with_reason() {
        let mut broken = WIF.to_string();
        broken.replace_range(10..11, "x");
        assert!(matches!(
            PrivateKey::from_wif(&broken),
            Err(KeyError::InvalidWif(_))
        ));
        assert!(matches!(
            PrivateKey::from_bytes(&[0u8; 32], Network::Mainnet),
            Err(KeyError::OutOfRange)
        ));
        assert!(matches!(
            PrivateKey::from_bytes(&[1u8; 31], Network::Mainnet),
            Err(KeyError::WrongLength(31))
        ));
    }

    #[test]
    fn generated_keys_sign_and_verify() {
        let key = PrivateKey::generate(Network::Mainnet);
        assert!(key.address().to_string().starts_with('M'));
        let digest = [7u8; 32];
        let sig = key.sign_digest(&digest);
        assert!(key.public_key().verify_digest(&digest, &sig));
        assert!(!key.public_key().verify_digest(&[8u8; 32], &sig));
        let restored = PrivateKey::from_wif(&key.to_wif()).unwrap();
        assert_eq!(restored, key);
    }
}
