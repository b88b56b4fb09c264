//! The MySQL rotator's tests, as one binary: against real throwaway
//! MariaDB servers, moto as Secrets Manager, and the Lambda binary run
//! through a Lambda Runtime API. The services come from the shared test
//! support crate (`rotation-testing`).

mod backend_faults;
mod conformance;
mod function;
mod rotator;
mod trust_boundary;
