//! The exchange policy, for any hop: a token for the next hop never carries a scope outside what
//! the subject token holds and [`hop_scopes`] lets the actor ask for, never names an audience the
//! policy does not let the actor reach, and is issued whenever a request stays inside both.
//!
//! The inputs are drawn from the real vocabulary (every workload as actor and as audience, every
//! scope of Baton's) and from junk (scope-like names that are no scope, subject tokens addressed
//! to someone else or promised to another actor), so both acceptance and each refusal happen.

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock};

use baton_platform::time::now_unix;
use baton_token::TokenError;
use proptest::prelude::*;
use proptest::sample::select;

use super::*;

const ISSUER: &str = "https://sts.test";
const ACTOR_CERTIFICATE: &str = "the-actors-certificate";
const WORKLOADS: [Workload; 5] = [
    Workload::Gateway,
    Workload::Sts,
    Workload::Users,
    Workload::Accounts,
    Workload::Orders,
];
/// Every scope of Baton's, and some names that are none.
const SCOPES: &[&str] = &[
    scope::USERS_READ,
    scope::USERS_WRITE,
    scope::USERS_ADMIN,
    scope::ACCOUNTS_READ,
    scope::ACCOUNTS_WRITE,
    scope::ACCOUNTS_ADMIN,
    scope::ORDERS_READ,
    scope::ORDERS_WRITE,
    scope::ORDERS_ADMIN,
    "orders:*",
    "admin",
    "USERS:READ",
];

static SIGNER: LazyLock<Signer> =
    LazyLock::new(|| Signer::generate().expect("an in-memory key generates"));

/// One hop exchange: who asks, for whom, with which subject token, for which scopes.
#[derive(Debug, Clone)]
struct Hop {
    actor: Workload,
    audience: Workload,
    /// The workload the subject token is addressed to.
    subject_audience: Workload,
    /// Who the subject token says may exchange it (`may_act`), if it says.
    may_act: Option<Workload>,
    subject_scopes: Vec<&'static str>,
    /// Empty: "every scope the policy and the subject token allow".
    requested: Vec<&'static str>,
}

/// Any hop; half of them between workloads the policy lets talk, so that acceptance is common.
fn hop() -> impl Strategy<Value = Hop> {
    let workload = || select(&WORKLOADS[..]);
    let scopes = |most| prop::collection::vec(select(SCOPES), 0..most);
    let talking: Vec<(Workload, Workload)> = WORKLOADS
        .iter()
        .flat_map(|actor| WORKLOADS.iter().map(move |audience| (*actor, *audience)))
        .filter(|(actor, audience)| !hop_scopes(*actor, *audience).is_empty())
        .collect();
    prop_oneof![(workload(), workload()), select(talking)]
        .prop_flat_map(move |(actor, audience)| {
            (
                Just(actor),
                Just(audience),
                prop_oneof![4 => Just(actor), 1 => workload()],
                prop_oneof![Just(None), Just(Some(actor)), workload().prop_map(Some)],
                scopes(7),
                scopes(4),
            )
        })
        .prop_map(
            |(actor, audience, subject_audience, may_act, subject_scopes, requested)| Hop {
                actor,
                audience,
                subject_audience,
                may_act,
                subject_scopes,
                requested,
            },
        )
}

/// Why a hop is refused, as the property tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Subject,
    Target,
    Scope,
}

impl Hop {
    /// What the exchange must answer: the new token's scopes, or the refusal. This is the rule
    /// written out from the policy's definition, not from the code that applies it.
    fn expected(&self) -> Result<BTreeSet<&'static str>, Refusal> {
        let for_the_actor = self.subject_audience == self.actor
            && self.may_act.is_none_or(|may_act| may_act == self.actor);
        if !for_the_actor {
            return Err(Refusal::Subject);
        }
        let policy = hop_scopes(self.actor, self.audience);
        if policy.is_empty() {
            return Err(Refusal::Target);
        }
        let available: BTreeSet<&str> = self
            .subject_scopes
            .iter()
            .copied()
            .filter(|scope| policy.contains(scope))
            .collect();
        let requested: BTreeSet<&str> = self.requested.iter().copied().collect();
        let granted = if requested.is_empty() {
            available
        } else if requested.is_subset(&available) {
            requested
        } else {
            return Err(Refusal::Scope);
        };
        if granted.is_empty() {
            return Err(Refusal::Scope);
        }
        Ok(granted)
    }

    /// The subject token: what the actor received from the hop before (the gateway, here).
    fn subject_token(&self, domain: &TrustDomain, now: i64) -> String {
        let claims = Claims {
            iss: ISSUER.to_owned(),
            sub: uuid::Uuid::new_v4().to_string(),
            aud: vec![domain.id_of(self.subject_audience)],
            exp: now + 300,
            iat: now,
            nbf: now,
            jti: uuid::Uuid::new_v4().to_string(),
            scope: self.subject_scopes.join(" "),
            roles: vec!["customer".to_owned()],
            preferred_username: "alice".to_owned(),
            act: Some(Act::new(domain.id_of(Workload::Gateway), None)),
            may_act: self
                .may_act
                .map(|workload| Act::new(domain.id_of(workload), None)),
            cnf: Some(Confirmation {
                x5t_s256: "the-gateways-certificate".to_owned(),
            }),
        };
        SIGNER.sign(&claims).expect("the subject token signs")
    }
}

/// The claims of `jwt`, verified as its audience `audience` verifies a token presented with the
/// actor's certificate.
async fn as_the_audience_sees_it(jwt: &str, audience: &str) -> Result<Claims, TokenError> {
    let config = VerifierConfig {
        issuer: ISSUER.to_owned(),
        audience: audience.to_owned(),
        trust_mode: TrustMode::Exchange,
    };
    let keys = Arc::new(JwksCache::fixed(&SIGNER.jwks()));
    let verifier = Verifier::new(keys, config, Controls::enforcing());
    let presented = baton_platform::CertThumbprint(ACTOR_CERTIFICATE.to_owned());
    verifier.verify_presented(jwt, Some(&presented)).await?;
    verifier.verified_claims(jwt).await
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_hop_token_stays_inside_the_subject_and_the_policy_and_is_issued_whenever_it_can(
        hop in hop(),
    ) {
        let domain = TrustDomain::default();
        let controls = Controls::enforcing();
        let now = now_unix();
        let ctx = HopContext {
            signer: &SIGNER,
            controls: &controls,
            trust_domain: &domain,
            issuer: ISSUER,
            internal_ttl_secs: 60,
            now,
        };
        let subject_token = hop.subject_token(&domain, now);
        let requested = hop.requested.join(" ");
        let request = HopRequest {
            actor: hop.actor,
            actor_certificate: ACTOR_CERTIFICATE.to_owned(),
            subject_token: &subject_token,
            audience: hop.audience,
            scope: &requested,
        };
        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        let answer = runtime.block_on(exchange_hop(&ctx, request));
        match (hop.expected(), answer) {
            (Ok(granted), Ok(token)) => {
                let audience = domain.id_of(hop.audience);
                let claims = runtime
                    .block_on(as_the_audience_sees_it(&token.jwt, &audience))
                    .map_err(|err| TestCaseError::fail(format!("the audience refuses it: {err}")))?;
                let scopes = claims.scopes();
                let policy = hop_scopes(hop.actor, hop.audience);
                prop_assert!(scopes.iter().all(|s| policy.contains(&s.as_str())));
                prop_assert!(scopes.iter().all(|s| hop.subject_scopes.contains(&s.as_str())));
                prop_assert_eq!(scopes.iter().map(String::as_str).collect::<BTreeSet<_>>(), granted);
                prop_assert_eq!(&token.scope, &claims.scope);
                prop_assert_eq!(claims.aud, vec![audience.clone()]);
                let chain = claims.act.as_ref().map(Act::chain).unwrap_or_default();
                prop_assert_eq!(chain, [domain.id_of(hop.actor), domain.id_of(Workload::Gateway)]);
                prop_assert_eq!(claims.may_act.map(|may_act| may_act.sub), Some(audience));
                prop_assert!(claims.exp <= now + 60 && token.expires_in <= 60);
            }
            (Err(refusal), Err(err)) => {
                let actual = match err {
                    HopError::InvalidSubject => Refusal::Subject,
                    HopError::InvalidTarget => Refusal::Target,
                    HopError::InvalidScope => Refusal::Scope,
                    HopError::Signing(err) => return Err(TestCaseError::fail(err.to_string())),
                };
                prop_assert_eq!(actual, refusal);
            }
            (Ok(granted), Err(err)) => {
                return Err(TestCaseError::fail(format!(
                    "refused ({err}) although {granted:?} was within bounds"
                )));
            }
            (Err(refusal), Ok(token)) => {
                return Err(TestCaseError::fail(format!(
                    "issued `{}` although it should be refused: {refusal:?}",
                    token.scope
                )));
            }
        }
    }

    /// Tokens are only ever for the platform's services, named exactly by their SPIFFE IDs.
    #[test]
    fn only_the_platforms_services_are_audiences(
        audience in prop::collection::vec(
            prop_oneof![
                select(&WORKLOADS[..]).prop_map(|w| TrustDomain::default().id_of(w)),
                select(&WORKLOADS[..]).prop_map(|w| format!("spiffe://evil.local/{w}")),
                select(&WORKLOADS[..]).prop_map(|w| format!("{}/", TrustDomain::default().id_of(w))),
                select(&WORKLOADS[..]).prop_map(|w| w.name().to_owned()),
                select(&["", "*", "spiffe://baton.local", "spiffe://baton.local/USERS"][..])
                    .prop_map(str::to_owned),
            ],
            0..4,
        ),
    ) {
        let domain = TrustDomain::default();
        let services: Vec<String> = Workload::SERVICES.iter().map(|w| domain.id_of(*w)).collect();
        let all_services = !audience.is_empty() && audience.iter().all(|aud| services.contains(aud));
        match audience_services(&domain, &audience) {
            Some(targets) => {
                prop_assert!(all_services, "{audience:?} became {targets:?}");
                let ids: Vec<String> = targets.iter().map(|w| domain.id_of(*w)).collect();
                prop_assert_eq!(ids, audience);
            }
            None => prop_assert!(!all_services, "{audience:?} was refused"),
        }
    }
}
