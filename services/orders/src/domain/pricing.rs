//! Pricing: from items and catalogue prices to lines and a total.
//!
//! Every multiplication and addition is checked. With today's limits (100 of each, 20 lines) a
//! sane catalogue cannot overflow an `i64`, but the catalogue is data, not code, and a wrapped
//! total would be a negative or tiny price: an error is the only right answer.

use std::collections::HashMap;

use super::items::{OrderItems, Sku};
use super::order::Line;
use crate::supplier::UnverifiedQuote;

/// How far the supplier's unit price may stray from the catalogue's: at most this many times it,
/// and at least the catalogue's divided by it.
pub const PRICE_BAND: i64 = 2;

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

/// Why a supplier's quote was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuoteRefusal {
    #[error("the quote is for another SKU")]
    OtherSku,
    #[error("the quote is not in the catalogue's currency")]
    OtherCurrency,
    #[error("the quoted price is outside the band around the catalogue's")]
    OutOfBand,
    #[error("the supplier has none in stock")]
    OutOfStock,
}

/// What a supplier's quote may decide: the unit price of `entry`, if it is for that SKU, in the
/// catalogue's currency, in stock, and within [`PRICE_BAND`] of the catalogue's price. A supplier
/// that quotes one cent for a mug, or a million, is refused, not obeyed.
pub fn accept_quote(entry: &CatalogEntry, quote: &UnverifiedQuote) -> Result<i64, QuoteRefusal> {
    if quote.sku != entry.sku.as_str() {
        return Err(QuoteRefusal::OtherSku);
    }
    if quote.currency != entry.currency {
        return Err(QuoteRefusal::OtherCurrency);
    }
    if !quote.available {
        return Err(QuoteRefusal::OutOfStock);
    }
    let low = entry.unit_price_minor / PRICE_BAND;
    let high = entry.unit_price_minor.saturating_mul(PRICE_BAND);
    if quote.unit_price_minor < low.max(1) || quote.unit_price_minor > high {
        return Err(QuoteRefusal::OutOfBand);
    }
    Ok(quote.unit_price_minor)
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

    fn quote(sku: &str, price: i64, currency: &str) -> UnverifiedQuote {
        UnverifiedQuote {
            sku: sku.to_owned(),
            unit_price_minor: price,
            currency: currency.to_owned(),
            available: true,
        }
    }

    #[test]
    fn a_quote_within_the_band_sets_the_price_and_anything_else_is_refused() {
        let catalog = catalog(&[("BATON-MUG", 1250, "EUR")]);
        let entry = catalog.values().next().expect("an entry");
        assert_eq!(
            accept_quote(entry, &quote("BATON-MUG", 1300, "EUR")),
            Ok(1300)
        );
        assert_eq!(
            accept_quote(entry, &quote("BATON-MUG", 625, "EUR")),
            Ok(625)
        );
        assert_eq!(
            accept_quote(entry, &quote("BATON-MUG", 2500, "EUR")),
            Ok(2500)
        );
        assert_eq!(
            accept_quote(entry, &quote("BATON-MUG", 1, "EUR")),
            Err(QuoteRefusal::OutOfBand)
        );
        assert_eq!(
            accept_quote(entry, &quote("BATON-MUG", 2501, "EUR")),
            Err(QuoteRefusal::OutOfBand)
        );
        assert_eq!(
            accept_quote(entry, &quote("BATON-MUG", 1250, "USD")),
            Err(QuoteRefusal::OtherCurrency)
        );
        assert_eq!(
            accept_quote(entry, &quote("BATON-CAP", 1250, "EUR")),
            Err(QuoteRefusal::OtherSku)
        );
        let mut gone = quote("BATON-MUG", 1250, "EUR");
        gone.available = false;
        assert_eq!(accept_quote(entry, &gone), Err(QuoteRefusal::OutOfStock));
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
