//! An application that keeps working while its database secret rotates.
//!
//! [`app`] is the application: workers that open a PostgreSQL connection,
//! run a query and close it, in a loop, with the login from one of three
//! [`app::Credentials`]: `secret-cache`'s rotation-aware
//! [`with_current`](secret_cache::SecretCache::with_current), the same
//! cache used as a plain time-to-live cache (as AWS Lambda Powertools and
//! AWS's caching clients are), or a Secrets Manager read per connection.
//! [`comparison`] runs the three side by side against moto and a real
//! PostgreSQL while the PostgreSQL rotator rotates the secret, and counts
//! failed connections, outages and Secrets Manager calls: the test in
//! `tests/` holds the cache to its targets, and the benchmark report
//! prints the table. [`languages`] does the same for an application in
//! another language: a Python client reading through the secrets agent,
//! beside the same client reading through an agent that behaves as AWS's.

#![warn(missing_docs)]

pub mod app;
pub mod comparison;
pub mod languages;
