//! The limits on the ordering flow: how many orders one buyer may place per window, and how many
//! items one order may hold (OWASP API6, unrestricted access to a sensitive business flow).
//!
//! A bot that buys up stock, or a script that turns a stolen token into a thousand orders, uses
//! exactly the API a person uses; what gives it away is volume. The gateway's rate limits count
//! requests; these count *orders*, per buyer, in the orders database itself, so every replica
//! of the service sees the same count. The count is of orders written (pending, paid, failed or
//! refunded) since the start of the window: a failed order is an attempt at the flow too. The
//! count and the insert of a new order are one step (`storage::orders::insert_within`), so
//! concurrent orders cannot all find room under the limit.

use super::items::OrderItems;

/// The limits, from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderLimits {
    /// How many orders one buyer may place per window (0 refuses every order).
    pub max_orders_per_window: i64,
    /// The window, in seconds.
    pub window_secs: i64,
    /// The most items (the sum of the quantities of every line) one order may hold.
    pub max_items_per_order: i64,
}

impl Default for OrderLimits {
    fn default() -> Self {
        Self {
            max_orders_per_window: 10,
            window_secs: 60,
            max_items_per_order: 100,
        }
    }
}

/// Why an order is over a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("the order holds more than {max} items")]
    TooManyItems { max: i64 },
    /// The buyer placed the most orders the window allows; the oldest of them leaves the window
    /// in `retry_after_secs`.
    #[error("too many orders; retry in {retry_after_secs} s")]
    TooManyOrders { retry_after_secs: i64 },
}

impl OrderLimits {
    /// Checks the total quantity of `items`.
    pub fn check_items(&self, items: &OrderItems) -> Result<(), LimitError> {
        // Each quantity is at most 100 and there are at most 20 lines: no overflow.
        let total: i64 = items.iter().map(|(_, quantity)| quantity.get()).sum();
        if total > self.max_items_per_order {
            return Err(LimitError::TooManyItems {
                max: self.max_items_per_order,
            });
        }
        Ok(())
    }

    /// The start of the window that ends `now`.
    pub fn window_start(&self, now: i64) -> i64 {
        now - self.window_secs
    }

    /// Checks the buyer's `recent` orders (in the window), the oldest written at `oldest`.
    pub fn check_rate(&self, recent: i64, oldest: Option<i64>, now: i64) -> Result<(), LimitError> {
        if recent < self.max_orders_per_window {
            return Ok(());
        }
        Err(self.too_many(oldest, now))
    }

    /// The refusal for a buyer at the limit whose oldest order in the window was written at
    /// `oldest`: retry once that one leaves the window.
    pub fn too_many(&self, oldest: Option<i64>, now: i64) -> LimitError {
        let frees_at = oldest.unwrap_or(now) + self.window_secs;
        LimitError::TooManyOrders {
            retry_after_secs: (frees_at - now).max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(pairs: &[(&str, i64)]) -> OrderItems {
        OrderItems::parse(pairs.iter().map(|&(s, q)| (s.to_owned(), q)).collect())
            .expect("valid items")
    }

    #[test]
    fn the_item_cap_counts_every_line_and_is_inclusive() {
        let limits = OrderLimits::default();
        assert_eq!(limits.check_items(&items(&[("A", 60), ("B", 40)])), Ok(()));
        assert_eq!(
            limits.check_items(&items(&[("A", 60), ("B", 41)])),
            Err(LimitError::TooManyItems { max: 100 })
        );
    }

    #[test]
    fn the_tenth_order_in_a_minute_is_allowed_and_the_eleventh_waits_for_the_oldest() {
        let limits = OrderLimits::default();
        assert_eq!(limits.check_rate(9, Some(1_000), 1_030), Ok(()));
        assert_eq!(
            limits.check_rate(10, Some(1_000), 1_030),
            Err(LimitError::TooManyOrders {
                retry_after_secs: 30
            })
        );
        assert_eq!(
            limits.check_rate(10, Some(1_000), 1_060),
            Err(LimitError::TooManyOrders {
                retry_after_secs: 1
            })
        );
    }
}
