//! Base58Check addresses and the scripts they stand for.

use std::fmt;
use std::str::FromStr;

use crate::network::Network;
use crate::script::Script;

/// Why a string is not a usable MVS address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The empty string.
    #[error("address is empty")]
    Empty,
    /// A character outside the Base58 alphabet.
    #[error("address contains a character that is not Base58: {0:?}")]
    InvalidCharacter(char),
    /// The four checksum bytes do not match.
    #[error("address checksum does not match (typo?)")]
    BadChecksum,
    /// Decoded to something other than version + 20 bytes.
    #[error("address decodes to {0} bytes, expected 21")]
    WrongLength(usize),
    /// A version byte no MVS network uses.
    #[error("unknown address version byte 0x{0:02x}")]
    UnknownVersion(u8),
    /// A valid address of the other network.
    #[error("address is for {found}, expected {expected}")]
    WrongNetwork {
        /// The network asked for.
        expected: Network,
        /// The network of the address.
        found: Network,
    },
}

/// What an address pays to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressKind {
    /// Pay to public key hash (the only kind the platform creates).
    P2pkh,
    /// Pay to script hash (multisig).
    P2sh,
}

/// A parsed MVS address: a version byte and a 20-byte hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    version: u8,
    hash: [u8; 20],
}

impl Address {
    /// The P2PKH address of a public key hash.
    pub fn p2pkh(network: Network, hash: [u8; 20]) -> Address {
        Address {
            version: network.p2pkh_version(),
            hash,
        }
    }

    /// The P2SH address of a script hash.
    pub fn p2sh(hash: [u8; 20]) -> Address {
        Address {
            version: 0x05,
            hash,
        }
    }

    /// Parses an address of either network.
    pub fn parse(s: &str) -> Result<Address, AddressError> {
        if s.is_empty() {
            return Err(AddressError::Empty);
        }
        let payload = bs58::decode(s)
            .with_check(None)
            .into_vec()
            .map_err(|e| match e {
                bs58::decode::Error::InvalidCharacter { character, .. } => {
                    AddressError::InvalidCharacter(character)
                }
                bs58::decode::Error::InvalidChecksum { .. } => AddressError::BadChecksum,
                _ => AddressError::WrongLength(0),
            })?;
        if payload.len() != 21 {
            return Err(AddressError::WrongLength(payload.len()));
        }
        let version = payload[0];
        if ![0x32, 0x7F, 0x05].contains(&version) {
            return Err(AddressError::UnknownVersion(version));
        }
        let hash = payload[1..].try_into().expect("length checked");
        Ok(Address { version, hash })
    }

    /// Parses an address and requires it to belong to `network` (P2SH fits both).
    pub fn parse_for(s: &str, network: Network) -> Result<Address, AddressError> {
        let address = Address::parse(s)?;
        match address.network() {
            Some(found) if found != network => Err(AddressError::WrongNetwork {
                expected: network,
                found,
            }),
            _ => Ok(address),
        }
    }

    /// The address that `script` pays to, if it is a standard P2PKH or P2SH script.
    pub fn from_script(script: &Script, network: Network) -> Option<Address> {
        if let Some(hash) = script.p2pkh_hash() {
            return Some(Address::p2pkh(network, hash));
        }
        script.p2sh_hash().map(Address::p2sh)
    }

    /// The network of a P2PKH address; `None` for P2SH, whose version byte is shared.
    pub fn network(&self) -> Option<Network> {
        match self.version {
            0x32 => Some(Network::Mainnet),
            0x7F => Some(Network::Testnet),
            _ => None,
        }
    }

    /// P2PKH or P2SH.
    pub fn kind(&self) -> AddressKind {
        if self.version == 0x05 {
            AddressKind::P2sh
        } else {
            AddressKind::P2pkh
        }
    }

    /// The 20-byte hash inside the address.
    pub fn hash(&self) -> [u8; 20] {
        self.hash
    }

    /// The version byte.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The locking script that pays this address.
    pub fn script_pubkey(&self) -> Script {
        match self.kind() {
            AddressKind::P2pkh => Script::p2pkh(&self.hash),
            AddressKind::P2sh => Script::p2sh(&self.hash),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut payload = Vec::with_capacity(21);
        payload.push(self.version);
        payload.extend_from_slice(&self.hash);
        f.write_str(&bs58::encode(payload).with_check().into_string())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s)
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Address::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_networks_and_round_trips() {
        for s in [
            "tBELxsiiaMVGQcY2Apf7hmzAaipD4YWTTj",
            "MAwLwVGwJyFsTBfNj2j5nCUrQXGVRvHzPh",
        ] {
            let a = Address::parse(s).unwrap();
            assert_eq!(a.to_string(), s);
            assert_eq!(a.kind(), AddressKind::P2pkh);
        }
        let t = Address::parse("tBELxsiiaMVGQcY2Apf7hmzAaipD4YWTTj").unwrap();
        assert_eq!(t.network(), Some(Network::Testnet));
        assert_eq!(
            hex::encode(t.hash()),
            "2f3b65f87fa30c7fc1b5e2919daf0aad0e42b074"
        );
        assert_eq!(
            t.script_pubkey().to_hex(),
            "76a9142f3b65f87fa30c7fc1b5e2919daf0aad0e42b07488ac"
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(Address::parse(""), Err(AddressError::Empty));
        assert_eq!(
            Address::parse("tBELxsiiaMVGQcY2Apf7hmzAaipD4YWTT0"),
            Err(AddressError::InvalidCharacter('0'))
        );
        assert_eq!(
            Address::parse("tBELxsiiaMVGQcY2Apf7hmzAaipD4YWTTk"),
            Err(AddressError::BadChecksum)
        );
        assert_eq!(
            Address::parse_for("tBELxsiiaMVGQcY2Apf7hmzAaipD4YWTTj", Network::Mainnet),
            Err(AddressError::WrongNetwork {
                expected: Network::Mainnet,
                found: Network::Testnet
            })
        );
        // A Bitcoin address: valid Base58Check, wrong version byte.
        assert_eq!(
            Address::parse("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
            Err(AddressError::UnknownVersion(0))
        );
    }
}
