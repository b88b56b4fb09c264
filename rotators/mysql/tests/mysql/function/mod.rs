//! The function tier: the rotator's Lambda binary, as cargo builds it for
//! these tests (or the shipped artifact under `ROTATION_LAMBDA_DIR`), run
//! through a Lambda Runtime API. Plain `cargo test` lists these as
//! ignored; `cargo test --tests -- --include-ignored function::` runs them.

mod checks;
mod lambda;
