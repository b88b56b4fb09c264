//! What every database rotator's tests share: [`FaultyBackend`], which
//! fails one backend call at a time for an engine's fault matrix, and the
//! tables of malformed secrets and settings each engine's function must
//! refuse ([`malformed_secrets`], [`invalid_settings`]).

mod cases;
mod faulty;

pub use cases::{invalid_settings, malformed_secrets};
pub use faulty::{BackendFault, FaultSwitch, FaultyBackend};
