//! Explicit typing (RFC 8725 §3.11): a user's token and a workload's own token are told apart by
//! their `typ`, and each verifier takes one kind only.

use super::*;
use crate::claims::{Confirmation, USER_TOKEN_TYPE, WORKLOAD_TOKEN_TYPE};
use crate::workload::{WorkloadClaims, WorkloadPrincipal};

const ORDERS: &str = "spiffe://baton.local/orders";

fn workload_claims(bound_to: &str) -> WorkloadClaims {
    let now = baton_platform::time::now_unix();
    WorkloadClaims {
        iss: ISSUER.to_owned(),
        sub: ORDERS.to_owned(),
        aud: vec![AUDIENCE.to_owned()],
        exp: now + 300,
        iat: now,
        nbf: now,
        jti: "jti-w".to_owned(),
        scope: "accounts:settle".to_owned(),
        cnf: Confirmation {
            x5t_s256: bound_to.to_owned(),
        },
    }
}

fn sign_as<T: serde::Serialize>(fixture: &Fixture, typ: &str, claims: &T) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(KID.to_owned());
    header.typ = Some(typ.to_owned());
    jsonwebtoken::encode(&header, claims, &fixture.key).expect("signing works")
}

fn verify_workload(
    verifier: &Verifier,
    token: &str,
    presented: Option<&CertThumbprint>,
) -> Result<WorkloadPrincipal, TokenError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(verifier.verify_workload_presented(token, presented))
}

#[test]
fn a_workload_token_verifies_only_over_the_certificate_it_is_bound_to() {
    let fixture = fixture();
    let verifier = verifier(&fixture, Controls::enforcing());
    let token = sign_as(
        &fixture,
        WORKLOAD_TOKEN_TYPE,
        &workload_claims("orders-cert"),
    );
    let ours = CertThumbprint("orders-cert".to_owned());
    let principal = verify_workload(&verifier, &token, Some(&ours));
    assert!(
        matches!(&principal, Ok(p) if p.workload_id() == ORDERS && p.has_scope("accounts:settle"))
    );
    let theirs = CertThumbprint("users-cert".to_owned());
    for presented in [Some(&theirs), None] {
        assert_eq!(
            verify_workload(&verifier, &token, presented).err(),
            Some(TokenError::Unbound)
        );
    }
}

#[test]
fn a_workload_token_is_never_a_users_and_a_users_never_a_workloads() {
    let fixture = fixture();
    // E2E mode, where a user's token need not be bound: the type alone must keep them apart.
    let verifier = verifier(&fixture, Controls::enforcing());
    let ours = CertThumbprint("orders-cert".to_owned());
    let workload = sign_as(
        &fixture,
        WORKLOAD_TOKEN_TYPE,
        &workload_claims("orders-cert"),
    );
    assert!(matches!(
        verify_presented(&verifier, &workload, Some(&ours)),
        Err(TokenError::Rejected(_))
    ));
    let user = sign(&fixture, &claims());
    assert!(matches!(
        verify_workload(&verifier, &user, Some(&ours)),
        Err(TokenError::Rejected(_))
    ));
    // Workload claims under a user's type do not parse as a user's token either.
    let mislabelled = sign_as(&fixture, USER_TOKEN_TYPE, &workload_claims("orders-cert"));
    assert!(verify_presented(&verifier, &mislabelled, Some(&ours)).is_err());
    assert!(verify_workload(&verifier, &mislabelled, Some(&ours)).is_err());
}

#[test]
fn a_token_without_a_type_is_refused() {
    let fixture = fixture();
    let verifier = verifier(&fixture, Controls::enforcing());
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(KID.to_owned());
    header.typ = None;
    let token = jsonwebtoken::encode(&header, &claims(), &fixture.key).expect("signing works");
    assert!(matches!(
        verify(&verifier, &token),
        Err(TokenError::Rejected(_))
    ));
}
