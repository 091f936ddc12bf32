//! Which MVS network a key, address or development chain belongs to.

use std::fmt;
use std::str::FromStr;

/// An MVS network. Addresses and WIF keys encode it in their version byte.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// The production chain ('M...' addresses).
    Mainnet,
    /// The test chain ('t...' addresses); the development chain defaults to it.
    #[default]
    Testnet,
}

impl Network {
    /// Version byte of a pay-to-public-key-hash address.
    pub const fn p2pkh_version(self) -> u8 {
        match self {
            Network::Mainnet => 0x32,
            Network::Testnet => 0x7F,
        }
    }

    /// Version byte of a pay-to-script-hash address (the same on both networks).
    pub const fn p2sh_version(self) -> u8 {
        0x05
    }

    /// Version byte of a WIF private key.
    pub const fn wif_version(self) -> u8 {
        match self {
            Network::Mainnet => 0x80,
            Network::Testnet => 0xEF,
        }
    }

    /// The developer-community address that receives up to 80% of an MST issue fee.
    pub const fn developer_community_address(self) -> &'static str {
        match self {
            Network::Mainnet => "MAwLwVGwJyFsTBfNj2j5nCUrQXGVRvHzPh",
            Network::Testnet => "tBELxsiiaMVGQcY2Apf7hmzAaipD4YWTTj",
        }
    }

    /// Lower-case name, as used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Network::Mainnet => "mainnet",
            Network::Testnet => "testnet",
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A network name that is neither "mainnet" nor "testnet".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown network {0:?} (expected \"mainnet\" or \"testnet\")")]
pub struct UnknownNetwork(pub String);

impl FromStr for Network {
    type Err = UnknownNetwork;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "mainnet" | "main" => Ok(Network::Mainnet),
            "testnet" | "test" => Ok(Network::Testnet),
            _ => Err(UnknownNetwork(s.to_string())),
        }
    }
}
