//! The catalogue: three things to buy, seeded in every mode.
//!
//! Unlike the demo users this is reference data: a production deployment needs something to sell
//! too. Seeding inserts only SKUs that are missing, so an operator's later price change survives
//! a restart, and several processes may seed at once.

use baton_platform::demo;
use sqlx::AnyPool;

use crate::domain::{CatalogEntry, Sku};
use crate::storage::StorageError;
use crate::storage::catalog;

/// SKU, name and unit price in minor units (all in the demo currency).
const CATALOG: [(&str, &str, i64); 3] = [
    ("BATON-MUG", "Baton mug", 1250),
    ("BATON-TSHIRT", "Baton T-shirt", 2400),
    ("BATON-STICKERS", "Baton sticker pack", 300),
];

/// Inserts every catalogue entry that is not there yet.
pub async fn catalog(db: &AnyPool) -> Result<(), StorageError> {
    for (sku, name, unit_price_minor) in CATALOG {
        let Some(sku) = Sku::parse(sku) else {
            // INVARIANT: the SKUs above are well formed; a typo would be caught by the test below.
            continue;
        };
        let entry = CatalogEntry {
            sku,
            name: name.to_owned(),
            unit_price_minor,
            currency: demo::CURRENCY.to_owned(),
        };
        if catalog::insert_if_absent(db, &entry).await? {
            tracing::info!(sku = entry.sku.as_str(), "seeded a catalogue entry");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seeded_sku_is_well_formed() {
        assert!(CATALOG.iter().all(|(sku, _, _)| Sku::parse(sku).is_some()));
    }
}
