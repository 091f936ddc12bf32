//! Amounts of points in base units.

/// Largest amount the platform accepts: 2^53 - 1, so every JSON client reads it exactly.
pub const MAX_AMOUNT: u64 = (1 << 53) - 1;

/// A positive number of base units, at most [`MAX_AMOUNT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("the amount must be greater than zero")]
    NotPositive,
    #[error("the amount must be at most {MAX_AMOUNT}")]
    TooLarge,
    #[error("the amount must be a whole number of base units")]
    NotANumber,
}

impl Amount {
    pub fn new(units: u64) -> Result<Self, AmountError> {
        match units {
            0 => Err(AmountError::NotPositive),
            u if u > MAX_AMOUNT => Err(AmountError::TooLarge),
            u => Ok(Self(u)),
        }
    }

    /// Parses a form field or query value such as `150`.
    pub fn parse(text: &str) -> Result<Self, AmountError> {
        let text = text.trim();
        if text.starts_with('-') {
            return Err(AmountError::NotPositive);
        }
        let units: u64 = text.parse().map_err(|_| AmountError::NotANumber)?;
        Self::new(units)
    }

    pub fn units(self) -> u64 {
        self.0
    }

    /// The same amount as a database integer (always fits: at most 2^53 - 1).
    pub fn as_i64(self) -> i64 {
        self.0 as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_positive_json_safe_amounts_exist() {
        assert_eq!(Amount::parse("150").unwrap().units(), 150);
        assert_eq!(Amount::parse("0"), Err(AmountError::NotPositive));
        assert_eq!(Amount::parse("-5"), Err(AmountError::NotPositive));
        assert_eq!(Amount::parse("1.5"), Err(AmountError::NotANumber));
        assert_eq!(
            Amount::parse("9007199254740991").unwrap().units(),
            MAX_AMOUNT
        );
        assert_eq!(
            Amount::parse("9007199254740992"),
            Err(AmountError::TooLarge)
        );
    }
}
