//! The PostgreSQL rotator's tests, as one binary: against real throwaway
//! PostgreSQL clusters, moto as Secrets Manager (and RDS), and the Lambda
//! binary run through a Lambda Runtime API. The services come from the
//! shared test support crate (`rotation-testing`).

mod backend_faults;
mod clone_sync;
mod conformance;
mod connections;
mod function;
mod rotator;
mod settings;
mod test_cluster;
mod trust_boundary;
