//! Money: which currencies an account may hold, and amounts that are strictly positive.
//!
//! Amounts are `i64` minor units (cents) everywhere; never floating point, and every sum is
//! checked, so an overflow is an error rather than a wrapped-around balance.

use std::fmt;

use serde::Serialize;

/// A currency an account may be opened in. An allow-list, not "any three letters": a currency
/// nobody prices anything in would only make an account that can never be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub enum Currency {
    #[serde(rename = "EUR")]
    Eur,
    #[serde(rename = "USD")]
    Usd,
    #[serde(rename = "GBP")]
    Gbp,
}

/// Why a currency code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CurrencyError {
    #[error("a currency is three uppercase letters")]
    Malformed,
    #[error("that currency is not supported")]
    Unsupported,
}

impl Currency {
    /// Every supported currency, in the order error messages list them.
    pub const ALL: [Currency; 3] = [Currency::Eur, Currency::Usd, Currency::Gbp];

    /// Parses an ISO 4217 code: exactly three uppercase ASCII letters, and one we support.
    pub fn parse(unverified: &str) -> Result<Self, CurrencyError> {
        let well_formed =
            unverified.len() == 3 && unverified.bytes().all(|b| b.is_ascii_uppercase());
        if !well_formed {
            return Err(CurrencyError::Malformed);
        }
        Self::ALL
            .into_iter()
            .find(|currency| currency.code() == unverified)
            .ok_or(CurrencyError::Unsupported)
    }

    pub fn code(self) -> &'static str {
        match self {
            Currency::Eur => "EUR",
            Currency::Usd => "USD",
            Currency::Gbp => "GBP",
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The most an account may hold, in minor units (ten billion in major units): far past any real
/// balance, and far below what an `i64` holds, so no sum of a balance and an amount can overflow.
pub const MAX_BALANCE_MINOR: i64 = 1_000_000_000_000;

/// An amount of money that is strictly positive, in minor units. A debit of zero or of a
/// negative amount (a credit in disguise) cannot be expressed with this type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(i64);

impl Amount {
    pub fn parse(unverified_minor: i64) -> Option<Self> {
        (unverified_minor > 0).then_some(Self(unverified_minor))
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    /// The ledger amount of a debit of this size. Cannot overflow: the amount is positive, and
    /// the negation of any positive `i64` is representable.
    pub fn as_debit(self) -> i64 {
        -self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_supported_code_parses_to_its_currency() {
        assert_eq!(Currency::parse("EUR"), Ok(Currency::Eur));
        assert_eq!(Currency::parse("GBP"), Ok(Currency::Gbp));
    }

    #[test]
    fn lowercase_short_long_or_non_ascii_codes_are_malformed() {
        for code in ["eur", "EU", "EURO", "", "E1R", "ÉUR", " EUR"] {
            assert_eq!(
                Currency::parse(code),
                Err(CurrencyError::Malformed),
                "{code:?}"
            );
        }
    }

    #[test]
    fn a_well_formed_code_outside_the_allow_list_is_unsupported() {
        assert_eq!(Currency::parse("XXX"), Err(CurrencyError::Unsupported));
        assert_eq!(Currency::parse("JPY"), Err(CurrencyError::Unsupported));
    }

    #[test]
    fn a_currency_serializes_as_its_code() {
        assert_eq!(
            serde_json::to_string(&Currency::Usd).ok().as_deref(),
            Some("\"USD\"")
        );
    }

    #[test]
    fn zero_and_negative_amounts_are_not_amounts() {
        assert_eq!(Amount::parse(0), None);
        assert_eq!(Amount::parse(-1), None);
        assert_eq!(Amount::parse(i64::MIN), None);
    }

    #[test]
    fn the_largest_amount_still_negates_into_a_debit() {
        assert_eq!(
            Amount::parse(i64::MAX).map(Amount::as_debit),
            Some(-i64::MAX)
        );
    }
}
