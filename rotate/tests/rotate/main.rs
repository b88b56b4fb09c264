//! The built `rotate` binary, end to end: on the embedded store, on moto's
//! Secrets Manager, and `trigger` against moto with a stand-in for the
//! functions the service invokes.

mod embedded;
mod secrets_manager;
mod support;
mod trigger;
