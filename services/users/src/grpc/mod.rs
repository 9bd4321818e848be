//! The `Users` gRPC service: how the orders service reads the buyer.
//!
//! A gRPC call carries the same internal token as a REST call, in the `authorization` metadata
//! entry; it is verified here, and the same ownership rule as REST applies, so a service that
//! calls us cannot read a profile its user could not. Errors are fixed messages.

use baton_proto::users::v1::users_server::Users;
use baton_proto::users::v1::{GetUserRequest, User};
use baton_token::claims::scope;
use baton_token::grpc::authenticate;
use tonic::{Request, Response, Status};

use crate::app::AppState;
use crate::domain::{self, LookupError, UserId};

/// The gRPC face of the users service.
#[derive(Debug, Clone)]
pub struct UsersService {
    state: AppState,
}

impl UsersService {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl Users for UsersService {
    async fn get_user(&self, request: Request<GetUserRequest>) -> Result<Response<User>, Status> {
        let principal = authenticate(&self.state.verifier, &request).await?;
        if !principal.has_scope(scope::USERS_READ) {
            return Err(Status::permission_denied(
                "the token lacks the scope this call needs",
            ));
        }
        let id = UserId::parse(&request.get_ref().user_id).ok_or_else(no_such_user)?;
        let visible = domain::profile(&self.state.db, &principal, &self.state.guard, id)
            .await
            .map_err(|err| match err {
                LookupError::NotFound | LookupError::Forbidden => no_such_user(),
                LookupError::Storage(err) => {
                    tracing::error!(error = %err, "storage failed");
                    Status::internal("internal error")
                }
            })?;
        // The reply carries no contact details at all: orders needs a name, nothing more.
        let user = visible.user;
        Ok(Response::new(User {
            id: user.id.to_string(),
            username: user.username,
            display_name: user.display_name,
        }))
    }
}

fn no_such_user() -> Status {
    Status::not_found("no such user")
}
