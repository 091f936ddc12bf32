//! MST and avatar symbol rules (parse, don't validate).

use std::fmt;

/// Words an MST symbol may not contain, and an avatar may not contain in any case
/// (the subset of the node's list given in PROTOCOL.md).
pub const RESERVED_WORDS: &[&str] = &[
    "ETP", "USD", "EUR", "CNY", "GBP", "AUD", "CHF", "TOKEN", "ASSET", "BALANCE", "EXCHANGE",
    "CURRENCY", "BUY", "SELL", "ASK", "BID", "DID", "CHINA", "PARTY", "VPN",
];

/// Shortest and longest symbol, MST or avatar.
pub const SYMBOL_MIN_LEN: usize = 3;
/// See [`SYMBOL_MIN_LEN`].
pub const SYMBOL_MAX_LEN: usize = 63;

/// Why a string is not an acceptable symbol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymbolError {
    /// Shorter than 3 or longer than 63 characters.
    #[error("symbol must be 3 to 63 characters long, got {0}")]
    Length(usize),
    /// A character outside the allowed set.
    #[error("symbol contains {0:?}; allowed are {1}")]
    InvalidCharacter(char, &'static str),
    /// Contains a reserved word (e.g. BASKET contains ASK).
    #[error("symbol contains the reserved word {0}")]
    ReservedWord(&'static str),
}

fn check_common(
    s: &str,
    allowed: fn(char) -> bool,
    allowed_text: &'static str,
) -> Result<(), SymbolError> {
    let len = s.chars().count();
    if !(SYMBOL_MIN_LEN..=SYMBOL_MAX_LEN).contains(&len) {
        return Err(SymbolError::Length(len));
    }
    if let Some(c) = s.chars().find(|c| !allowed(*c)) {
        return Err(SymbolError::InvalidCharacter(c, allowed_text));
    }
    let upper = s.to_ascii_uppercase();
    if let Some(word) = RESERVED_WORDS.iter().find(|w| upper.contains(*w)) {
        return Err(SymbolError::ReservedWord(word));
    }
    Ok(())
}

/// A valid MST symbol: `[A-Z0-9.]{3,63}` containing no reserved word.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol(String);

impl Symbol {
    /// Checks every symbol rule; nothing is normalised (lower case is an error).
    pub fn parse(s: &str) -> Result<Symbol, SymbolError> {
        check_common(
            s,
            |c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '.',
            "A-Z, 0-9 and '.'",
        )?;
        Ok(Symbol(s.to_string()))
    }

    /// The domain: the text before the first '.', or the whole symbol.
    pub fn domain(&self) -> &str {
        self.0.split('.').next().unwrap_or(&self.0)
    }

    /// The symbol text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The domain of any symbol text (before the first '.').
pub fn domain_of(symbol: &str) -> &str {
    symbol.split('.').next().unwrap_or(symbol)
}

/// A valid avatar (DID) name: `[A-Za-z0-9.@_-]{3,63}` containing no reserved word in any case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AvatarName(String);

impl AvatarName {
    /// Checks every avatar-name rule.
    pub fn parse(s: &str) -> Result<AvatarName, SymbolError> {
        check_common(
            s,
            |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '@' | '_' | '-'),
            "A-Z, a-z, 0-9, '.', '@', '_' and '-'",
        )?;
        Ok(AvatarName(s.to_string()))
    }

    /// The name as registered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key under which avatars are unique (names are case-insensitive).
    pub fn unique_key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for AvatarName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mst_symbols() {
        let s = Symbol::parse("SHOP.POINTS").unwrap();
        assert_eq!(s.domain(), "SHOP");
        assert_eq!(Symbol::parse("ABC").unwrap().domain(), "ABC");
        assert_eq!(Symbol::parse("AB"), Err(SymbolError::Length(2)));
        assert_eq!(Symbol::parse(&"A".repeat(64)), Err(SymbolError::Length(64)));
        assert!(matches!(
            Symbol::parse("shop"),
            Err(SymbolError::InvalidCharacter('s', _))
        ));
        assert!(matches!(
            Symbol::parse("SHOP-X"),
            Err(SymbolError::InvalidCharacter('-', _))
        ));
        assert_eq!(
            Symbol::parse("BASKET"),
            Err(SymbolError::ReservedWord("ASK"))
        );
        assert_eq!(
            Symbol::parse("MYTOKEN.X"),
            Err(SymbolError::ReservedWord("TOKEN"))
        );
        assert_eq!(Symbol::parse("ETP"), Err(SymbolError::ReservedWord("ETP")));
    }

    #[test]
    fn avatar_names() {
        assert!(AvatarName::parse("alice.avatar").is_ok());
        assert!(AvatarName::parse("bob_1@shop-x").is_ok());
        assert_eq!(AvatarName::parse("Alice").unwrap().unique_key(), "alice");
        assert_eq!(
            AvatarName::parse("myetp"),
            Err(SymbolError::ReservedWord("ETP"))
        );
        assert!(matches!(
            AvatarName::parse("al ice"),
            Err(SymbolError::InvalidCharacter(' ', _))
        ));
        assert_eq!(AvatarName::parse("ab"), Err(SymbolError::Length(2)));
    }
}
