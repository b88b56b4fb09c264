//! The Terraform example's free-form `settings` cannot override the
//! settings the role's policy follows: the allow-list of master secrets,
//! the IAM users, the HTTP provider's admin, the Secrets Manager endpoint.
//! A merge where `settings` came last let a caller of the module replace
//! them silently. (Terraform is not installed for the tests; these read the
//! module's files.)

use rotation_testing::workspace_root;

/// The settings that have variables of their own.
const GUARDED: [&str; 5] = [
    "MASTER_SECRET_ARNS",
    "IAM_USERS",
    "HTTP_AUTH",
    "HTTP_ADMIN_SECRET_ARN",
    "SECRETS_MANAGER_ENDPOINT",
];

fn read(file: &str) -> String {
    std::fs::read_to_string(workspace_root().join("examples/terraform").join(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn settings_come_first_in_the_environment_so_the_guarded_ones_win() {
    let main = read("main.tf");
    let merge = main
        .split("variables = merge(")
        .nth(1)
        .expect("the function's environment is a merge");
    let first = merge
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap();
    assert_eq!(first, "var.settings,", "in merge(), later maps win");
}

#[test]
fn settings_may_not_name_a_guarded_setting() {
    let variables = read("variables.tf");
    let settings = variables
        .split("variable \"settings\"")
        .nth(1)
        .and_then(|rest| rest.split("\nvariable ").next())
        .expect("a settings variable");
    assert!(settings.contains("validation {"), "{settings}");
    for name in GUARDED {
        assert!(
            settings.matches(name).count() >= 2,
            "{name} is in the condition and in the message: {settings}"
        );
    }
}
