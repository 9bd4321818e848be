//! The two services orders calls, over gRPC, always with the customer's own token.
//!
//! Which token goes on the wire is decided by `baton_token::onward::NextHop` from the trust
//! mode: in E2E mode it is the token this request arrived with; in exchange mode, a token the STS
//! issues for that one service, with only the scope the call needs (`users:read` for the buyer,
//! `accounts:write` for a debit, `accounts:admin` for a refund). Either way users and accounts
//! verify it and apply their own ownership rules: orders never asks on anyone's behalf but its
//! caller's. This module also decides what each answer *means* for an order: in particular,
//! which failures prove the debit did not happen (the order is `failed`) and which leave it
//! unknown (the order must stay `pending`).
//!
//! One call acts for no user: the reconciler's `Settle` ([`Upstreams::settle`]), which carries
//! orders' own workload token (`baton_token::workload`), asked of the STS by client credentials
//! over mutual TLS, for accounts alone and the scope `accounts:settle`.
//!
//! Every call here is safe to repeat (a read, or a debit or refund the accounts service performs
//! once per reference), so a call that fails because its connection gave way under it is made
//! once more on a fresh one ([`once_more_on_a_fresh_connection`]). Connections do give way in normal
//! operation: a listener closes one at the end of its life or of its client certificate's,
//! and a gRPC call sent just as the server's GOAWAY crosses it fails with nothing done.

use baton_proto::accounts::v1::accounts_client::AccountsClient;
use baton_proto::accounts::v1::settle_reply::Outcome;
use baton_proto::accounts::v1::{DebitRequest, RefundRequest, RefundStateRequest, SettleRequest};
use baton_proto::refusal::{self, Reason};
use baton_proto::users::v1::users_client::UsersClient;
use baton_proto::users::v1::{GetUserRequest, User};
use baton_token::claims::scope;
use baton_token::grpc::with_token;
use baton_token::onward::{NextHop, OnwardError};
use baton_token::{OwnTokens, Principal};
use std::future::Future;

use tonic::transport::Channel;
use tonic::{Code, Request, Status};

/// The clients for the services orders calls. Channels connect lazily and are cheap to clone.
#[derive(Debug, Clone)]
pub struct Upstreams {
    pub users: UsersClient<Channel>,
    pub accounts: AccountsClient<Channel>,
    /// The token for each call: E2E or exchange.
    pub next_hop: NextHop,
    /// Orders' own tokens, for the one call no user is behind (`Settle`).
    pub own_tokens: OwnTokens,
    /// The SPIFFE IDs of users and accounts: the audiences of the tokens orders presents.
    pub users_id: String,
    pub accounts_id: String,
}

/// Why the buyer could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BuyerError {
    #[error("the users service has no profile for the caller")]
    NoProfile,
    #[error("the users service could not be asked")]
    Unavailable,
}

/// What a refused or failed debit means for the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DebitFailure {
    // Refusals: the accounts service answered, and nothing was taken.
    #[error("no such account, or not the caller's")]
    NoSuchAccount,
    #[error("insufficient funds")]
    InsufficientFunds,
    #[error("the account is frozen")]
    Frozen,
    #[error("the order's currency is not the account's")]
    CurrencyMismatch,
    #[error("the debit was refused as invalid")]
    Invalid,
    /// The order's reference was settled as never debited (the reconciler voided it): nothing
    /// was taken, and nothing can be under that reference.
    #[error("the order was settled as not paid")]
    Voided,
    /// Anything else: a timeout, an outage, an answer we did not expect. The money may or may not
    /// have been taken.
    #[error("the outcome of the debit is unknown")]
    Unknown,
}

/// What the accounts service says became of an order's debit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// The ledger holds the debit; it took `amount_minor`.
    Debited { amount_minor: i64 },
    /// No debit was recorded, and none can be now: the reference is void.
    Voided,
    /// The account does not exist: nothing can have been taken from it.
    NoSuchAccount,
}

/// Why a settle did not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SettleFailure {
    /// The STS would not issue orders its own token, or could not be asked.
    #[error("no token for the settle call")]
    NoToken,
    /// A timeout, an outage, a refusal, an answer this build does not know: ask next round.
    #[error("the settle did not answer")]
    Unknown,
}

/// What a failed refund means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefundFailure {
    /// The accounts service would not let this caller refund into that account.
    #[error("the accounts service refused the refund")]
    Refused,
    /// The accounts service found the refund inconsistent with the account.
    #[error("the refund was refused as invalid")]
    Invalid,
    /// A timeout or an outage: the money may or may not have been given back. Asking again is
    /// safe, since the accounts service refunds an order once.
    #[error("the outcome of the refund is unknown")]
    Unknown,
}

impl Upstreams {
    /// The caller's own profile, read with the caller's token.
    pub async fn buyer(&self, principal: &Principal) -> Result<User, BuyerError> {
        let message = GetUserRequest {
            user_id: principal.user_id().hyphenated().to_string(),
        };
        let request = self
            .request(principal, &self.users_id, scope::USERS_READ, message)
            .await
            .map_err(|_| BuyerError::Unavailable)?;
        let users = self.users.clone();
        let asked = once_more_on_a_fresh_connection(request, |request| {
            let mut users = users.clone();
            async move { users.get_user(request).await }
        });
        match asked.await {
            Ok(reply) => Ok(reply.into_inner()),
            Err(status) if status.code() == Code::NotFound => Err(BuyerError::NoProfile),
            Err(status) => {
                tracing::warn!(code = ?status.code(), "users service call failed");
                Err(BuyerError::Unavailable)
            }
        }
    }

    /// Builds the debit call for `principal`. Separate from [`Upstreams::debit`] so a failure to
    /// build it happens before the order is written, while nothing needs undoing.
    pub async fn debit_request(
        &self,
        principal: &Principal,
        message: DebitRequest,
    ) -> Result<Request<DebitRequest>, Status> {
        self.request(principal, &self.accounts_id, scope::ACCOUNTS_WRITE, message)
            .await
    }

    /// Asks the accounts service to take the money.
    pub async fn debit(&self, request: Request<DebitRequest>) -> Result<(), DebitFailure> {
        let accounts = self.accounts.clone();
        let asked = once_more_on_a_fresh_connection(request, |request| {
            let mut accounts = accounts.clone();
            async move { accounts.debit(request).await }
        });
        let status = match asked.await {
            Ok(_) => return Ok(()),
            Err(status) => status,
        };
        let failure = debit_failure(&status);
        tracing::info!(code = ?status.code(), %failure, "debit did not succeed");
        Err(failure)
    }

    /// Asks the accounts service to give an order's money back, with the caller's (an admin's)
    /// token: accounts checks for itself that a refund is theirs to make.
    pub async fn refund(
        &self,
        principal: &Principal,
        message: RefundRequest,
    ) -> Result<(), RefundFailure> {
        let request = self
            .request(principal, &self.accounts_id, scope::ACCOUNTS_ADMIN, message)
            .await
            .map_err(|status| match status.code() {
                Code::PermissionDenied => RefundFailure::Refused,
                _ => RefundFailure::Unknown,
            })?;
        let accounts = self.accounts.clone();
        let asked = once_more_on_a_fresh_connection(request, |request| {
            let mut accounts = accounts.clone();
            async move { accounts.refund(request).await }
        });
        let status = match asked.await {
            Ok(_) => return Ok(()),
            Err(status) => status,
        };
        tracing::info!(code = ?status.code(), "refund did not succeed");
        Err(match (status.code(), refusal::reason(&status)) {
            (Code::PermissionDenied | Code::NotFound, _) => RefundFailure::Refused,
            (Code::InvalidArgument, _) | (_, Some(_)) => RefundFailure::Invalid,
            _ => RefundFailure::Unknown,
        })
    }

    /// Orders' own token for `Settle`, asked of the STS afresh (one per reconciler round).
    pub async fn settle_token(&self) -> Result<String, SettleFailure> {
        self.own_tokens
            .token_for(&self.accounts_id, scope::ACCOUNTS_SETTLE)
            .await
            .map_err(|err| {
                match &err {
                    OnwardError::Refused(code) => {
                        tracing::error!(%code, "the STS refused orders a settle token")
                    }
                    OnwardError::Unavailable => tracing::warn!("no settle token: STS unavailable"),
                }
                SettleFailure::NoToken
            })
    }

    /// Asks the accounts service what became of the debit of the order with reference
    /// `reference`, from `account_id`, presenting `token` (from [`Upstreams::settle_token`]).
    pub async fn settle(
        &self,
        token: &str,
        account_id: &str,
        reference: &str,
    ) -> Result<Settlement, SettleFailure> {
        let request = with_own_token(
            SettleRequest {
                account_id: account_id.to_owned(),
                reference: reference.to_owned(),
            },
            token,
        )?;
        let accounts = self.accounts.clone();
        let asked = once_more_on_a_fresh_connection(request, |request| {
            let mut accounts = accounts.clone();
            async move { accounts.settle(request).await }
        });
        match asked.await {
            Ok(reply) => {
                let reply = reply.into_inner();
                match Outcome::try_from(reply.outcome) {
                    Ok(Outcome::Debited) => Ok(Settlement::Debited {
                        amount_minor: reply.amount_minor,
                    }),
                    Ok(Outcome::Voided) => Ok(Settlement::Voided),
                    _ => {
                        tracing::error!(
                            outcome = reply.outcome,
                            "settle answered an unknown outcome"
                        );
                        Err(SettleFailure::Unknown)
                    }
                }
            }
            Err(status) if status.code() == Code::NotFound => Ok(Settlement::NoSuchAccount),
            Err(status) => {
                tracing::warn!(code = ?status.code(), "settle did not answer");
                Err(SettleFailure::Unknown)
            }
        }
    }

    /// Asks the accounts service whether the refund of order `order_id` was credited to
    /// `account_id`, presenting `token` (from [`Upstreams::settle_token`]): what it put back, or
    /// `None` if it was not.
    pub async fn refund_state(
        &self,
        token: &str,
        account_id: &str,
        order_id: &str,
    ) -> Result<Option<i64>, SettleFailure> {
        let request = with_own_token(
            RefundStateRequest {
                account_id: account_id.to_owned(),
                order_id: order_id.to_owned(),
            },
            token,
        )?;
        let accounts = self.accounts.clone();
        let asked = once_more_on_a_fresh_connection(request, |request| {
            let mut accounts = accounts.clone();
            async move { accounts.refund_state(request).await }
        });
        match asked.await {
            Ok(reply) => {
                let reply = reply.into_inner();
                Ok(reply.refunded.then_some(reply.amount_minor))
            }
            Err(status) => {
                tracing::warn!(code = ?status.code(), "refund state did not answer");
                Err(SettleFailure::Unknown)
            }
        }
    }

    async fn request<T>(
        &self,
        principal: &Principal,
        audience: &str,
        scope: &str,
        message: T,
    ) -> Result<Request<T>, Status> {
        with_token(&self.next_hop, principal, audience, scope, message)
            .await
            .inspect_err(|status| {
                tracing::error!(code = ?status.code(), "could not get the token for the next hop");
            })
    }
}

/// `message` as a request carrying orders' own workload `token` (from
/// [`Upstreams::settle_token`]) as its bearer.
fn with_own_token<T>(message: T, token: &str) -> Result<Request<T>, SettleFailure> {
    let mut request = Request::new(message);
    let value = tonic::metadata::MetadataValue::try_from(format!("Bearer {token}"))
        .map_err(|_| SettleFailure::NoToken)?;
    request.metadata_mut().insert("authorization", value);
    Ok(request)
}

/// What a failed debit means, decided on the status's code and the refusal it carries, never on
/// its words. Only an answer that proves nothing was taken is a refusal; anything else (a
/// timeout, an outage, an answer this build does not know) leaves the outcome unknown.
fn debit_failure(status: &Status) -> DebitFailure {
    match (status.code(), refusal::reason(status)) {
        (Code::NotFound, _) => DebitFailure::NoSuchAccount,
        (_, Some(Reason::InsufficientFunds)) => DebitFailure::InsufficientFunds,
        (_, Some(Reason::AccountFrozen)) => DebitFailure::Frozen,
        (_, Some(Reason::CurrencyMismatch)) => DebitFailure::CurrencyMismatch,
        (_, Some(Reason::ReferenceVoided)) => DebitFailure::Voided,
        // Refused before anything happened: a bad request, a reference used for another amount,
        // or a token accounts would not take.
        (_, Some(Reason::ReferenceReused))
        | (Code::InvalidArgument | Code::PermissionDenied | Code::Unauthenticated, _) => {
            DebitFailure::Invalid
        }
        _ => DebitFailure::Unknown,
    }
}

/// How soon a failed call must have failed to be asked again: a connection that gives way fails
/// its call at once, while a call that timed out (also `Cancelled`) has used its time already.
const GAVE_WAY_WITHIN: std::time::Duration = std::time::Duration::from_secs(1);

/// Makes `call` with `request` and, if the connection gave way under it (`Unavailable` or
/// `Cancelled` within [`GAVE_WAY_WITHIN`]: closed, reset, or going away), once more with a copy,
/// which the channel sends on a fresh connection. Only for calls that are safe to repeat, which
/// every call here is.
async fn once_more_on_a_fresh_connection<T, R, F, Fut>(
    request: Request<T>,
    mut call: F,
) -> Result<R, Status>
where
    T: Clone,
    F: FnMut(Request<T>) -> Fut,
    Fut: Future<Output = Result<R, Status>>,
{
    let (metadata, _, message) = request.into_parts();
    let copy = Request::from_parts(metadata.clone(), Default::default(), message.clone());
    let started = std::time::Instant::now();
    match call(copy).await {
        Err(status)
            if matches!(status.code(), Code::Unavailable | Code::Cancelled)
                && started.elapsed() < GAVE_WAY_WITHIN =>
        {
            tracing::info!(code = ?status.code(), "the connection gave way under a call; asking once more");
            call(Request::from_parts(metadata, Default::default(), message)).await
        }
        answered => answered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_debit_failure_is_read_from_its_code_and_refusal_never_from_its_words() {
        let refused = |reason| refusal::status(Code::FailedPrecondition, "reworded", reason);
        assert_eq!(
            debit_failure(&refused(Reason::InsufficientFunds)),
            DebitFailure::InsufficientFunds
        );
        assert_eq!(
            debit_failure(&refused(Reason::AccountFrozen)),
            DebitFailure::Frozen
        );
        assert_eq!(
            debit_failure(&refused(Reason::CurrencyMismatch)),
            DebitFailure::CurrencyMismatch
        );
        assert_eq!(
            debit_failure(&refused(Reason::ReferenceVoided)),
            DebitFailure::Voided
        );
        // The old message without its code proves nothing: the money may have been taken.
        assert_eq!(
            debit_failure(&Status::failed_precondition("insufficient funds")),
            DebitFailure::Unknown
        );
        assert_eq!(
            debit_failure(&Status::internal("oops")),
            DebitFailure::Unknown
        );
        assert_eq!(
            debit_failure(&Status::not_found("gone")),
            DebitFailure::NoSuchAccount
        );
    }
}
