//! The demo users, seeded in development mode only.
//!
//! The STS, the users service and the accounts service each seed their part of the same four
//! people, so they must agree on who is who: the ids below were drawn at random once (UUID v4) and
//! are fixed so that the seeds line up. Every other identifier in Baton is drawn at run time.
//! None of this is ever seeded in production mode, and a component started in production on a
//! database that still holds any of it refuses to start (`StartupError::DemoDataInProduction`)
//! until `baton-<component> remove-demo-data` has taken it out.

use uuid::Uuid;

/// A demo person and what each component needs to seed them.
#[derive(Debug, Clone, Copy)]
pub struct DemoUser {
    pub id: Uuid,
    pub username: &'static str,
    pub display_name: &'static str,
    pub email: &'static str,
    /// A phone number from the range Ofcom keeps for drama (020 7946 0xxx): never a real one.
    pub phone: &'static str,
    /// The demo password, printed by `just up` and in the README. Development mode only.
    pub password: &'static str,
    /// Base32 TOTP seed for users enrolled in the second factor; `just token` computes the code
    /// from it the way an authenticator app would.
    pub totp_seed: Option<&'static str>,
    pub roles: &'static [&'static str],
    /// Opening balance of the demo account, in minor units (cents); customers only.
    pub opening_balance_minor: Option<i64>,
}

pub const ALICE: DemoUser = DemoUser {
    id: Uuid::from_u128(0x3f6c_1a8e_5b2d_4c71_9e0a_7d4b_2c8f_1e63),
    username: "alice",
    display_name: "Alice Example",
    email: "alice@example.com",
    phone: "+44 20 7946 0001",
    password: "alice-wonderland-42",
    totp_seed: Some("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
    roles: &["customer"],
    opening_balance_minor: Some(100_000),
};

pub const BOB: DemoUser = DemoUser {
    id: Uuid::from_u128(0x8a21_d4f7_0c9e_4b38_a6d5_1f7e_93b0_4c2a),
    username: "bob",
    display_name: "Bob Example",
    email: "bob@example.com",
    phone: "+44 20 7946 0002",
    password: "bob-builder-2024",
    totp_seed: None,
    roles: &["customer"],
    opening_balance_minor: Some(50_000),
};

pub const CAROL: DemoUser = DemoUser {
    id: Uuid::from_u128(0xc57e_9b02_6f1a_4d8c_b3e9_0a6d_5f21_7b94),
    username: "carol",
    display_name: "Carol Admin",
    email: "carol@example.com",
    phone: "+44 20 7946 0003",
    password: "carol-keeps-the-keys",
    totp_seed: Some("KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TF"),
    roles: &["admin"],
    opening_balance_minor: None,
};

/// Support staff: reads orders and masked profiles to answer customers' questions.
pub const DAVE: DemoUser = DemoUser {
    id: Uuid::from_u128(0x5d0e_2b7a_91c4_4e6f_8a3d_c2f1_6b09_e847),
    username: "dave",
    display_name: "Dave Support",
    email: "dave@example.com",
    phone: "+44 20 7946 0004",
    password: "dave-answers-the-phone",
    totp_seed: Some("MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"),
    roles: &["support"],
    opening_balance_minor: None,
};

/// Every demo user.
pub const ALL: [DemoUser; 4] = [ALICE, BOB, CAROL, DAVE];

/// The currency of the demo accounts and the demo catalogue.
pub const CURRENCY: &str = "EUR";

/// Looks a demo user up by name.
pub fn by_username(username: &str) -> Option<DemoUser> {
    ALL.into_iter().find(|user| user.username == username)
}

/// The first argument that makes a component's binary remove the demo data from its database and
/// exit, instead of serving: the way out of `StartupError::DemoDataInProduction`.
pub const REMOVE_COMMAND: &str = "remove-demo-data";

/// True if this process was started as `baton-<component> remove-demo-data`.
pub fn removal_requested() -> bool {
    std::env::args().nth(1).as_deref() == Some(REMOVE_COMMAND)
}

/// Every demo user's id, in the hyphenated form every table stores.
pub fn ids() -> impl Iterator<Item = (String, DemoUser)> {
    ALL.into_iter()
        .map(|user| (user.id.hyphenated().to_string(), user))
}

/// Prints what `remove-demo-data` did and turns it into the process's exit code.
pub fn report_removal(
    component: &str,
    removed: Result<Vec<String>, crate::StartupError>,
) -> std::process::ExitCode {
    match removed {
        Ok(removed) if removed.is_empty() => {
            println!("{component}: no demo data to remove");
            std::process::ExitCode::SUCCESS
        }
        Ok(removed) => {
            println!("{component}: removed {}", removed.join(", "));
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{component}: could not remove the demo data: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
