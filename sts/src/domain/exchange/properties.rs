//! The first hop, for any subject: the internal token the gateway gets for a client's opaque token
//! names exactly the audience it was asked for and carries the subject's scopes and no other; in
//! exchange mode only those its one audience accepts (`hop_scopes(Gateway, audience)`). It is
//! refused when the opaque token has expired or its user is gone.
//!
//! Which audiences may be asked for at all is [`delegation::audience_services`]'s rule, with a
//! property of its own; here every audience is one of the platform's services.
//!
//! Every case needs rows in the STS's database, and one SQLite database serves them all: the cases
//! run through a [`TestRunner`] of their own rather than `proptest!`, which would open one per case.
//!
//! [`delegation::audience_services`]: crate::domain::delegation::audience_services

use std::collections::BTreeSet;
use std::sync::Arc;

use baton_platform::time::now_unix;
use baton_platform::{CertThumbprint, TrustDomain, TrustMode, Workload};
use baton_token::claims::scope;
use baton_token::{Claims, JwksCache, TokenError, Verifier, VerifierConfig};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use super::*;
use crate::domain::delegation::hop_scopes;
use crate::storage::{Credentials, StoredToken, TokenOrigin};

const ISSUER: &str = "https://sts.test";
const GATEWAY_CERTIFICATE: &str = "the-gateways-certificate";
const INTERNAL_TTL_SECS: i64 = 300;
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

/// Whom the opaque token speaks for.
#[derive(Debug, Clone)]
enum Holder {
    /// A user, who may since have been deleted.
    User {
        exists: bool,
        roles: Vec<&'static str>,
    },
    /// A client, for itself (client credentials).
    Client,
}

/// Which trust mode the exchange is made in, and for whom.
#[derive(Debug, Clone)]
enum Mode {
    /// One token for the whole chain: every service named.
    E2e(Vec<Workload>),
    /// A token for one service, bound to the gateway.
    Exchange(Workload),
}

#[derive(Debug, Clone)]
struct Case {
    holder: Holder,
    stored_scopes: Vec<&'static str>,
    /// Seconds until the opaque token expires; zero or less: it has.
    expires_in: i64,
    mode: Mode,
}

fn case() -> impl Strategy<Value = Case> {
    let holder = prop_oneof![
        4 => (
            prop::bool::weighted(0.9),
            subsequence(&["customer", "support", "admin"][..], 0..=2),
        )
            .prop_map(|(exists, roles)| Holder::User { exists, roles }),
        1 => Just(Holder::Client),
    ];
    let mode = prop_oneof![
        subsequence(&Workload::SERVICES[..], 1..=3).prop_map(Mode::E2e),
        select(&Workload::SERVICES[..]).prop_map(Mode::Exchange),
    ];
    (
        holder,
        prop::collection::vec(select(SCOPES), 0..7),
        prop_oneof![1 => -600i64..=0, 9 => 1i64..3600],
        mode,
    )
        .prop_map(|(holder, stored_scopes, expires_in, mode)| Case {
            holder,
            stored_scopes,
            expires_in,
            mode,
        })
}

/// What a test database and a signer are needed for.
struct Sts {
    pool: AnyPool,
    signer: Signer,
}

impl Sts {
    /// Plants the case's opaque token (and its user), exchanges it, and checks the answer.
    async fn check(&self, case: Case) -> Result<(), TestCaseError> {
        let now = now_unix();
        let (subject, roles) = self.plant(&case, now).await?;
        let domain = TrustDomain::default();
        let controls = Controls::enforcing();
        let ctx = ExchangeContext {
            pool: &self.pool,
            signer: &self.signer,
            controls: &controls,
            issuer: ISSUER,
            internal_ttl_secs: INTERNAL_TTL_SECS,
            now,
        };
        let (audience, first_hop) = match &case.mode {
            Mode::E2e(services) => (services.iter().map(|w| domain.id_of(*w)).collect(), None),
            Mode::Exchange(service) => (
                vec![domain.id_of(*service)],
                Some(FirstHop {
                    actor: domain.id_of(Workload::Gateway),
                    certificate: GATEWAY_CERTIFICATE.to_owned(),
                    audience_scopes: hop_scopes(Workload::Gateway, *service),
                }),
            ),
        };
        let opaque_token = subject.opaque_token.clone();
        let answer = exchange(&ctx, &opaque_token, audience.clone(), first_hop).await;
        let active =
            case.expires_in > 0 && !matches!(case.holder, Holder::User { exists: false, .. });
        let exchanged = match (active, answer) {
            (false, Err(ExchangeError::InactiveSubject)) => return Ok(()),
            (true, Ok(exchanged)) => exchanged,
            (active, answer) => {
                return Err(TestCaseError::fail(format!(
                    "active: {active}, answered {:?}",
                    answer.map(|exchanged| exchanged.scope)
                )));
            }
        };
        let claims = self
            .as_the_audience_sees_it(&exchanged.jwt, &audience[0], &case.mode)
            .await
            .map_err(|err| TestCaseError::fail(format!("the audience refuses it: {err}")))?;
        let stored: BTreeSet<&str> = case.stored_scopes.iter().copied().collect();
        let expected: BTreeSet<&str> = match &case.mode {
            Mode::E2e(_) => stored.clone(),
            Mode::Exchange(service) => {
                let policy = hop_scopes(Workload::Gateway, *service);
                stored
                    .iter()
                    .copied()
                    .filter(|s| policy.contains(s))
                    .collect()
            }
        };
        let scopes = claims.scopes();
        prop_assert!(scopes.iter().all(|s| stored.contains(s.as_str())));
        prop_assert_eq!(
            scopes.iter().map(String::as_str).collect::<BTreeSet<_>>(),
            expected
        );
        prop_assert_eq!(&exchanged.scope, &claims.scope);
        prop_assert_eq!(&claims.aud, &audience);
        prop_assert_eq!(&claims.sub, &subject.sub);
        prop_assert_eq!(&claims.roles, &roles);
        prop_assert!(claims.exp <= now + INTERNAL_TTL_SECS && claims.exp <= now + case.expires_in);
        let chain = claims.act.as_ref().map(Act::chain).unwrap_or_default();
        let may_act = claims.may_act.map(|may_act| may_act.sub);
        let bound_to = claims.cnf.map(|cnf| cnf.x5t_s256);
        match case.mode {
            Mode::E2e(_) => {
                prop_assert!(chain.is_empty() && may_act.is_none() && bound_to.is_none())
            }
            Mode::Exchange(_) => {
                prop_assert_eq!(chain, [domain.id_of(Workload::Gateway)]);
                prop_assert_eq!(may_act.as_ref(), audience.first());
                prop_assert_eq!(bound_to.as_deref(), Some(GATEWAY_CERTIFICATE));
            }
        }
        Ok(())
    }

    /// Stores the case's opaque token, and its user unless the user is gone; answers who the
    /// token must say it is for, and with which roles.
    async fn plant(&self, case: &Case, now: i64) -> Result<(Planted, Vec<String>), sqlx::Error> {
        let opaque_token = format!("opaque-{}", uuid::Uuid::new_v4());
        let (stored_for, planted, origin, roles) = match &case.holder {
            Holder::Client => {
                let client_id = format!("client-{}", uuid::Uuid::new_v4());
                let origin = TokenOrigin {
                    client_id: Some(client_id.clone()),
                    grant_id: None,
                    for_client: true,
                };
                let sub = client_subject(&client_id);
                (client_id, sub, origin, Vec::new())
            }
            Holder::User { exists, roles } => {
                let user_id = uuid::Uuid::new_v4().to_string();
                let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
                if *exists {
                    let credentials = Credentials {
                        user_id: user_id.clone(),
                        username: format!("user-{user_id}"),
                        password_hash: "not used here".to_owned(),
                        totp_secret: None,
                        roles: roles.clone(),
                    };
                    storage::insert_credentials_if_absent(&self.pool, &credentials, now).await?;
                }
                (user_id.clone(), user_id, TokenOrigin::default(), roles)
            }
        };
        let stored = StoredToken {
            user_id: stored_for,
            scope: case.stored_scopes.join(" "),
            expires_at: now + case.expires_in,
        };
        let hash = opaque::hash(&opaque_token);
        let mut conn = self.pool.acquire().await?;
        storage::insert_issued_access_token(&mut conn, &hash, &stored, &origin, now).await?;
        Ok((
            Planted {
                opaque_token,
                sub: planted,
            },
            roles,
        ))
    }

    /// The claims of `jwt` as `audience` verifies them: in exchange mode presented by the gateway
    /// with the certificate it is bound to.
    async fn as_the_audience_sees_it(
        &self,
        jwt: &str,
        audience: &str,
        mode: &Mode,
    ) -> Result<Claims, TokenError> {
        let trust_mode = match mode {
            Mode::E2e(_) => TrustMode::E2e,
            Mode::Exchange(_) => TrustMode::Exchange,
        };
        let config = VerifierConfig {
            issuer: ISSUER.to_owned(),
            audience: audience.to_owned(),
            trust_mode,
        };
        let keys = Arc::new(JwksCache::fixed(&self.signer.jwks()));
        let verifier = Verifier::new(keys, config, Controls::enforcing());
        let presented = CertThumbprint(GATEWAY_CERTIFICATE.to_owned());
        verifier.verify_presented(jwt, Some(&presented)).await?;
        verifier.verified_claims(jwt).await
    }
}

/// The opaque token planted for a case, and the subject its internal token must name.
struct Planted {
    opaque_token: String,
    sub: String,
}

#[test]
fn a_first_hop_token_names_its_audience_and_carries_only_the_subjects_scopes_the_policy_allows() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sts.db").display());
    let sts = Sts {
        pool: runtime
            .block_on(baton_platform::db::connect(&url, storage::MIGRATIONS))
            .unwrap(),
        signer: Signer::generate().unwrap(),
    };
    let mut runner = TestRunner::new(Config::with_cases(128));
    if let Err(failure) = runner.run(&case(), |case| runtime.block_on(sts.check(case))) {
        panic!("{failure}");
    }
}
