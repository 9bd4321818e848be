//! Clients and client authentication (RFC 6749 §2.3, RFC 8705).
//!
//! Three ways a client proves who it is:
//! - `client_secret_basic`: `Authorization: Basic base64(id:secret)`. The gateway's secret comes
//!   from configuration; other confidential clients' secrets are stored as SHA-256 hashes (they are
//!   long random strings, so a fast hash is enough, as for tokens). Comparisons are constant-time
//!   and an unknown client id costs the same as a wrong secret.
//! - `tls_client_auth` (RFC 8705 §2.1.2): a workload of the platform calls the STS directly over
//!   mutual TLS; the SPIFFE ID of its verified certificate must be the one registered for the
//!   `client_id` it names. The gateway is never authenticated this way: it relays other clients'
//!   requests, so its certificate says nothing about who the client is.
//! - `none`: a public client (the CLI) names itself with `client_id`; PKCE is its only proof, so it
//!   may use the authorization code and refresh grants only.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use baton_platform::Workload;
use baton_platform::config::{ConfigError, Source};
use baton_platform::{Control, Controls, TrustDomain};
use baton_workload::Peer;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use sqlx::AnyPool;
use subtle::ConstantTimeEq;

use crate::domain::opaque;
use crate::storage::{self, ClientRow};

/// The gateway's client id.
pub const GATEWAY_CLIENT_ID: &str = "gateway";
/// The command-line client `just token` uses: public, loopback redirect (RFC 8252 §7.3).
pub const CLI_CLIENT_ID: &str = "baton-cli";
pub const CLI_REDIRECT_URI: &str = "http://127.0.0.1:8976/callback";

pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";
pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
pub const GRANT_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// How a client authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    None,
    ClientSecretBasic,
    TlsClientAuth,
}

impl AuthMethod {
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::TlsClientAuth => "tls_client_auth",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        [Self::None, Self::ClientSecretBasic, Self::TlsClientAuth]
            .into_iter()
            .find(|method| method.name() == raw)
    }
}

/// An authenticated (or, for public clients, identified) client.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub auth_method: AuthMethod,
    redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    /// For client credentials: the most the client may ask for.
    pub scope: String,
}

impl Client {
    fn gateway() -> Self {
        Self {
            id: GATEWAY_CLIENT_ID.to_owned(),
            auth_method: AuthMethod::ClientSecretBasic,
            redirect_uris: Vec::new(),
            grant_types: vec![GRANT_TOKEN_EXCHANGE.to_owned()],
            scope: String::new(),
        }
    }

    fn from_row(row: ClientRow) -> Option<Self> {
        Some(Self {
            auth_method: AuthMethod::parse(&row.auth_method)?,
            redirect_uris: row
                .redirect_uris
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            grant_types: row
                .grant_types
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            scope: row.scope,
            id: row.client_id,
        })
    }

    /// The service a `tls_client_auth` client is (its certificate proved it); `None` for every
    /// other client.
    pub fn workload(&self) -> Option<Workload> {
        if self.auth_method != AuthMethod::TlsClientAuth {
            return None;
        }
        Workload::SERVICES
            .into_iter()
            .find(|workload| workload.name() == self.id)
    }

    pub fn is_gateway(&self) -> bool {
        self.id == GATEWAY_CLIENT_ID && self.auth_method == AuthMethod::ClientSecretBasic
    }

    /// Confidential clients proved a credential; public ones only named themselves.
    pub fn is_confidential(&self) -> bool {
        self.auth_method != AuthMethod::None
    }

    pub fn may_use(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }

    /// Exact, character-for-character comparison with a registered redirect URI (RFC 9700
    /// §4.1.3): no prefixes, no patterns, no normalisation. The one allowance is the port of a
    /// loopback IP redirect (`http://127.0.0.1:<port>/…`, `http://[::1]:<port>/…`), which a native
    /// app picks when it opens its listener, so any port must be accepted there (RFC 8252 §7.3);
    /// the scheme, address and path still match exactly.
    pub fn has_redirect_uri(&self, unverified_uri: &str) -> bool {
        self.redirect_uris.iter().any(|uri| {
            uri == unverified_uri
                || loopback_without_port(uri).is_some_and(|registered| {
                    loopback_without_port(unverified_uri) == Some(registered)
                })
        })
    }
}

/// A loopback IP redirect URI split around its port: (`http://127.0.0.1:`, `/callback`), if the
/// URI is one, with a port of 1 to 65535 in plain digits. Anything else (`localhost`, https, no
/// port, userinfo) is not one and must then match exactly.
fn loopback_without_port(uri: &str) -> Option<(&'static str, &str)> {
    const LOOPBACKS: [&str; 2] = ["http://127.0.0.1:", "http://[::1]:"];
    let (host, rest) = LOOPBACKS
        .iter()
        .find_map(|host| uri.strip_prefix(host).map(|rest| (*host, rest)))?;
    let (port, path) = rest.split_at(rest.find('/')?);
    let plain_digits =
        !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
    let port_ok = plain_digits && port.parse::<u16>().is_ok_and(|port| port != 0);
    port_ok.then_some((host, path))
}

/// A registered client, looked up by id, for the authorization endpoint (which authenticates the
/// user, not the client).
pub async fn registered(pool: &AnyPool, client_id: &str) -> Result<Option<Client>, sqlx::Error> {
    Ok(storage::client_by_id(pool, client_id)
        .await?
        .and_then(Client::from_row))
}

/// What a request presented to identify its client.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    pub authorization: Option<&'a str>,
    pub form_client_id: Option<&'a str>,
    pub peer: Option<&'a Peer>,
    /// The request came through the gateway's public relay (it carries the client address the
    /// gateway adds to every request it relays): the certificate on it is the gateway's, but the
    /// credentials are whatever a client on the internet sent.
    pub relayed: bool,
}

/// Why a client could not be authenticated.
#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    /// Answered `invalid_client` with 401.
    #[error("client authentication failed")]
    Invalid,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The context client authentication needs.
#[derive(Debug, Clone, Copy)]
pub struct ClientAuth<'a> {
    pub pool: &'a AnyPool,
    pub gateway_secret: &'a ClientSecret,
    pub trust_domain: &'a TrustDomain,
    pub controls: &'a Controls,
}

impl ClientAuth<'_> {
    /// Authenticates the client of a token, introspection or revocation request.
    pub async fn authenticate(&self, presented: Presented<'_>) -> Result<Client, ClientAuthError> {
        if let Some(header) = presented.authorization {
            let (id, secret) = decode_basic(header).ok_or(ClientAuthError::Invalid)?;
            if presented
                .form_client_id
                .is_some_and(|form_id| form_id != id)
            {
                return Err(ClientAuthError::Invalid);
            }
            if id == GATEWAY_CLIENT_ID {
                return self.gateway(&presented, &secret);
            }
            return self.secret_basic(&id, &secret).await;
        }
        let form_id = presented.form_client_id.ok_or(ClientAuthError::Invalid)?;
        let gateway = Peer::Workload(baton_workload::SpiffeId::of(
            self.trust_domain,
            Workload::Gateway,
        ));
        if let Some(peer @ Peer::Workload(spiffe_id)) = presented.peer
            && *peer != gateway
        {
            let client = storage::client_by_san_uri(self.pool, &spiffe_id.to_string())
                .await?
                .and_then(Client::from_row)
                .filter(|client| client.id == form_id)
                .ok_or(ClientAuthError::Invalid)?;
            return Ok(client);
        }
        registered(self.pool, form_id)
            .await?
            .filter(|client| client.auth_method == AuthMethod::None)
            .ok_or(ClientAuthError::Invalid)
    }

    /// The gateway's own client: its secret, on a direct call from the gateway's certificate.
    /// Through the public relay the secret is not even compared, so it cannot be guessed there;
    /// with no TLS at all (plaintext lab mode, where `mtls.peer_id` is off) the secret alone, and
    /// with `sts.gateway_client_binding` off (lab mode) the secret from anywhere.
    fn gateway(&self, presented: &Presented<'_>, secret: &str) -> Result<Client, ClientAuthError> {
        let gateway = Peer::Workload(baton_workload::SpiffeId::of(
            self.trust_domain,
            Workload::Gateway,
        ));
        let bound = self.controls.is_on(Control::StsGatewayClientBinding);
        let from_the_gateway = match presented.peer {
            Some(peer) => !bound || (*peer == gateway && !presented.relayed),
            None => true,
        };
        if from_the_gateway && self.gateway_secret.matches(secret) {
            Ok(Client::gateway())
        } else {
            Err(ClientAuthError::Invalid)
        }
    }

    async fn secret_basic(&self, id: &str, secret: &str) -> Result<Client, ClientAuthError> {
        let row = storage::client_by_id(self.pool, id)
            .await?
            .filter(|row| row.auth_method == AuthMethod::ClientSecretBasic.name());
        // Unknown clients are compared against a hash nothing matches, so they cost the same.
        let stored = row
            .as_ref()
            .and_then(|row| row.secret_hash.clone())
            .unwrap_or_else(|| "0".repeat(64));
        let presented = opaque::hash(secret);
        let matches = bool::from(presented.as_bytes().ct_eq(stored.as_bytes()));
        match row.and_then(Client::from_row) {
            Some(client) if matches => Ok(client),
            _ => Err(ClientAuthError::Invalid),
        }
    }
}

/// A client secret, kept out of logs and compared in constant time.
#[derive(Debug, Clone)]
pub struct ClientSecret(SecretString);

impl ClientSecret {
    pub const KEY: &'static str = "BATON_GATEWAY_CLIENT_SECRET";
    /// Shorter secrets are refused at start-up.
    const MIN_LEN: usize = 32;

    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        let raw = source.get(Self::KEY).ok_or_else(|| ConfigError::Missing {
            key: Self::KEY.to_owned(),
        })?;
        if raw.len() < Self::MIN_LEN {
            return Err(ConfigError::invalid(
                Self::KEY,
                "<redacted>",
                "must be at least 32 characters",
            ));
        }
        Ok(Self(SecretString::from(raw)))
    }

    /// Whether `unverified_secret` is this secret. Both are hashed first so the comparison takes
    /// the same time whatever the lengths.
    pub fn matches(&self, unverified_secret: &str) -> bool {
        let expected = Sha256::digest(self.0.expose_secret().as_bytes());
        let presented = Sha256::digest(unverified_secret.as_bytes());
        bool::from(expected.ct_eq(&presented))
    }

    /// Whether an `Authorization: Basic …` header value names the gateway with this secret.
    pub fn authenticates(&self, unverified_header: &str) -> bool {
        let Some((client_id, secret)) = decode_basic(unverified_header) else {
            return false;
        };
        let secret_ok = self.matches(&secret);
        secret_ok && client_id == GATEWAY_CLIENT_ID
    }
}

/// Splits `Basic base64(id:secret)` (RFC 7617).
pub fn decode_basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// The `Authorization` header value for `client_id` and `secret`.
pub fn basic_header(client_id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_platform::config::Map;

    fn secret() -> ClientSecret {
        let source = Map::new().with(ClientSecret::KEY, "s".repeat(40));
        ClientSecret::from_source(&source).unwrap_or_else(|_| ClientSecret(SecretString::from("")))
    }

    #[test]
    fn only_the_gateway_with_the_right_secret_authenticates() {
        let secret = secret();
        assert!(secret.authenticates(&basic_header("gateway", &"s".repeat(40))));
        assert!(!secret.authenticates(&basic_header("gateway", &"s".repeat(39))));
        assert!(!secret.authenticates(&basic_header("orders", &"s".repeat(40))));
        assert!(!secret.authenticates("Bearer whatever"));
        assert!(!secret.authenticates("Basic !!!not-base64"));
    }

    #[test]
    fn a_short_secret_is_refused_at_start_up() {
        let source = Map::new().with(ClientSecret::KEY, "short");
        assert!(ClientSecret::from_source(&source).is_err());
    }

    #[test]
    fn redirect_uris_match_exactly_or_not_at_all() {
        let client = Client {
            id: CLI_CLIENT_ID.to_owned(),
            auth_method: AuthMethod::None,
            redirect_uris: vec![CLI_REDIRECT_URI.to_owned()],
            grant_types: Vec::new(),
            scope: String::new(),
        };
        assert!(client.has_redirect_uri(CLI_REDIRECT_URI));
        for near_miss in [
            "http://127.0.0.1:8976/callbacK",
            "http://127.0.0.1:8976/callback/",
            "http://127.0.0.1:8976/callback?x=1",
            "https://127.0.0.1:8976/callback",
            "http://localhost:8976/callback",
            "http://127.0.0.1:8977/callbacK",
            "http://127.0.0.1:/callback",
            "http://127.0.0.1:0/callback",
            "http://127.0.0.1:65536/callback",
            "http://127.0.0.1:+80/callback",
            "http://127.0.0.1:8976@evil.example/callback",
            "http://127.0.0.1:8976.evil.example/callback",
            "http://[::1]:8976/callback",
            "http://127.0.0.1:8976",
        ] {
            assert!(!client.has_redirect_uri(near_miss), "{near_miss}");
        }
    }

    #[test]
    fn a_loopback_redirect_may_name_any_port() {
        let client = Client {
            id: CLI_CLIENT_ID.to_owned(),
            auth_method: AuthMethod::None,
            redirect_uris: vec![CLI_REDIRECT_URI.to_owned(), "http://[::1]:1/cb".to_owned()],
            grant_types: Vec::new(),
            scope: String::new(),
        };
        for any_port in [
            "http://127.0.0.1:8977/callback",
            "http://127.0.0.1:1/callback",
            "http://127.0.0.1:65535/callback",
            "http://[::1]:50123/cb",
        ] {
            assert!(client.has_redirect_uri(any_port), "{any_port}");
        }
        let remote = Client {
            redirect_uris: vec!["https://app.example/cb".to_owned()],
            ..client
        };
        assert!(!remote.has_redirect_uri("https://app.example:8443/cb"));
    }
}
