//! The gateway as an `Application`, and the router built from the route table.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use axum::{Json, Router};
use baton_api::lab::announce_lab_mode;
use baton_api::{Problem, problem, request_id};
use baton_platform::{Control, StartupError, Workload, shutdown};
use baton_token::Verifier;
use baton_token::http::bearer_token;
use baton_workload::{Generations, TransportError};
use serde_json::json;
use tokio::net::TcpListener;

use crate::auth::{AuthError, TokenExchanger, authenticate, check_route};
use crate::config::Config;
use crate::edge::client_addr::{ClientAddr, UNKNOWN, client_addr};
use crate::edge::guard::{self, GuardConfig};
use crate::edge::headers;
use crate::edge::json::{self, ShapeError};
use crate::edge::machine;
use crate::edge::rate::{self, Class, Decision, RateLimits, Source, Subject};
use crate::edge::upstream::UpstreamGuard;
use crate::proxy;
use crate::routes::{self, Access, Route, table};

/// How often idle entries leave the in-memory rate limiters.
const LIMITER_HOUSEKEEPING: Duration = Duration::from_secs(60);

/// What every request handler shares.
#[derive(Debug)]
struct Gateway {
    config: Config,
    upstreams: BTreeMap<Workload, Upstream>,
    /// The upstream clients and the token exchanger, for the certificate the gateway presents
    /// now: a request takes one generation and uses it throughout, so the token the STS bound to
    /// the gateway's certificate goes upstream on a connection that presents that certificate.
    links: Generations<Links>,
    limits: Arc<RateLimits>,
}

/// Where to send a route's requests, and the guard that keeps the gateway from drowning it.
#[derive(Debug)]
struct Upstream {
    base_url: String,
    guard: UpstreamGuard,
}

/// One certificate generation's clients: per upstream, one that accepts only that workload's
/// certificate; and the exchanger, with a client of its own to the STS.
#[derive(Debug)]
struct Links {
    clients: BTreeMap<Workload, reqwest::Client>,
    exchanger: TokenExchanger,
}

/// A built, not yet running gateway.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    gateway: Arc<Gateway>,
    router: Router,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let listener = baton_workload::bind(config.settings.listen).await?;
        let upstreams: BTreeMap<Workload, Upstream> = config
            .upstreams
            .iter()
            .map(|(workload, authority)| {
                let guard = UpstreamGuard::new(
                    config.edge.upstream_concurrency,
                    config.edge.breaker_failures,
                    config.edge.breaker_cooldown,
                );
                let base_url = config.transport.base_url(authority);
                (*workload, Upstream { base_url, guard })
            })
            .collect();
        let sts_url = upstreams
            .get(&Workload::Sts)
            .map(|sts| sts.base_url.clone())
            .ok_or_else(|| StartupError::other("upstreams", MissingUpstream(Workload::Sts)))?;
        // Each service's id, and a verifier that checks a token the STS hands us as that service
        // would. E2E mode asks for one token naming every service; exchange mode for one token
        // per service (see `TokenExchanger::internal_token`). The verifiers only fetch the STS's
        // public keys, so they keep one client of their own across rotations.
        let jwks_client = config
            .transport
            .http_client(Workload::Sts)
            .map_err(|err| StartupError::other("HTTP client", err))?;
        let services: BTreeMap<Workload, (String, Arc<Verifier>)> = Workload::SERVICES
            .iter()
            .map(|workload| {
                let id = config.settings.trust_domain.id_of(*workload);
                let verifier = baton_token::verifier::for_audience(
                    jwks_client.clone(),
                    &sts_url,
                    &config.settings,
                    id.clone(),
                );
                (*workload, (id, Arc::new(verifier)))
            })
            .collect();
        let links = {
            let peers: Vec<Workload> = config.upstreams.keys().copied().collect();
            let token_url = format!("{sts_url}/oauth2/token");
            let client_secret = config.client_secret.clone();
            let mode = config.settings.trust_mode;
            Generations::new(&config.transport, move |transport| {
                let clients = peers
                    .iter()
                    .map(|workload| Ok((*workload, transport.http_client(*workload)?)))
                    .collect::<Result<BTreeMap<_, _>, TransportError>>()?;
                let exchanger = TokenExchanger::new(
                    transport.http_client(Workload::Sts)?,
                    token_url.clone(),
                    client_secret.clone(),
                    mode,
                    services.clone(),
                );
                Ok(Links { clients, exchanger })
            })
            .map_err(|err| StartupError::other("HTTP clients", err))?
        };
        routes::check(&table()).map_err(|err| StartupError::other("route table", err))?;
        if let Some(route) = table()
            .iter()
            .find(|route| !upstreams.contains_key(&route.upstream))
        {
            return Err(StartupError::other(
                "route table",
                MissingUpstream(route.upstream),
            ));
        }
        let limits = RateLimits::from_config(&config.edge)
            .await
            .map_err(|err| StartupError::other("rate limits in Redis", err))?;
        let limits = Arc::new(limits);
        rate::spawn_housekeeping(&limits, LIMITER_HOUSEKEEPING);
        let gateway = Arc::new(Gateway {
            config,
            upstreams,
            links,
            limits,
        });
        let router = router(gateway.clone())?;
        Ok(Self {
            listener,
            gateway,
            router,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|addr| addr.port())
            .unwrap_or(0)
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown::signal()).await
    }

    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let config = &self.gateway.config;
        config.settings.announce(self.port());
        let transport = config.transport.clone();
        transport
            .serve_public(self.listener, self.router, shutdown)
            .await
    }
}

/// One axum route per declared route; a path's undeclared methods (`HEAD` and `OPTIONS`
/// included: neither is declared anywhere) fall to 405 with an `Allow` header naming the declared
/// ones, undeclared paths to 404, both as problem+json. Around them, outermost first: the lab-mode
/// banner, the edge guard (normal paths, header size, security headers), CORS.
fn router(gateway: Arc<Gateway>) -> Result<Router, StartupError> {
    let routes = table();
    let mut paths: Vec<&'static str> = routes.iter().map(|route| route.path).collect();
    paths.sort_unstable();
    paths.dedup();
    let health_allow = HeaderValue::from_static("GET");
    let mut router = Router::new().route(
        "/health",
        MethodRouter::new()
            .on(MethodFilter::GET, {
                let allow = health_allow.clone();
                move |State(gateway): State<Arc<Gateway>>, request: Request| async move {
                    health(&gateway, &allow, request.method())
                }
            })
            .fallback(move || async move { guard::method_not_allowed(health_allow) }),
    );
    // The API's description (OWASP API9: inventory), generated from the services' code and
    // committed as docs/openapi.json; a test keeps the file, the code and this table in step.
    let openapi_allow = HeaderValue::from_static("GET");
    router = router.route(
        OPENAPI_PATH,
        MethodRouter::new()
            .on(MethodFilter::GET, {
                let allow = openapi_allow.clone();
                // axum answers HEAD with a GET route; like every route, this one answers only
                // what it declares.
                move |request: Request| async move { openapi(&allow, request.method()) }
            })
            .fallback(move || async move { guard::method_not_allowed(openapi_allow) }),
    );
    // The retired first version of the API: every path under it, any method, is 410 Gone.
    router = router
        .route("/v0", axum::routing::any(retired))
        .route("/v0/{*rest}", axum::routing::any(retired));
    for path in paths {
        let declared: Vec<&Route> = routes.iter().filter(|route| route.path == path).collect();
        let allow = allow_header(&declared)?;
        let mut methods: MethodRouter<Arc<Gateway>> = MethodRouter::new();
        for route in declared.into_iter().cloned() {
            let filter = MethodFilter::try_from(route.method.clone())
                .map_err(|err| StartupError::other("route table", err))?;
            let route = Arc::new(route);
            let allow = allow.clone();
            let handler = move |State(gateway): State<Arc<Gateway>>, request: Request| {
                let route = route.clone();
                let allow = allow.clone();
                async move { handle(&gateway, &route, allow, request).await }
            };
            methods = methods.on(filter, handler);
        }
        let fallback = move || async move { guard::method_not_allowed(allow) };
        router = router.route(path, methods.fallback(fallback));
    }
    let controls = gateway.config.settings.controls.clone();
    let mut declared_methods: Vec<Method> = routes.iter().map(|r| r.method.clone()).collect();
    declared_methods.dedup();
    let mut router = router.fallback(problem::not_found);
    if let Some(cors) = headers::cors(&gateway.config.edge, &controls, declared_methods) {
        router = router.layer(cors);
    }
    let guard_config = Arc::new(GuardConfig {
        controls: controls.clone(),
        max_header_bytes: gateway.config.edge.max_header_bytes,
    });
    Ok(router
        .layer(axum::middleware::from_fn_with_state(
            guard_config,
            guard::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            controls,
            announce_lab_mode,
        ))
        // Outermost, so every answer carries its request's id; a client's own is only logged.
        .layer(axum::middleware::from_fn_with_state(
            request_id::Incoming::Untrusted,
            request_id::assign,
        ))
        .with_state(gateway))
}

/// The `Allow` header for a path: its declared methods.
fn allow_header(declared: &[&Route]) -> Result<HeaderValue, StartupError> {
    let names: Vec<&str> = declared.iter().map(|route| route.method.as_str()).collect();
    HeaderValue::from_str(&names.join(", ")).map_err(|err| StartupError::other("route table", err))
}

/// A declared route's request: refused as 405 if it is a `HEAD` that axum routed to a `GET`
/// (undeclared, so refused), otherwise handled within the request timeout.
async fn handle(
    gateway: &Gateway,
    route: &Route,
    allow: HeaderValue,
    request: Request,
) -> Response {
    if request.method() != route.method {
        return guard::method_not_allowed(allow);
    }
    let timeout = gateway.config.edge.request_timeout;
    match tokio::time::timeout(timeout, admit_and_forward(gateway, route, request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(?timeout, "request timed out at the gateway");
            Problem::timeout().into_response()
        }
    }
}

/// Rate-limits by source, authenticates (for protected routes), rate-limits by user, checks the
/// route's scope and roles and the body's shape, and forwards within the upstream's limits.
async fn admit_and_forward(gateway: &Gateway, route: &Route, mut request: Request) -> Response {
    let addr = client_addr(
        request.extensions(),
        request.headers(),
        &gateway.config.edge.trusted_proxies,
    );
    if addr != UNKNOWN {
        request.extensions_mut().insert(ClientAddr(addr));
    }
    let (request, mut decision) = match limit_by_source(gateway, route, addr, request).await {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal,
    };
    let mut response = match authorize_and_forward(gateway, route, request, &mut decision).await {
        Ok(response) => response,
        Err(refusal) => refusal,
    };
    // A refusal by user already carries its own (tighter) state.
    if let Some(decision) = decision
        && !response.headers().contains_key("ratelimit")
    {
        decision.stamp(response.headers_mut());
    }
    response
}

/// Counts the request against its source (an IPv4 address or an IPv6 /64) in its route's class,
/// and a machine endpoint's request against the client it names too ([`machine`]). Gives the
/// request back (a machine request with its body read) and the tightest decision, or the
/// refusal; `None` when rate limits are off.
async fn limit_by_source(
    gateway: &Gateway,
    route: &Route,
    addr: IpAddr,
    request: Request,
) -> Result<(Request, Option<Decision>), Response> {
    if !gateway
        .config
        .settings
        .controls
        .is_on(Control::GatewayRateLimit)
    {
        return Ok((request, None));
    }
    let class = rate::class_of(route);
    let source = Source::of(addr);
    let by_source = gateway.limits.check(class, &[Subject::Addr(source)]).await;
    if !by_source.allowed {
        tracing::info!(
            security_event = "rate_limited",
            by = "source",
            %source,
            class = class.name(),
            "rate limited by source address"
        );
        return Err(by_source.refusal());
    }
    if class != Class::Machine {
        return Ok((request, Some(by_source)));
    }
    if declared_length(request.headers()) > proxy::MAX_REQUEST_BODY {
        return Err(Problem::payload_too_large().into_response());
    }
    let (request, by_client) = machine::check_client(&gateway.limits, source, request)
        .await
        .map_err(IntoResponse::into_response)?;
    if !by_client.allowed {
        let class = by_client.class.name();
        tracing::info!(
            security_event = "rate_limited",
            by = "client",
            %source,
            class,
            "rate limited by client at a machine endpoint"
        );
        return Err(by_client.refusal());
    }
    Ok((request, Some(by_source.tighter(by_client))))
}

async fn authorize_and_forward(
    gateway: &Gateway,
    route: &Route,
    request: Request,
    decision: &mut Option<Decision>,
) -> Result<Response, Response> {
    if declared_length(request.headers()) > proxy::MAX_REQUEST_BODY {
        return Err(Problem::payload_too_large().into_response());
    }
    let controls = &gateway.config.settings.controls;
    let links = gateway.links.current();
    let internal_token = match route.access {
        Access::Public => None,
        Access::Token { scope, roles } => {
            let token = authenticate(
                &links.exchanger,
                controls,
                bearer(request.headers()),
                route.upstream,
            )
            .await
            .map_err(|err| {
                if matches!(err, AuthError::Missing | AuthError::Inactive) {
                    tracing::info!(
                        security_event = "authentication_failed",
                        reason = %err,
                        "refused a request without a valid token"
                    );
                }
                Problem::from(err).into_response()
            })?;
            if let Some(so_far) = *decision {
                let class = rate::class_of(route);
                let by_user = gateway
                    .limits
                    .check(class, &[Subject::User(token.user_id.clone())])
                    .await;
                if !by_user.allowed {
                    tracing::info!(
                        security_event = "rate_limited",
                        by = "user",
                        user_id = %token.user_id,
                        class = class.name(),
                        "rate limited by user"
                    );
                    return Err(by_user.refusal());
                }
                *decision = Some(so_far.tighter(by_user));
            }
            check_route(controls, &token, scope, roles).map_err(IntoResponse::into_response)?;
            Some(token)
        }
    };
    let request = checked_json(gateway, request)
        .await
        .map_err(IntoResponse::into_response)?;
    // INVARIANT: `build` refused to start unless every route's upstream is configured, and
    // built a client for each configured upstream.
    let (Some(upstream), Some(client)) = (
        gateway.upstreams.get(&route.upstream),
        links.clients.get(&route.upstream),
    ) else {
        return Err(Problem::internal().into_response());
    };
    let pass = upstream
        .guard
        .admit()
        .map_err(IntoResponse::into_response)?;
    let jwt = internal_token.as_ref().map(|token| token.jwt.as_str());
    let forwarded = proxy::forward(client, &upstream.base_url, request, jwt).await;
    pass.record(&forwarded);
    forwarded.map_err(IntoResponse::into_response)
}

/// The request, with its body checked for shape if it is JSON (`gateway.json_limits`). The body
/// is read here (bounded as the proxy would) and handed on as bytes.
async fn checked_json(gateway: &Gateway, request: Request) -> Result<Request, Problem> {
    let controls = &gateway.config.settings.controls;
    if !controls.is_on(Control::GatewayJsonLimits) || !json::is_json(request.headers()) {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, proxy::MAX_REQUEST_BODY)
        .await
        .map_err(|_| Problem::payload_too_large())?;
    if let Err(why) = json::check(&bytes, &gateway.config.edge.json) {
        tracing::info!(%why, "refused a JSON body at the gateway");
        return Err(match why {
            ShapeError::Malformed => Problem::bad_request(why.to_string()),
            _ => Problem::new(
                StatusCode::BAD_REQUEST,
                "json-limits",
                "The JSON body exceeds the gateway's limits",
            )
            .with_detail(why.to_string()),
        });
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The body length the client declared, if it did.
fn declared_length(headers: &HeaderMap) -> usize {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

/// A route names an upstream the configuration does not.
#[derive(Debug, thiserror::Error)]
#[error("no address configured for `{0}`")]
struct MissingUpstream(Workload);

fn bearer(headers: &HeaderMap) -> Option<&str> {
    bearer_token(headers).ok()
}

/// Where the gateway serves the API description.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// `docs/openapi.json`, embedded at build time: the description of every service route.
const OPENAPI_DOCUMENT: &str = include_str!("../../docs/openapi.json");

fn openapi(allow: &HeaderValue, method: &Method) -> Response {
    if method != Method::GET {
        return guard::method_not_allowed(allow.clone());
    }
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI_DOCUMENT,
    )
        .into_response()
}

/// `/v0` was retired: say so, and where to go, rather than a bare 404.
async fn retired() -> Problem {
    Problem::gone().with_detail("API version v0 is retired; use /v1 (see /openapi.json)")
}

fn health(gateway: &Gateway, allow: &HeaderValue, method: &Method) -> Response {
    if method != Method::GET {
        return guard::method_not_allowed(allow.clone());
    }
    Json(json!({ "status": "ok", "trust_mode": gateway.config.settings.trust_mode.to_string() }))
        .into_response()
}
