//! The items of an order: SKUs, quantities, and the limits on a whole order.
//!
//! The limits (20 lines, 100 of each) are business rules and a bound on work: an order is
//! priced line by line, and a request cannot make us do more than a screenful of work.

use std::collections::HashSet;

/// The most lines one order may have.
pub const MAX_LINES: usize = 20;
/// The most of one item one order may have.
pub const MAX_QUANTITY: i64 = 100;
/// The longest SKU we accept; the catalogue's are much shorter.
pub const MAX_SKU_LEN: usize = 64;

/// A stock-keeping unit: uppercase ASCII letters, digits and dashes, like `BATON-MUG`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sku(String);

impl Sku {
    pub fn parse(unverified: &str) -> Option<Self> {
        let valid = !unverified.is_empty()
            && unverified.len() <= MAX_SKU_LEN
            && unverified
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        valid.then(|| Self(unverified.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many of one item: 1 to [`MAX_QUANTITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(i64);

impl Quantity {
    pub fn parse(unverified: i64) -> Option<Self> {
        (1..=MAX_QUANTITY)
            .contains(&unverified)
            .then_some(Self(unverified))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// Why a list of items is not an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ItemsError {
    #[error("an order has 1 to 20 items")]
    Count,
    #[error("a sku is uppercase letters, digits and dashes")]
    Sku,
    #[error("a quantity is 1 to 100")]
    Quantity,
    #[error("each sku may appear once")]
    DuplicateSku,
}

/// The items of an order: 1 to [`MAX_LINES`] lines, each SKU once, each quantity in range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItems(Vec<(Sku, Quantity)>);

impl OrderItems {
    /// Parses `(sku, quantity)` pairs as they came in the request.
    pub fn parse(unverified: Vec<(String, i64)>) -> Result<Self, ItemsError> {
        if unverified.is_empty() || unverified.len() > MAX_LINES {
            return Err(ItemsError::Count);
        }
        let mut seen = HashSet::with_capacity(unverified.len());
        let mut items = Vec::with_capacity(unverified.len());
        for (sku, quantity) in unverified {
            let sku = Sku::parse(&sku).ok_or(ItemsError::Sku)?;
            let quantity = Quantity::parse(quantity).ok_or(ItemsError::Quantity)?;
            // Two lines for one SKU would collide on the lines' primary key, and would let a
            // client sidestep the per-item quantity limit.
            if !seen.insert(sku.clone()) {
                return Err(ItemsError::DuplicateSku);
            }
            items.push((sku, quantity));
        }
        Ok(Self(items))
    }

    pub fn iter(&self) -> impl Iterator<Item = &(Sku, Quantity)> {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(pairs: &[(&str, i64)]) -> Result<OrderItems, ItemsError> {
        OrderItems::parse(pairs.iter().map(|&(s, q)| (s.to_owned(), q)).collect())
    }

    #[test]
    fn a_couple_of_catalogue_items_make_an_order() {
        assert!(items(&[("BATON-MUG", 2), ("BATON-STICKERS", 100)]).is_ok());
    }

    #[test]
    fn no_items_or_more_than_twenty_is_refused() {
        assert_eq!(items(&[]), Err(ItemsError::Count));
        let many: Vec<(String, i64)> = (0..=MAX_LINES).map(|n| (format!("SKU-{n}"), 1)).collect();
        assert_eq!(OrderItems::parse(many), Err(ItemsError::Count));
    }

    #[test]
    fn a_quantity_of_zero_negative_or_over_a_hundred_is_refused() {
        for quantity in [0, -1, 101, i64::MAX] {
            assert_eq!(items(&[("BATON-MUG", quantity)]), Err(ItemsError::Quantity));
        }
    }

    #[test]
    fn the_same_sku_twice_is_refused() {
        assert_eq!(
            items(&[("BATON-MUG", 1), ("BATON-MUG", 1)]),
            Err(ItemsError::DuplicateSku)
        );
    }

    #[test]
    fn a_sku_with_lowercase_spaces_or_quotes_is_refused() {
        for sku in ["baton-mug", "BATON MUG", "BATON-MUG'--", ""] {
            assert_eq!(items(&[(sku, 1)]), Err(ItemsError::Sku), "{sku:?}");
        }
    }
}
