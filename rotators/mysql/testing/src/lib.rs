//! The MySQL rotator's test services, beside the rotator: throwaway
//! MariaDB servers on free ports ([`MariaDbServer`]) and the harness the
//! conformance kit, the end-to-end suite and the function checks of
//! `rotation-testing` run it with ([`MysqlRotatorHarness`]). Its tests and
//! the benchmark use them; nothing here is shipped.

#![warn(missing_docs)]

pub mod harness;
pub mod server;

pub use harness::MysqlRotatorHarness;
pub use server::MariaDbServer;
