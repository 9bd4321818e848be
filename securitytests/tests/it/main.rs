//! Every attack in the catalogue, proven in each trust mode it applies to: blocked with its
//! controls on, blocked with any one of several controls on, and successful only with all of them
//! off. The tests are named by mode (`e2e_mode::…`, `exchange_mode::…`), so a filter can run one.

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "a failing test should stop loudly, and helpers here are test code too"
)]

mod risk_map;

use baton_platform::TrustMode;
use baton_securitytests::{Attack, catalogue, prove};

async fn assert_proven(name: &str, mode: TrustMode) {
    let attack: Attack = catalogue()
        .into_iter()
        .find(|attack| attack.name == name)
        .unwrap_or_else(|| panic!("no attack named {name:?}"));
    let proof = prove(&attack, mode).await.expect("the platform runs");
    assert!(proof.holds(), "{proof:#?}");
}

macro_rules! attack_tests {
    (
        in_both_modes { $($both:ident => $both_name:literal,)* }
        in_exchange_mode_only { $($only:ident => $only_name:literal,)* }
    ) => {
        mod e2e_mode {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $both() {
                    assert_proven($both_name, TrustMode::E2e).await;
                }
            )*
        }

        mod exchange_mode {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $both() {
                    assert_proven($both_name, TrustMode::Exchange).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $only() {
                    assert_proven($only_name, TrustMode::Exchange).await;
                }
            )*
        }

        #[test]
        fn every_attack_is_tested_in_each_of_its_modes_and_only_there() {
            let both = [$($both_name),*];
            let exchange_only = [$($only_name),*];
            for attack in catalogue() {
                let in_e2e = both.contains(&attack.name);
                let in_exchange = in_e2e || exchange_only.contains(&attack.name);
                assert_eq!(
                    (attack.modes.e2e, attack.modes.exchange),
                    (in_e2e, in_exchange),
                    "tested modes (e2e, exchange) differ from the catalogue's for {:?}",
                    attack.name
                );
            }
        }
    };
}

attack_tests! {
    in_both_modes {
        bola_reading_another_users_account => "read another user's account by id",
        bola_reading_another_users_order => "read another user's order by id",
        bola_paying_from_another_users_account => "pay for an order from another user's account",
        self_signed_jwt_through_the_gateway => "self-signed JWT sent through the gateway",
        self_signed_jwt_straight_to_a_service => "self-signed JWT sent straight to a service",
        token_for_another_audience => "token for another audience replayed at a service",
        expired_internal_token => "expired internal token replayed at a service",
        token_from_another_issuer => "token from another issuer",
        expired_access_token_at_the_gateway => "expired access token replayed at the gateway",
        read_only_token_placing_an_order => "read-only token places an order",
        gateway_bypass_by_another_workload => "valid token presented to a service by a workload not allowed to call it",
        expired_certificate_on_an_open_connection => "a workload's certificate used past its expiry on a connection opened before",
        bola_probing_order_ids => "tell another user's order from a missing one by its answer",
        bfla_customer_freezes_an_account => "customer freezes another user's account",
        bfla_customer_deposits => "customer deposits money into their own account",
        bfla_customer_refunds => "customer refunds their own paid order",
        bfla_customer_lists_users => "customer lists every user",
        bfla_support_refunds => "support refunds a customer's order",
        mass_assignment_on_account_opening => "mass-assign balance, owner and status when opening an account",
        mass_assignment_on_profile_update => "mass-assign email and role when updating a profile",
        mass_assignment_on_order_placement => "mass-assign status, buyer and total when placing an order",
        excessive_exposure_to_support => "support reads a customer's unmasked email and phone",
        responses_scanned_for_secrets => "responses scanned for secrets and internal fields",
        page_size_of_a_million => "page size of a million",
        refresh_token_used_twice => "refresh token used twice",
        revoked_token_used_after_the_cache_bound => "revoked token used after the documented bound",
        pkce_downgraded_to_plain => "PKCE downgraded to plain",
        redirect_uri_differing_by_one_character => "redirect URI differing by one character",
        stolen_password_with_a_wrong_totp_code => "stolen password with a wrong TOTP code",
        totp_code_replayed => "TOTP code replayed",
        login_brute_force => "login brute force",
        login_brute_force_across_one_64 => "login brute force from every address of one IPv6 /64",
        codes_from_many_sources => "second-factor codes guessed from many addresses",
        codes_on_one_login => "second-factor codes guessed on one login",
        gateway_secret_from_outside => "the gateway's client secret used through the public relay",
        another_clients_refresh_token_introspected => "another client's refresh token introspected",
        password_checks_flooded_past_the_hashing_queue => "password checks flooded past the hashing queue",
        second_factor_from_a_stolen_database_copy => "second factor read from a stolen copy of the STS database",
        api_burst_past_the_rate_limit => "request burst past the API rate limit",
        token_endpoint_flood => "token endpoint flood",
        token_endpoint_flood_under_invented_client_ids => "token endpoint flood under a new client id each time",
        login_page_flood => "login page flood",
        login_page_flood_rotating_within_one_ipv6_slash_64 => "login page flood from addresses rotating within one IPv6 /64",
        request_body_of_ten_megabytes => "request body of 10 MB",
        slowloris_dripping_a_request_head => "slowloris: a request head dripped a byte at a time",
        json_nested_ten_thousand_deep => "JSON nested 10,000 deep",
        trace_and_other_undeclared_verbs => "TRACE and other undeclared verbs",
        path_traversal_and_encoded_slashes => "path traversal and encoded-slash variants",
        cors_preflight_from_a_foreign_origin => "CORS preflight from a foreign origin",
        answers_without_security_headers => "answers without security headers",
        same_order_twice_with_one_idempotency_key => "the same order submitted twice with one idempotency key",
        order_bot_over_the_per_user_limit => "an order bot over the per-user limit",
        order_bot_all_at_once => "an order bot sending all its orders at once past the per-user limit",
        webhook_at_ipv4_loopback => "webhook URL at 127.0.0.1",
        webhook_at_the_metadata_address => "webhook URL at 169.254.169.254",
        webhook_at_ipv6_loopback => "webhook URL at [::1]",
        webhook_name_resolving_to_a_private_address => "webhook URL whose DNS name resolves to a private address",
        webhook_redirecting_to_an_internal_address => "webhook URL that redirects to an internal address",
        webhook_public_host_redirecting_to_metadata => "webhook URL at a permitted public host that redirects to the metadata address",
        malicious_supplier_absurd_price => "malicious supplier: absurd price",
        malicious_supplier_wrong_types => "malicious supplier: wrong types",
        malicious_supplier_huge_body => "malicious supplier: huge body",
        malicious_supplier_slow_drip => "malicious supplier: slow drip",
        malicious_supplier_redirect => "malicious supplier: redirect to an internal address",
        forged_jwt_with_alg_none => "JWT with alg none",
        forged_jwt_hmac_with_the_public_key => "JWT signed HS256 with the STS's public key",
        forged_jwt_with_an_unknown_kid => "JWT with a key id the STS never published",
        forged_jwt_bringing_its_own_key => "JWT bringing its own key in jwk, jku and x5u",
        workload_type_presented_as_a_users_token => "a token of the workload type, with a user's claims, presented as the user's",
        jwks_refresh_for_a_thousand_made_up_key_ids => "a thousand JWTs with key ids the STS never published",
        retired_v0_call => "a call to the retired /v0 API",
        refund_from_inside_without_a_debit => "refund from inside for an order that was never paid",
        refund_from_inside_above_the_debit => "refund from inside of more than the order paid",
    }
    in_exchange_mode_only {
        exchange_token_for_accounts_replayed_at_orders => "exchange mode: a token for accounts replayed at orders",
        exchange_stolen_bound_token => "exchange mode: a token stolen from one workload's traffic presented by another",
        exchange_stripped_act_chain => "exchange mode: the act chain stripped from a token",
        exchange_wider_scopes => "exchange mode: an exchange asking for wider scopes than the subject",
        exchange_actor_not_allowed => "exchange mode: an exchange by an actor not allowed to reach the audience",
        exchange_debit_not_on_orders_behalf => "exchange mode: a debit whose delegation chain never passed through orders",
    }
}
