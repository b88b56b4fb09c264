//! The checks every built function runs (`rotation_testing::function_checks`)
//! for `api-key-rotator`, once per provider.

use api_key_rotator::iam::PreviousKey;
use api_key_rotator_testing::{GeneratedHarness, HttpHarness, IamHarness};
use rotation_testing::moto::MotoServer;

/// The checks every built function runs, for each provider, but the
/// silent backend's: IAM's and the key provider's addresses are settings,
/// not fields of the secret (the `a_silent_..._before_the_deadline` tests
/// above cover them), and generated keys have no backend.
mod iam_function_checks {
    use super::*;
    rotation_testing::function_check_tests! { backend_address_in_settings harness =>
        let moto = MotoServer::shared();
        let harness = IamHarness::new(moto, PreviousKey::KeptUntilNextRotation);
    }
}

mod http_function_checks {
    use super::*;
    rotation_testing::function_check_tests! { backend_address_in_settings harness =>
        let harness = HttpHarness::admin(true).await;
    }
}

mod generated_function_checks {
    use super::*;
    rotation_testing::function_check_tests! { backend_address_in_settings harness =>
        let harness = GeneratedHarness;
    }
}
