//! The built `rotate` binary, end to end: on the embedded store, on moto's
//! Secrets Manager, `trigger` against moto with a stand-in for the
//! functions the service invokes, and output whose reader goes away.

mod closed_pipe;
mod embedded;
mod quick_start;
mod secrets_manager;
mod support;
mod trigger;
