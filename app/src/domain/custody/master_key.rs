//! The master key that seals every custodial private key (XChaCha20-Poly1305).

use std::{fmt, io::Write, path::Path};

use rand::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// 32 secret bytes. Never printed: `Debug` shows nothing of the key.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; 32]);

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("the master key must be 64 hexadecimal characters (32 bytes)")]
    Malformed,
    #[error("cannot read or create the master key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl MasterKey {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Parses the hex form used in `POINTMINT_MASTER_KEY` and in the key file.
    pub fn from_hex(text: &str) -> Result<Self, MasterKeyError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| MasterKeyError::Malformed)?;
        Ok(Self(bytes))
    }

    /// Reads the key file, or creates it (readable by the owner only) on first start.
    pub fn load_or_create(path: &Path) -> Result<Self, MasterKeyError> {
        let io = |source| MasterKeyError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(&text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(io)?;
                let mut encoded = hex::encode(key.0);
                let written = file
                    .write_all(encoded.as_bytes())
                    .and_then(|_| file.sync_all());
                encoded.zeroize();
                written.map_err(io)?;
                Ok(key)
            }
            Err(error) => Err(io(error)),
        }
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_reveals_nothing() {
        let key = MasterKey::from_hex(&"ab".repeat(32)).unwrap();
        assert_eq!(format!("{key:?}"), "MasterKey(redacted)");
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert!(MasterKey::from_hex("abcd").is_err());
        assert!(MasterKey::from_hex(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn the_key_file_is_created_once_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let first = MasterKey::load_or_create(&path).unwrap();
        let second = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(first.bytes(), second.bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}
