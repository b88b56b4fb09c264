//! The release tier, as one binary that `cargo test` leaves out
//! (`test = false`): what ships, checked after `scripts/release-check.sh`
//! has built it. The deployment files and the artifacts (both
//! architectures, checksums, linked libraries, the SAM template and the
//! Terraform example), and one rotation per rotator through the shipped
//! x86_64 bootstrap, so the binary users deploy is the one exercised.
//!
//! `scripts/release-check.sh` runs it; by hand, after that script's build:
//! `ROTATION_LAMBDA_DIR=target/lambda/x86_64 cargo test --workspace --test release`.

mod deployment;
mod shipped;
