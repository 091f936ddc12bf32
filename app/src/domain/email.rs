//! `Email`: an e-mail address that has been checked and normalised.

use std::fmt;

use crate::errors::AppError;

/// A syntactically valid e-mail address, trimmed and lower-cased so that one mailbox maps
/// to one account however it is typed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, AppError> {
        let address = input.trim().to_lowercase();
        let Some((local, domain)) = address.split_once('@') else {
            return Err(AppError::InvalidEmail);
        };
        let plausible = address.len() <= 254
            && !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !address
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>\"(),;:[]\\".contains(c));
        // lettre must accept it too, or no mail could ever be sent to the account.
        if !plausible || address.parse::<lettre::Address>().is_err() {
            return Err(AppError::InvalidEmail);
        }
        Ok(Self(address))
    }

    /// Wraps an address read back from the database (it was parsed before it was stored).
    pub fn from_trusted(address: String) -> Self {
        Self(address)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised() {
        assert_eq!(
            Email::parse("  Ann.Lee@Example.COM ").unwrap().as_str(),
            "ann.lee@example.com"
        );
        assert_eq!(
            Email::parse("a+tag@sub.example.org").unwrap().as_str(),
            "a+tag@sub.example.org"
        );
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "a@b@example.com",
            "<a@example.com>",
            "ann@.example.com",
        ] {
            assert_eq!(Email::parse(bad), Err(AppError::InvalidEmail), "{bad:?}");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
    }
}
