//! The registry of named security controls, and the lab switches that turn them off.
//!
//! Every control Baton enforces has a name here. Code that enforces a control asks
//! [`Controls::is_on`] first; that is the only way to skip a check, so a reader can find every
//! place a control lives with one search for its variant.
//!
//! Lab mode exists so people can watch an attack succeed: a workshop attendee switches
//! `token.audience` off and replays a token meant for another service; the attack suite runs every
//! attack once with its controls on (it must be blocked) and once with them off (it must succeed,
//! which proves the attack test can fail). Lab mode is
//! - explicit: `BATON_LAB_MODE=on` and `BATON_LAB_DISABLE=name,name`;
//! - loud: a warning at start-up and a `Baton-Lab-Mode` header on every answer (stamped by
//!   `baton_api::lab`);
//! - refused outright when `BATON_ENV=production`, whatever else is set.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::config::{ConfigError, Source};
use crate::mode::RunMode;

/// A named security control. The name is what lab mode and the attack suite use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Control {
    /// The gateway accepts only opaque access tokens the STS knows, and never passes a
    /// client-supplied JWT through as if the STS had minted it.
    GatewayPhantomToken,
    /// The gateway refuses a request whose token lacks the scope its route declares.
    GatewayScope,
    /// The STS refuses to exchange an opaque access token past its expiry.
    StsTokenExpiry,
    /// A service verifies the internal token's signature against the STS's published keys.
    TokenSignature,
    /// A service refuses an internal token that is not addressed to it.
    TokenAudience,
    /// A service refuses an internal token past its `exp` (or before its `nbf`).
    TokenExpiry,
    /// A service refuses an internal token from another issuer.
    TokenIssuer,
    /// A component accepts a connection's requests only from the workloads its allow-list names
    /// for that route (by the SPIFFE ID of the client certificate).
    MtlsPeerId,
    /// A service refuses a request whose token lacks the scope the operation needs (the second
    /// check of what the gateway's route table already checked).
    ServiceScope,
    /// A service answers only the owner of an object (or an admin); anyone else gets 404.
    ServiceBola,
    /// The gateway refuses a request whose user holds none of the roles its route declares.
    GatewayRole,
    /// A service refuses a function the caller's roles do not allow (admin and support functions),
    /// whatever the gateway already decided.
    ServiceRole,
    /// A service binds request bodies to explicit types that name only what a caller may set, and
    /// refuses anything else (mass assignment).
    ServiceMassAssignment,
    /// A service answers each audience with its own view of an object: support sees masked
    /// contact data, customers see only their own.
    ServiceFieldMasking,
    /// A service refuses a page size past its hard maximum instead of reading everything.
    ServicePageLimit,
    /// Exchange mode: a service refuses a token presented over a connection whose client
    /// certificate is not the one the token is bound to (`cnf`, RFC 8705).
    TokenBinding,
    /// Exchange mode: the STS refuses an exchange the exchange policy does not allow (an actor
    /// asking for an audience it may not reach, scopes wider than the subject token's, or a
    /// subject token not addressed to the actor).
    StsExchangePolicy,
    /// The STS demands PKCE with `S256` on every authorization request, and refuses `plain` or a
    /// missing challenge (RFC 7636, RFC 9700 §2.1.1).
    StsPkce,
    /// The STS rotates refresh tokens on every use, and a rotated one presented again revokes its
    /// whole family (RFC 9700 §4.14.2).
    StsRefreshRotation,
    /// The STS throttles failed logins per account and source, with a bounded, growing lockout.
    StsLoginThrottle,
    /// The STS counts failed logins per account across every source too (a soft lock, bounded,
    /// with a security event), so many addresses cannot share out the guesses (NIST SP 800-63B
    /// §5.2.2).
    StsAccountBudget,
    /// The STS ends a login after a few wrong second-factor codes: one login handle cannot be
    /// used to guess codes without end.
    StsCodeAttempts,
    /// The STS demands the TOTP second factor from users enrolled in it.
    StsTotp,
    /// The STS accepts a TOTP code at most once (RFC 6238 §5.2).
    StsTotpReplay,
    /// The STS's revocation endpoint really revokes (RFC 7009).
    StsRevocation,
    /// The gateway limits request rates (GCRA) per source (an IPv4 address or an IPv6 /64) and
    /// user, with a far stricter class for the login pages, and per client under a per-source
    /// ceiling at the token, introspection and revocation endpoints.
    GatewayRateLimit,
    /// The gateway refuses JSON bodies nested too deep or with too many keys, too long strings
    /// or too long arrays, before anything parses them into types.
    GatewayJsonLimits,
    /// The gateway puts its security headers (HSTS, no-sniff, frame and content policies,
    /// referrer and cache policies) on every answer.
    GatewaySecurityHeaders,
    /// The gateway grants cross-origin access only to the origins on its allow-list.
    GatewayCors,
    /// Orders accepts a retried order (same `Idempotency-Key`, same body) as the first one again,
    /// and never charges for it twice.
    OrdersIdempotency,
    /// Orders limits how many orders one buyer may place per window, and how many items one order
    /// may hold (the bot's business flow, API6).
    OrdersOrderLimits,
    /// Orders checks a webhook URL's scheme, host and every resolved address (no private,
    /// loopback, link-local or metadata addresses), pins the connection to them and does not
    /// follow redirects (SSRF, API7).
    OrdersSsrfGuard,
    /// Orders bounds the supplier's answers in size and time, refuses redirects, parses them with
    /// a strict schema and accepts a price only within a sane band of the catalogue's (API10).
    OrdersSupplierValidation,
    /// Accounts refunds an order only against a debit of that order on the same account, at most
    /// its amount, once: a refund puts back what was paid, and never mints money.
    AccountsRefundMatchesDebit,
    /// Every listener caps its connections (in all and per source), and closes one that is too
    /// slow to send a request's head or sits idle (slowloris, API4).
    TransportConnectionLimits,
    /// A service fetches the STS's keys again for an unknown `kid` at most once per interval,
    /// so tokens with made-up key ids cannot turn every request into a call to the STS.
    TokenJwksRefreshLimit,
    /// In exchange mode, accounts moves money only when the token's delegation chain passes
    /// through orders (`money-moves-only-for-orders`): a chain that never did is refused.
    AccountsDelegation,
    /// The STS accepts the gateway's own client only on the gateway's direct calls, from its
    /// certificate: through the public relay its secret is not even compared, so it cannot be
    /// guessed, or used if it leaked, from outside.
    StsGatewayClientBinding,
    /// The STS tells a client about a token only if the client needs to know: the gateway about
    /// any access token, every client about its own tokens, and nobody about another client's
    /// refresh token (RFC 7662 §4). Anything else is `{"active":false}`.
    StsIntrospectionLimits,
    /// The logins waiting for a password hash are bounded: past the bound a login is refused at
    /// once with a 503 and `Retry-After`, so a flood of password submissions cannot queue
    /// without end behind the few hashes that run at a time (API4).
    StsLoginQueueLimit,
    /// The STS keeps TOTP seeds and signing keys sealed under a key that is not in its database,
    /// so a copy of the database yields neither a second factor nor a signing key.
    StsSealingAtRest,
}

impl Control {
    /// Every control, in a stable order.
    pub const ALL: &'static [Control] = &[
        Control::GatewayPhantomToken,
        Control::GatewayScope,
        Control::StsTokenExpiry,
        Control::TokenSignature,
        Control::TokenAudience,
        Control::TokenExpiry,
        Control::TokenIssuer,
        Control::MtlsPeerId,
        Control::ServiceScope,
        Control::ServiceBola,
        Control::GatewayRole,
        Control::ServiceRole,
        Control::ServiceMassAssignment,
        Control::ServiceFieldMasking,
        Control::ServicePageLimit,
        Control::TokenBinding,
        Control::StsExchangePolicy,
        Control::StsPkce,
        Control::StsRefreshRotation,
        Control::StsLoginThrottle,
        Control::StsAccountBudget,
        Control::StsCodeAttempts,
        Control::StsTotp,
        Control::StsTotpReplay,
        Control::StsRevocation,
        Control::GatewayRateLimit,
        Control::GatewayJsonLimits,
        Control::GatewaySecurityHeaders,
        Control::GatewayCors,
        Control::OrdersIdempotency,
        Control::OrdersOrderLimits,
        Control::OrdersSsrfGuard,
        Control::OrdersSupplierValidation,
        Control::AccountsRefundMatchesDebit,
        Control::TransportConnectionLimits,
        Control::TokenJwksRefreshLimit,
        Control::AccountsDelegation,
        Control::StsGatewayClientBinding,
        Control::StsIntrospectionLimits,
        Control::StsLoginQueueLimit,
        Control::StsSealingAtRest,
    ];

    /// The control's name, as lab mode and reports spell it.
    pub fn name(self) -> &'static str {
        match self {
            Control::GatewayPhantomToken => "gateway.phantom_token",
            Control::GatewayScope => "gateway.scope",
            Control::StsTokenExpiry => "sts.token_expiry",
            Control::TokenSignature => "token.signature",
            Control::TokenAudience => "token.audience",
            Control::TokenExpiry => "token.expiry",
            Control::TokenIssuer => "token.issuer",
            Control::MtlsPeerId => "mtls.peer_id",
            Control::ServiceScope => "service.scope",
            Control::ServiceBola => "service.bola",
            Control::GatewayRole => "gateway.role",
            Control::ServiceRole => "service.role",
            Control::ServiceMassAssignment => "service.mass_assignment",
            Control::ServiceFieldMasking => "service.field_masking",
            Control::ServicePageLimit => "service.page_limit",
            Control::TokenBinding => "token.binding",
            Control::StsExchangePolicy => "sts.exchange_policy",
            Control::StsPkce => "sts.pkce",
            Control::StsRefreshRotation => "sts.refresh_rotation",
            Control::StsLoginThrottle => "sts.login_throttle",
            Control::StsAccountBudget => "sts.account_budget",
            Control::StsCodeAttempts => "sts.code_attempts",
            Control::StsTotp => "sts.totp",
            Control::StsTotpReplay => "sts.totp_replay",
            Control::StsRevocation => "sts.revocation",
            Control::GatewayRateLimit => "gateway.rate_limit",
            Control::GatewayJsonLimits => "gateway.json_limits",
            Control::GatewaySecurityHeaders => "gateway.security_headers",
            Control::GatewayCors => "gateway.cors",
            Control::OrdersIdempotency => "orders.idempotency",
            Control::OrdersOrderLimits => "orders.order_limits",
            Control::OrdersSsrfGuard => "orders.ssrf_guard",
            Control::OrdersSupplierValidation => "orders.supplier_validation",
            Control::AccountsRefundMatchesDebit => "accounts.refund_matches_debit",
            Control::TransportConnectionLimits => "transport.connection_limits",
            Control::TokenJwksRefreshLimit => "token.jwks_refresh_limit",
            Control::AccountsDelegation => "accounts.delegation",
            Control::StsGatewayClientBinding => "sts.gateway_client_binding",
            Control::StsIntrospectionLimits => "sts.introspection_limits",
            Control::StsLoginQueueLimit => "sts.login_queue_limit",
            Control::StsSealingAtRest => "sts.sealing_at_rest",
        }
    }
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Control {
    type Err = String;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Control::ALL
            .iter()
            .copied()
            .find(|control| control.name() == raw)
            .ok_or_else(|| format!("unknown control `{raw}`"))
    }
}

/// Which controls are on. Built only by [`Controls::enforcing`] (everything on) or
/// [`Controls::from_source`] (which checks the lab-mode rules).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Controls {
    /// The controls lab mode switched off; empty outside lab mode.
    disabled: BTreeSet<Control>,
    lab_mode: bool,
}

impl Controls {
    pub const LAB_MODE_KEY: &'static str = "BATON_LAB_MODE";
    pub const LAB_DISABLE_KEY: &'static str = "BATON_LAB_DISABLE";
    /// The header that announces lab mode on every answer.
    pub const HEADER: &'static str = "baton-lab-mode";

    /// Every control on, no lab mode: the only state production ever sees.
    pub fn enforcing() -> Self {
        Self::default()
    }

    /// Lab mode with `disabled` switched off. Refused in production.
    pub fn lab(
        run_mode: RunMode,
        disabled: impl IntoIterator<Item = Control>,
    ) -> Result<Self, ConfigError> {
        if run_mode.is_production() {
            return Err(ConfigError::invalid(
                Self::LAB_MODE_KEY,
                "on",
                "lab mode is refused when BATON_ENV=production",
            ));
        }
        Ok(Self {
            disabled: disabled.into_iter().collect(),
            lab_mode: true,
        })
    }

    /// Reads `BATON_LAB_MODE` and `BATON_LAB_DISABLE`.
    pub fn from_source(source: &dyn Source, run_mode: RunMode) -> Result<Self, ConfigError> {
        let lab_mode = match source.get(Self::LAB_MODE_KEY).as_deref() {
            None | Some("off") | Some("false") | Some("0") => false,
            Some("on") | Some("true") | Some("1") => true,
            Some(other) => {
                return Err(ConfigError::invalid(
                    Self::LAB_MODE_KEY,
                    other,
                    "expected `on` or `off`",
                ));
            }
        };
        let disable = source.get(Self::LAB_DISABLE_KEY).unwrap_or_default();
        let disabled = disable
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| {
                name.parse().map_err(|reason: String| {
                    ConfigError::invalid(Self::LAB_DISABLE_KEY, name, reason)
                })
            })
            .collect::<Result<BTreeSet<Control>, _>>()?;
        match (lab_mode, disabled.is_empty()) {
            (false, true) => Ok(Self::enforcing()),
            (false, false) => Err(ConfigError::invalid(
                Self::LAB_DISABLE_KEY,
                &disable,
                "controls can only be switched off with BATON_LAB_MODE=on",
            )),
            (true, _) => Self::lab(run_mode, disabled),
        }
    }

    /// Whether `control` is enforced. Outside lab mode, always true.
    pub fn is_on(&self, control: Control) -> bool {
        !self.disabled.contains(&control)
    }

    pub fn is_lab_mode(&self) -> bool {
        self.lab_mode
    }

    /// The value of the `Baton-Lab-Mode` header: `off=a,b` (or `off=none`).
    pub fn header_value(&self) -> String {
        if self.disabled.is_empty() {
            "off=none".to_owned()
        } else {
            let names: Vec<_> = self.disabled.iter().map(|control| control.name()).collect();
            format!("off={}", names.join(","))
        }
    }

    /// Logs the lab-mode banner, if lab mode is on. Call once at start-up.
    pub fn announce(&self, component: &str) {
        if self.lab_mode {
            tracing::warn!(
                security_event = "lab_mode_on",
                component,
                disabled = %self.header_value(),
                "LAB MODE: security controls may be switched off; never expose this process"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Map;

    #[test]
    fn every_control_is_on_by_default() {
        let controls = Controls::from_source(&Map::new(), RunMode::Development);
        assert_eq!(controls.ok(), Some(Controls::enforcing()));
        assert!(
            Control::ALL
                .iter()
                .all(|control| Controls::enforcing().is_on(*control))
        );
    }

    #[test]
    fn lab_mode_is_refused_in_production() {
        let source = Map::new().with("BATON_LAB_MODE", "on");
        assert!(Controls::from_source(&source, RunMode::Production).is_err());
    }

    #[test]
    fn switching_a_control_off_needs_lab_mode() {
        let source = Map::new().with("BATON_LAB_DISABLE", "token.audience");
        assert!(Controls::from_source(&source, RunMode::Development).is_err());
    }

    #[test]
    fn lab_mode_switches_off_exactly_the_named_controls() {
        let source = Map::new()
            .with("BATON_LAB_MODE", "on")
            .with("BATON_LAB_DISABLE", "token.audience, service.bola");
        let controls = Controls::from_source(&source, RunMode::Development);
        assert!(
            matches!(&controls, Ok(c) if !c.is_on(Control::TokenAudience)
            && !c.is_on(Control::ServiceBola)
            && c.is_on(Control::TokenSignature))
        );
    }

    #[test]
    fn every_control_name_round_trips() {
        for control in Control::ALL {
            assert_eq!(control.name().parse::<Control>(), Ok(*control));
        }
    }
}
