//! The PostgreSQL rotator's test services, beside the rotator: throwaway
//! PostgreSQL clusters on free ports ([`PostgresServer`]) and the harness
//! the conformance kit, the end-to-end suite and the function checks of
//! `rotation-testing` run it with ([`PostgresRotatorHarness`]). Its tests
//! and the benchmark use them; nothing here is shipped.

#![warn(missing_docs)]

pub mod harness;
pub mod server;

pub use harness::PostgresRotatorHarness;
pub use server::PostgresServer;
