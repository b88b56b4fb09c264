//! What every database rotator's tests share: [`FaultyBackend`], which
//! fails one backend call at a time, and the fault matrix run with it
//! ([`fail_every_database_call`], [`a_database_that_hangs_mid_step_fails_it_in_time`]);
//! and the tables of malformed secrets and settings each engine's function must
//! refuse ([`malformed_secrets`], [`invalid_settings`]); and the attacks on
//! the alternating-users strategy every engine must refuse ([`attacks`]);
//! and [`SwapsTheUsers`], a broken engine every engine's kit must fail;
//! and [`assert_database_kit`], what every engine's kit run must show.

#[cfg(feature = "rds-api")]
pub mod attacks;
mod cases;
mod fault_matrix;
mod faulty;
mod kit_report;
mod swapped;

pub use cases::{invalid_settings, malformed_secrets};
pub use fault_matrix::{a_database_that_hangs_mid_step_fails_it_in_time, fail_every_database_call};
pub use faulty::{BackendFault, FaultSwitch, FaultyBackend};
pub use kit_report::assert_database_kit;
pub use swapped::{SwappedHarness, SwapsTheUsers};
