//! Hash functions used by MVS: double SHA-256 for ids, HASH160 for addresses.

use ripemd::Ripemd160;
use sha2::{Digest, Sha256};

/// SHA-256 applied twice, as used for transaction ids, block hashes and signature digests.
pub fn sha256d(data: &[u8]) -> [u8; 32] {
    let first = Sha256::digest(data);
    Sha256::digest(first).into()
}

/// RIPEMD-160 of SHA-256: the 20-byte hash inside a P2PKH address.
pub fn hash160(data: &[u8]) -> [u8; 20] {
    Ripemd160::digest(Sha256::digest(data)).into()
}

/// A 32-byte double-SHA256 hash (txid, block hash). Stored in internal byte order;
/// displayed and parsed byte-reversed, as every MVS tool shows it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash256(pub [u8; 32]);

/// A hex string that is not a 32-byte hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid hash {0:?}: expected 64 hex characters")]
pub struct InvalidHash(pub String);

impl Hash256 {
    /// The all-zero hash (previous output of a coinbase input, parent of genesis).
    pub const ZERO: Hash256 = Hash256([0u8; 32]);

    /// Hash of `data` with double SHA-256.
    pub fn of(data: &[u8]) -> Hash256 {
        Hash256(sha256d(data))
    }

    /// Parses the displayed (byte-reversed) hex form.
    pub fn from_display_hex(s: &str) -> Result<Hash256, InvalidHash> {
        let mut bytes: [u8; 32] = hex::decode(s)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| InvalidHash(s.to_string()))?;
        bytes.reverse();
        Ok(Hash256(bytes))
    }

    /// The displayed (byte-reversed) hex form.
    pub fn to_display_hex(&self) -> String {
        let mut bytes = self.0;
        bytes.reverse();
        hex::encode(bytes)
    }
}

impl std::fmt::Display for Hash256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_display_hex())
    }
}

impl std::fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hash256({})", self.to_display_hex())
    }
}

impl std::str::FromStr for Hash256 {
    type Err = InvalidHash;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Hash256::from_display_hex(s)
    }
}

impl serde::Serialize for Hash256 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_display_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Hash256 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Hash256::from_display_hex(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_byte_reversed() {
        let h = Hash256::from_display_hex(
            "6a87eab50da5254395ab6cecb353f5344f03aed92ed5bc0d3303efdbb37c4e0e",
        )
        .unwrap();
        assert_eq!(h.0[0], 0x0e);
        assert_eq!(h.0[31], 0x6a);
        assert_eq!(
            h.to_string(),
            "6a87eab50da5254395ab6cecb353f5344f03aed92ed5bc0d3303efdbb37c4e0e"
        );
        assert!(Hash256::from_display_hex("abcd").is_err());
    }

    #[test]
    fn sha256d_of_empty_matches_known_value() {
        assert_eq!(
            hex::encode(sha256d(b"")),
            "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456"
        );
    }
}
