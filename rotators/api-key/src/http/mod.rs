//! Keys a provider issues over HTTP, described by the function's settings:
//! where the provider is, how to issue, list, verify and revoke a key. The
//! rotated secret holds the key and its id, and may fill fields into the
//! requests' paths and bodies.
//!
//! - createSecret revokes the key two generations older than the one it is
//!   about to issue (AWSPREVIOUS's; its grace window ends as this rotation
//!   starts), issues a key with an `Idempotency-Key` derived from the
//!   token and tagged with the secret and the token, then revokes any other
//!   key carrying that tag: a provider that honours the idempotency key
//!   answers a retried createSecret with the same key, one that does not
//!   leaves a second key, which this clears.
//! - setSecret has nothing to do; testSecret makes the verify request with
//!   the new key.
//! - After finishSecret, with `HTTP_REVOKE_AT=finish`, the replaced key is
//!   revoked at once.
//!
//! Trust boundary: requests go to `HTTP_BASE_URL` only; fields of the
//! secret fill in encoded path segments and JSON strings, never the host.
//! The admin credential comes from `HTTP_ADMIN_SECRET_ARN`, a setting (a
//! secret's `adminarn`, if present, must name the same secret). A key the
//! admin revokes must be listed by the provider with this secret's tag, so
//! an edited `key_id` cannot aim the admin at another secret's key.

mod client;
mod requests;
mod rotator;
mod settings;
pub mod template;

pub use client::BaseUrl;
use client::ProviderClient;
use template::{AuthHeader, Body, RequestLine};

/// The provider's name in `API_KEY_PROVIDER` and a secret's `engine`.
pub const ENGINE: &str = "http";

/// What authenticates the issue, list and revoke requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// An admin key from another secret (its ARN and the field).
    Admin {
        /// The admin secret's ARN (`HTTP_ADMIN_SECRET_ARN`).
        secret_arn: String,
        /// The field holding the admin key (`HTTP_ADMIN_KEY_FIELD`).
        field: String,
    },
    /// The current key itself: it issues its successor and revokes its
    /// predecessor.
    CurrentKey,
}

/// When a replaced key is revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeAt {
    /// At the next rotation's createSecret: consumers have a rotation
    /// interval to move over (the default).
    NextRotation,
    /// As soon as finishSecret has moved AWSCURRENT.
    Finish,
}

/// How to find keys by tag (`HTTP_LIST`).
#[derive(Debug, Clone)]
struct Listing {
    line: RequestLine,
    items: String,
    id: String,
    tag: String,
}

/// The HTTP provider.
#[derive(Debug)]
pub struct HttpKeys {
    client: ProviderClient,
    auth: Auth,
    auth_header: AuthHeader,
    key_field: String,
    id_field: String,
    issue: RequestLine,
    issue_body: Option<Body>,
    issue_key: String,
    issue_id: String,
    list: Option<Listing>,
    verify: RequestLine,
    revoke: RequestLine,
    revoke_at: RevokeAt,
    /// (JSON pointer in the verify answer, field of the secret) pairs that
    /// must agree before the admin acts for the secret.
    binds: Vec<(String, String)>,
}
