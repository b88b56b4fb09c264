//! Secrets Manager may invoke a deployed function for its own secrets
//! only (issue 24, item 5), read from the deployment files as the fast
//! tier can (no CloudFormation or Terraform tools here): every invoke
//! permission of the template names a `SourceArn`, and the Terraform
//! example grants one permission per secret. The release tier's
//! `scripts/check_deployment.py` renders the template's conditions for
//! each case.

use rotation_testing::workspace_root;

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The resources of `template.yaml` of one type, each as its lines.
fn resources_of_type(template: &str, kind: &str) -> Vec<(String, String)> {
    let resources = template
        .split("\nResources:\n")
        .nth(1)
        .expect("a Resources section");
    let mut found = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in resources.lines() {
        if line.starts_with("  ") && !line.starts_with("   ") && line.trim_end().ends_with(':') {
            found.extend(current.take());
            current = Some((line.trim().trim_end_matches(':').to_owned(), String::new()));
        } else if !line.starts_with(' ') && !line.is_empty() {
            break;
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    found.extend(current);
    found
        .into_iter()
        .filter(|(_, body)| body.contains(&format!("Type: {kind}\n")))
        .collect()
}

#[test]
fn every_invoke_permission_of_the_template_names_its_secrets() {
    let permissions = resources_of_type(&read("template.yaml"), "AWS::Lambda::Permission");
    assert_eq!(permissions.len(), 3, "one per function: {permissions:?}");
    for (name, body) in permissions {
        assert!(
            body.contains("SourceAccount: !Ref AWS::AccountId"),
            "{name}"
        );
        assert!(
            body.contains("SourceArn: !If"),
            "{name} has no SourceArn:\n{body}"
        );
        assert!(body.contains("!Ref InvokeSourceArn"), "{name}:\n{body}");
    }
}

#[test]
fn terraform_grants_one_permission_per_secret() {
    let main = read("examples/terraform/main.tf");
    let scoped = main
        .split("resource \"aws_lambda_permission\" \"secrets_manager\" {")
        .nth(1)
        .and_then(|rest| rest.split("\n}\n").next())
        .expect("the per-secret permission");
    assert!(
        scoped.contains(
            "count          = var.invoke_scope == \"secrets\" ? length(var.secret_arns) : 0"
        ),
        "{scoped}"
    );
    assert!(
        scoped.contains("source_arn     = var.secret_arns[count.index]"),
        "{scoped}"
    );
    // The account-wide one exists only when asked for.
    let account = main
        .split("resource \"aws_lambda_permission\" \"secrets_manager_account\" {")
        .nth(1)
        .expect("the opt-out");
    assert!(account.contains("count          = var.invoke_scope == \"account\" ? 1 : 0"));
    assert_eq!(
        main.matches("resource \"aws_lambda_permission\"").count(),
        2
    );
}
