//! Generated gRPC code for the east-west calls between services.
//!
//! The `.proto` files under `proto/baton/` are the contract; a service never imports another
//! service's crate, only these types. Generated code is exempt from our lints; the one module
//! written by hand, [`refusal`], is not.

#[allow(missing_debug_implementations, clippy::all, clippy::pedantic)]
pub mod accounts {
    pub mod v1 {
        tonic::include_proto!("baton.accounts.v1");
    }
}

#[allow(missing_debug_implementations, clippy::all, clippy::pedantic)]
pub mod users {
    pub mod v1 {
        tonic::include_proto!("baton.users.v1");
    }
}

/// How the accounts service's refusals travel: a [`accounts::v1::Refusal`] encoded in the gRPC
/// status's `details`, so a caller decides on a code and never on the status message's words.
pub mod refusal {
    use prost::Message;
    use tonic::{Code, Status};

    pub use crate::accounts::v1::Refusal;
    pub use crate::accounts::v1::refusal::Reason;

    /// A status with `code` and `message` that carries `reason`.
    pub fn status(code: Code, message: &'static str, reason: Reason) -> Status {
        let detail = Refusal {
            reason: reason.into(),
        };
        Status::with_details(code, message, detail.encode_to_vec().into())
    }

    /// The reason `status` carries, if it carries one this build knows.
    pub fn reason(status: &Status) -> Option<Reason> {
        let detail = Refusal::decode(status.details()).ok()?;
        Reason::try_from(detail.reason)
            .ok()
            .filter(|reason| *reason != Reason::Unspecified)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_reason_survives_the_trip_and_the_message_does_not_matter() {
            let sent = status(
                Code::FailedPrecondition,
                "any words at all",
                Reason::InsufficientFunds,
            );
            assert_eq!(reason(&sent), Some(Reason::InsufficientFunds));
            assert_eq!(
                reason(&Status::failed_precondition("insufficient funds")),
                None
            );
        }
    }
}
