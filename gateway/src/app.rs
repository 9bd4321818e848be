//! The gateway as an `Application`, and the router built from the route table.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, get};
use axum::{Json, Router};
use baton_platform::controls::announce_lab_mode;
use baton_platform::{Problem, StartupError, Workload, problem, shutdown};
use baton_token::http::bearer_token;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::auth::{TokenExchanger, authenticate, check_route};
use crate::config::Config;
use crate::proxy;
use crate::routes::{self, Access, Route, table};

/// What every request handler shares.
#[derive(Debug)]
struct Gateway {
    config: Config,
    upstreams: BTreeMap<Workload, Upstream>,
    exchanger: TokenExchanger,
}

/// Where to send a route's requests, and a client that accepts only that workload's certificate.
#[derive(Debug)]
struct Upstream {
    base_url: String,
    client: reqwest::Client,
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
        let listener = baton_workload::bind(config.common.listen).await?;
        let mut upstreams = BTreeMap::new();
        for (workload, authority) in &config.upstreams {
            let client = config
                .transport
                .http_client(*workload)
                .map_err(|err| StartupError::other("HTTP client", err))?;
            let base_url = config.transport.base_url(authority);
            upstreams.insert(*workload, Upstream { base_url, client });
        }
        let sts = upstreams
            .get(&Workload::Sts)
            .ok_or_else(|| StartupError::other("upstreams", MissingUpstream(Workload::Sts)))?;
        let token_url = format!("{}/oauth2/token", sts.base_url);
        // E2E mode: one token for the whole chain, so it names every service.
        let audience: Vec<String> = Workload::SERVICES
            .iter()
            .map(|workload| config.common.trust_domain.id_of(*workload))
            .collect();
        let first_hop = audience.first().cloned().unwrap_or_default();
        let verifier = baton_token::verifier::for_audience(
            sts.client.clone(),
            &sts.base_url,
            &config.common,
            first_hop,
        );
        let exchanger = TokenExchanger::new(
            sts.client.clone(),
            token_url,
            config.client_secret.clone(),
            audience,
            Arc::new(verifier),
        );
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
        let gateway = Arc::new(Gateway {
            config,
            upstreams,
            exchanger,
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
        config.common.announce(self.port());
        let transport = config.transport.clone();
        transport
            .serve_public(self.listener, self.router, shutdown)
            .await
    }
}

/// One axum route per declared route; a path's undeclared methods fall to 405, undeclared paths
/// to 404, both as problem+json.
fn router(gateway: Arc<Gateway>) -> Result<Router, StartupError> {
    let routes = table();
    let mut paths: Vec<&'static str> = routes.iter().map(|route| route.path).collect();
    paths.sort_unstable();
    paths.dedup();
    let mut router = Router::new().route("/health", get(health));
    for path in paths {
        let mut methods: MethodRouter<Arc<Gateway>> = MethodRouter::new();
        for route in routes.iter().filter(|route| route.path == path).cloned() {
            let filter = MethodFilter::try_from(route.method.clone())
                .map_err(|err| StartupError::other("route table", err))?;
            let route = Arc::new(route);
            let handler = move |State(gateway): State<Arc<Gateway>>, request: Request| {
                let route = route.clone();
                async move { handle(&gateway, &route, request).await }
            };
            methods = methods.on(filter, handler);
        }
        router = router.route(path, methods.fallback(problem::method_not_allowed));
    }
    let controls = gateway.config.common.controls.clone();
    Ok(router
        .fallback(problem::not_found)
        .layer(axum::middleware::from_fn_with_state(
            controls,
            announce_lab_mode,
        ))
        .with_state(gateway))
}

/// Authenticates (for protected routes), checks the route's scope and roles, and forwards.
async fn handle(gateway: &Gateway, route: &Route, request: Request) -> Result<Response, Problem> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let controls = &gateway.config.common.controls;
    let internal_token = match route.access {
        Access::Public => None,
        Access::Token { scope, roles } => {
            let token =
                authenticate(&gateway.exchanger, controls, bearer(request.headers())).await?;
            check_route(controls, &token, scope, roles)?;
            Some(token)
        }
    };
    // INVARIANT: `build` refused to start unless every route's upstream is configured.
    let upstream = gateway
        .upstreams
        .get(&route.upstream)
        .ok_or_else(Problem::internal)?;
    let jwt = internal_token.as_ref().map(|token| token.jwt.as_str());
    proxy::forward(
        &upstream.client,
        &upstream.base_url,
        request,
        jwt,
        &request_id,
    )
    .await
}

/// A route names an upstream the configuration does not.
#[derive(Debug, thiserror::Error)]
#[error("no address configured for `{0}`")]
struct MissingUpstream(Workload);

fn bearer(headers: &HeaderMap) -> Option<&str> {
    bearer_token(headers).ok()
}

async fn health(State(gateway): State<Arc<Gateway>>) -> Json<Value> {
    Json(json!({ "status": "ok", "trust_mode": gateway.config.common.trust_mode.to_string() }))
}
