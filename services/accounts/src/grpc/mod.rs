//! The `Accounts` gRPC service: `Debit`, which the orders service calls to pay for an order,
//! `Refund`, which it calls when an admin refunds one, and `Settle` and `RefundState`, which its
//! reconciler calls for an order whose payment's answer was lost, or whose refund was left half
//! way.
//!
//! `Debit` and `Refund` carry the customer's own token in the `authorization` metadata entry,
//! verified here: the user is the token's subject, never a field of the message, so orders cannot
//! spend from an account its caller does not own. `Settle` and `RefundState` act for no user:
//! they carry orders' own workload token (`baton_token::workload`), and are the calls that accept
//! one; it must be orders', with the scope `accounts:settle`, bound to the certificate presenting
//! it. A user's token is refused there, and a workload token everywhere else. Every field is parsed before anything else happens,
//! and errors are fixed messages. A refusal the caller must act on (insufficient funds, a frozen
//! account, another currency, a reused reference, a refund with no debit to match) carries its
//! reason as a code in the status's details (`baton_proto::refusal`): that code, not the
//! message's words, is the contract.

use baton_proto::accounts::v1::accounts_server::Accounts;
use baton_proto::accounts::v1::settle_reply::Outcome;
use baton_proto::accounts::v1::{
    DebitReply, DebitRequest, RefundReply, RefundRequest, RefundStateReply, RefundStateRequest,
    SettleReply, SettleRequest,
};
use baton_proto::refusal::{self, Reason};
use baton_token::Principal;
use baton_token::claims::scope;
use baton_token::grpc::{authenticate, authenticate_workload};
use tonic::{Code, Request, Response, Status};

use crate::app::AppState;
use crate::domain::backoffice::{self, refund_reference};
use crate::domain::debit::debit;
use crate::domain::settle::settle;
use crate::domain::{
    AccountError, AccountId, Amount, Credit, CreditError, Currency, DebitError, DebitOrder,
    Reference, SettleError, Settlement,
};

/// The gRPC face of the accounts service.
#[derive(Debug, Clone)]
pub struct AccountsService {
    state: AppState,
}

impl AccountsService {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl Accounts for AccountsService {
    async fn debit(&self, request: Request<DebitRequest>) -> Result<Response<DebitReply>, Status> {
        let principal = authenticate(&self.state.verifier, &request).await?;
        require_scope(&principal, scope::ACCOUNTS_WRITE)?;
        let order = parse(request.get_ref())?;
        let state = &self.state;
        let debited = debit(&state.db, &principal, &state.guard, &state.faults, &order)
            .await
            .map_err(status_of)?;
        tracing::info!(
            account_id = %order.account,
            amount_minor = order.amount.minor(),
            entry_id = %debited.entry_id,
            "debited"
        );
        Ok(Response::new(DebitReply {
            entry_id: debited.entry_id,
            balance_minor: debited.balance_minor,
        }))
    }

    async fn refund(
        &self,
        request: Request<RefundRequest>,
    ) -> Result<Response<RefundReply>, Status> {
        let principal = authenticate(&self.state.verifier, &request).await?;
        require_scope(&principal, scope::ACCOUNTS_ADMIN)?;
        let (credit, paid_with) = parse_refund(request.get_ref())?;
        let state = &self.state;
        let credited = backoffice::refund(
            &state.db,
            &principal,
            &state.guard,
            &state.controls,
            &credit,
            &paid_with,
        )
        .await
        .map_err(refund_status)?;
        Ok(Response::new(RefundReply {
            entry_id: credited.entry_id,
        }))
    }

    async fn settle(
        &self,
        request: Request<SettleRequest>,
    ) -> Result<Response<SettleReply>, Status> {
        let caller = self.orders_itself(&request).await?;
        let (account, reference) = parse_settle(request.get_ref())?;
        let settled = settle(&self.state.db, &self.state.faults, account, &reference)
            .await
            .map_err(settle_status)?;
        tracing::info!(account_id = %account, token_id = caller.token_id(), ?settled, "settled a reference");
        Ok(Response::new(match settled {
            Settlement::Debited {
                entry_id,
                amount_minor,
            } => SettleReply {
                outcome: Outcome::Debited.into(),
                entry_id,
                amount_minor,
            },
            Settlement::Voided => SettleReply {
                outcome: Outcome::Voided.into(),
                entry_id: String::new(),
                amount_minor: 0,
            },
        }))
    }

    async fn refund_state(
        &self,
        request: Request<RefundStateRequest>,
    ) -> Result<Response<RefundStateReply>, Status> {
        self.orders_itself(&request).await?;
        let ask = request.get_ref();
        let account = AccountId::parse(&ask.account_id)
            .ok_or_else(|| Status::not_found("no such account"))?;
        let reference = uuid::Uuid::try_parse(&ask.order_id)
            .ok()
            .and_then(|order| refund_reference(&order.hyphenated().to_string()))
            .ok_or_else(|| Status::invalid_argument("order_id must be a UUID"))?;
        let credited = backoffice::refunded(&self.state.db, account, &reference)
            .await
            .map_err(|err| {
                tracing::error!(error = %err, "storage failed");
                Status::internal("internal error")
            })?;
        Ok(Response::new(RefundStateReply {
            refunded: credited.is_some(),
            amount_minor: credited.unwrap_or(0),
        }))
    }
}

impl AccountsService {
    /// The caller of a call that acts for no user: orders itself, by its own workload token
    /// with the scope `accounts:settle`. Anyone else is refused, and said so in the log.
    async fn orders_itself<T>(
        &self,
        request: &Request<T>,
    ) -> Result<baton_token::WorkloadPrincipal, Status> {
        let caller = authenticate_workload(&self.state.verifier, request).await?;
        if caller.workload_id() != self.state.orders_id {
            tracing::warn!(
                security_event = "settle_refused",
                workload = caller.workload_id(),
                "refused a workload's call that only orders may make"
            );
            return Err(Status::permission_denied("only orders may make this call"));
        }
        if !caller.has_scope(scope::ACCOUNTS_SETTLE) {
            return Err(Status::permission_denied(
                "the token lacks the scope this call needs",
            ));
        }
        Ok(caller)
    }
}

/// The account and the order's reference a settle names: the reference must be an order id.
fn parse_settle(request: &SettleRequest) -> Result<(AccountId, Reference), Status> {
    let account = AccountId::parse(&request.account_id)
        .ok_or_else(|| Status::not_found("no such account"))?;
    let reference = uuid::Uuid::try_parse(&request.reference)
        .ok()
        .and_then(|order| Reference::parse(&order.hyphenated().to_string()))
        .ok_or_else(|| Status::invalid_argument("reference must be an order id (a UUID)"))?;
    Ok((account, reference))
}

fn settle_status(err: SettleError) -> Status {
    match err {
        SettleError::NoSuchAccount => Status::not_found("no such account"),
        SettleError::NotADebit => Status::failed_precondition("the reference is not a debit's"),
        SettleError::Storage(err) => {
            tracing::error!(error = %err, "storage failed");
            Status::internal("internal error")
        }
    }
}

/// The scope check every call makes (`service.scope`): a debit needs `accounts:write`, a refund
/// `accounts:admin`. In exchange mode these are the scopes orders asked the STS for.
fn require_scope(principal: &Principal, scope: &str) -> Result<(), Status> {
    if principal.has_scope(scope) {
        Ok(())
    } else {
        Err(Status::permission_denied(
            "the token lacks the scope this call needs",
        ))
    }
}

/// The refund's credit, and the reference of the order's debit it reverses (the order id).
fn parse_refund(request: &RefundRequest) -> Result<(Credit, Reference), Status> {
    let order_id = uuid::Uuid::try_parse(&request.order_id)
        .map(|order| order.hyphenated().to_string())
        .map_err(|_| Status::invalid_argument("order_id must be a UUID"))?;
    let invalid_order = || Status::invalid_argument("order_id must be a UUID");
    let credit = Credit {
        account: AccountId::parse(&request.account_id)
            .ok_or_else(|| Status::not_found("no such account"))?,
        amount: Amount::parse(request.amount_minor)
            .ok_or_else(|| Status::invalid_argument("amount_minor must be positive"))?,
        currency: Currency::parse(&request.currency)
            .map_err(|_| Status::invalid_argument("currency is not a supported ISO 4217 code"))?,
        reference: refund_reference(&order_id).ok_or_else(invalid_order)?,
    };
    Ok((
        credit,
        Reference::parse(&order_id).ok_or_else(invalid_order)?,
    ))
}

fn refund_status(err: CreditError) -> Status {
    match err {
        CreditError::Account(AccountError::NotFound) => Status::not_found("no such account"),
        CreditError::Account(AccountError::Forbidden) => {
            Status::permission_denied("refunds are for the back office")
        }
        CreditError::Account(AccountError::Storage(err)) => {
            tracing::error!(error = %err, "storage failed");
            Status::internal("internal error")
        }
        CreditError::CurrencyMismatch => refusal::status(
            Code::FailedPrecondition,
            "currency does not match the account",
            Reason::CurrencyMismatch,
        ),
        CreditError::ReferenceReused => refusal::status(
            Code::AlreadyExists,
            "order already refunded for another amount",
            Reason::ReferenceReused,
        ),
        CreditError::NoMatchingDebit => refusal::status(
            Code::FailedPrecondition,
            "no debit of this order on this account",
            Reason::NoMatchingDebit,
        ),
        CreditError::MoreThanDebited => refusal::status(
            Code::FailedPrecondition,
            "more than the order's debit took",
            Reason::MoreThanDebited,
        ),
        // A refund never exceeds a debit, so it cannot pass the ceiling the debit came under.
        CreditError::AboveCeiling => {
            Status::failed_precondition("the balance would pass its ceiling")
        }
    }
}

/// Turns the message into a [`DebitOrder`], or the first reason it is not one.
fn parse(request: &DebitRequest) -> Result<DebitOrder, Status> {
    Ok(DebitOrder {
        // A malformed id names no account: the same answer as an account that is not there.
        account: AccountId::parse(&request.account_id)
            .ok_or_else(|| Status::not_found("no such account"))?,
        amount: Amount::parse(request.amount_minor)
            .ok_or_else(|| Status::invalid_argument("amount_minor must be positive"))?,
        currency: Currency::parse(&request.currency)
            .map_err(|_| Status::invalid_argument("currency is not a supported ISO 4217 code"))?,
        reference: Reference::parse(&request.reference).ok_or_else(|| {
            Status::invalid_argument("reference must be 1 to 64 printable ASCII characters")
        })?,
    })
}

fn status_of(err: DebitError) -> Status {
    match err {
        DebitError::NoSuchAccount => Status::not_found("no such account"),
        DebitError::CurrencyMismatch => refusal::status(
            Code::FailedPrecondition,
            "currency does not match the account",
            Reason::CurrencyMismatch,
        ),
        DebitError::InsufficientFunds => refusal::status(
            Code::FailedPrecondition,
            "insufficient funds",
            Reason::InsufficientFunds,
        ),
        DebitError::Frozen => refusal::status(
            Code::FailedPrecondition,
            "account frozen",
            Reason::AccountFrozen,
        ),
        DebitError::ReferenceReused => refusal::status(
            Code::AlreadyExists,
            "reference already used for another debit",
            Reason::ReferenceReused,
        ),
        DebitError::ReferenceVoided => refusal::status(
            Code::FailedPrecondition,
            "reference settled as never debited",
            Reason::ReferenceVoided,
        ),
        DebitError::Storage(err) => {
            tracing::error!(error = %err, "storage failed");
            Status::internal("internal error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> DebitRequest {
        DebitRequest {
            account_id: "0b3e8f5c-7a21-4d6e-9f10-2c4b6d8e0a1f".to_owned(),
            amount_minor: 1250,
            currency: "EUR".to_owned(),
            reference: "order-1".to_owned(),
        }
    }

    #[test]
    fn a_well_formed_debit_parses() {
        assert!(parse(&request()).is_ok());
    }

    #[test]
    fn a_zero_or_negative_amount_is_an_invalid_argument() {
        for amount_minor in [0, -100] {
            let code = parse(&DebitRequest {
                amount_minor,
                ..request()
            })
            .map_err(|s| s.code());
            assert_eq!(code.err(), Some(tonic::Code::InvalidArgument));
        }
    }

    #[test]
    fn a_debit_under_a_voided_reference_is_a_typed_refusal() {
        let status = status_of(DebitError::ReferenceVoided);
        assert_eq!(refusal::reason(&status), Some(Reason::ReferenceVoided));
    }

    #[test]
    fn a_settle_names_an_order_id() {
        let settle = |reference: &str| SettleRequest {
            account_id: request().account_id,
            reference: reference.to_owned(),
        };
        assert!(parse_settle(&settle("0b3e8f5c-7a21-4d6e-9f10-2c4b6d8e0a1f")).is_ok());
        for not_an_order in ["order-1", "refund:0b3e8f5c-7a21-4d6e-9f10-2c4b6d8e0a1f", ""] {
            let code = parse_settle(&settle(not_an_order)).map_err(|s| s.code());
            assert_eq!(
                code.err(),
                Some(tonic::Code::InvalidArgument),
                "{not_an_order}"
            );
        }
    }

    #[test]
    fn a_malformed_account_id_is_not_found() {
        let bad = DebitRequest {
            account_id: "42".to_owned(),
            ..request()
        };
        assert_eq!(
            parse(&bad).map_err(|s| s.code()).err(),
            Some(tonic::Code::NotFound)
        );
    }
}
