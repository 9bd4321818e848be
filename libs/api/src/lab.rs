//! Lab mode, loud on the wire: the `Baton-Lab-Mode` header on every answer while it is on.
//!
//! Every component mounts [`announce_lab_mode`] around its whole router, fallback included, so a
//! 404 carries the header as much as a success does. The controls themselves, and the rules of
//! lab mode, are in `baton_platform::controls`.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use baton_platform::Controls;
use http::HeaderValue;

/// Axum middleware that stamps the lab-mode header on every answer while lab mode is on.
///
/// Attach with `axum::middleware::from_fn_with_state(controls, lab::announce_lab_mode)`.
pub async fn announce_lab_mode(
    State(controls): State<Controls>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if controls.is_lab_mode()
        && let Ok(value) = HeaderValue::from_str(&controls.header_value())
    {
        response.headers_mut().insert(Controls::HEADER, value);
    }
    response
}
