//! Pricing: from items and catalogue prices to lines and a total.
//!
//! Every multiplication and addition is checked. With today's limits (100 of each, 20 lines) a
//! sane catalogue cannot overflow an `i64`, but the catalogue is data, not code, and a wrapped
//! total would be a negative or tiny price: an error is the only right answer.

use std::collections::HashMap;

use super::items::{OrderItems, Sku};
use super::order::Line;

/// One item of the catalogue, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    pub sku: Sku,
    pub name: String,
    pub unit_price_minor: i64,
    pub currency: String,
}

/// Items priced: the lines with their unit prices, the total, and the one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priced {
    pub lines: Vec<Line>,
    pub total_minor: i64,
    pub currency: String,
}

/// Why items could not be priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("an item is not in the catalogue")]
    UnknownSku,
    #[error("the items are not all in one currency")]
    MixedCurrencies,
    #[error("the total is too large")]
    Overflow,
}

/// Prices `items` with `catalog`, which must hold an entry for every SKU ordered.
pub fn price(
    items: &OrderItems,
    catalog: &HashMap<Sku, CatalogEntry>,
) -> Result<Priced, PricingError> {
    let mut lines = Vec::new();
    let mut total_minor: i64 = 0;
    let mut currency: Option<&str> = None;
    for (sku, quantity) in items.iter() {
        let entry = catalog.get(sku).ok_or(PricingError::UnknownSku)?;
        match currency {
            None => currency = Some(&entry.currency),
            Some(seen) if seen != entry.currency => return Err(PricingError::MixedCurrencies),
            Some(_) => {}
        }
        let subtotal = entry
            .unit_price_minor
            .checked_mul(quantity.get())
            .ok_or(PricingError::Overflow)?;
        total_minor = total_minor
            .checked_add(subtotal)
            .ok_or(PricingError::Overflow)?;
        lines.push(Line {
            sku: sku.as_str().to_owned(),
            quantity: quantity.get(),
            unit_price_minor: entry.unit_price_minor,
        });
    }
    // INVARIANT: `items` is never empty, so a currency was seen; an empty list prices to nothing.
    let currency = currency.ok_or(PricingError::UnknownSku)?.to_owned();
    Ok(Priced {
        lines,
        total_minor,
        currency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::items::OrderItems;

    fn catalog(entries: &[(&str, i64, &str)]) -> HashMap<Sku, CatalogEntry> {
        entries
            .iter()
            .filter_map(|&(sku, price, currency)| {
                let sku = Sku::parse(sku)?;
                Some((
                    sku.clone(),
                    CatalogEntry {
                        sku,
                        name: "thing".to_owned(),
                        unit_price_minor: price,
                        currency: currency.to_owned(),
                    },
                ))
            })
            .collect()
    }

    fn items(pairs: &[(&str, i64)]) -> Option<OrderItems> {
        OrderItems::parse(pairs.iter().map(|&(s, q)| (s.to_owned(), q)).collect()).ok()
    }

    #[test]
    fn the_total_is_the_sum_of_price_times_quantity() {
        let catalog = catalog(&[("BATON-MUG", 1250, "EUR"), ("BATON-STICKERS", 300, "EUR")]);
        let items = items(&[("BATON-MUG", 2), ("BATON-STICKERS", 3)]);
        let priced = items.map(|items| price(&items, &catalog));
        assert!(matches!(priced, Some(Ok(p)) if p.total_minor == 3400 && p.currency == "EUR"));
    }

    #[test]
    fn an_item_missing_from_the_catalogue_is_unknown() {
        let priced = items(&[("BATON-YACHT", 1)]).map(|items| price(&items, &catalog(&[])));
        assert_eq!(
            priced.map(|p| p.err()),
            Some(Some(PricingError::UnknownSku))
        );
    }

    #[test]
    fn items_in_two_currencies_are_refused() {
        let catalog = catalog(&[("BATON-MUG", 1250, "EUR"), ("BATON-CAP", 900, "USD")]);
        let priced = items(&[("BATON-MUG", 1), ("BATON-CAP", 1)]).map(|i| price(&i, &catalog));
        assert_eq!(
            priced.map(|p| p.err()),
            Some(Some(PricingError::MixedCurrencies))
        );
    }

    #[test]
    fn a_total_that_would_overflow_is_an_error_not_a_wrapped_price() {
        let catalog = catalog(&[
            ("HUGE", i64::MAX / 50, "EUR"),
            ("HUGE-2", i64::MAX / 2, "EUR"),
        ]);
        let by_product = items(&[("HUGE", 100)]).map(|i| price(&i, &catalog));
        assert_eq!(
            by_product.map(|p| p.err()),
            Some(Some(PricingError::Overflow))
        );
        let by_sum = items(&[("HUGE-2", 1), ("HUGE", 40)]).map(|i| price(&i, &catalog));
        assert_eq!(by_sum.map(|p| p.err()), Some(Some(PricingError::Overflow)));
    }
}
