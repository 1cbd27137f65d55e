//! Which request bodies Flux reads at all (`App::check_head`): decided from the head
//! alone, before a byte of the body is read.
//!
//! Why: a body is up to 25 MiB (a multipart upload). Without this gate anyone, token or
//! not, could make the server buffer that much per connection before it even looked at
//! the `Authorization` header. Now:
//! - a body without a valid token is refused with 401 at once, except on the routes that
//!   take a body from someone who has no token yet (`POST /auth/register`, `/auth/login`)
//!   and the test hooks (only with `Config::test_hooks`);
//! - a body over the JSON limit (`HttpLimits::body_bytes_max`, 1 MiB) is refused with
//!   413 (Discord's code 40005) unless its route takes attachments: creating or editing
//!   a message. Those alone may carry up to `multipart_body_bytes_max`.
//!
//! The handlers still check the token and the body themselves; this only decides earlier,
//! on the same rules, what they would refuse anyway.

use super::FluxApp;
use crate::http::{Request, Response};
use crate::rest::auth::{auth_route, AuthRoute};
use crate::rest::messages::{message_route, MessageRoute};
use crate::rest::Method;
use crate::world::Refusal;

impl FluxApp {
    pub(super) fn check_request_head(
        &self,
        head: &Request,
        body_len: usize,
    ) -> Result<(), Response> {
        let method = Method::parse(&head.method);
        let path = head.path();
        let tokenless = matches!(
            auth_route(method, path),
            Some(Ok(AuthRoute::Register | AuthRoute::Login))
        ) || (self.shared.test_hooks && path.starts_with("/_flux/test/"));
        if !tokenless {
            let token_valid = head
                .header_str("authorization")
                .is_some_and(|token| self.directory.authenticate(token).is_ok());
            if !token_valid {
                let error = Refusal::Unauthorized;
                return Err(Response::json(error.status(), error.body()));
            }
        }
        let takes_attachments = matches!(
            message_route(method, path),
            Some(Ok(MessageRoute::Create(_) | MessageRoute::Edit(..)))
        );
        if body_len > self.json_body_bytes_max && !takes_attachments {
            return Err(crate::http::HttpError::BodyTooLarge.to_response());
        }
        Ok(())
    }
}
