"""Checks that the Terraform example grants what template.yaml grants.

Reads RotationFunctionRole's policy from template.yaml (through cfn-lint's
decoder, which understands the intrinsic functions) and the
`aws_iam_policy_document "rotate"` of examples/terraform/main.tf (through
python-hcl2), and compares them statement by statement (by Sid): the same
actions, on the resource from the matching parameter/variable, conditional
in both or in neither, with the same condition keys. Statements about the
function's own logs and VPC exist only in the SAM template, which creates
the function. Prints each difference and exits 1 if there is any.

    .venv/bin/python scripts/check_iam_sync.py
"""

import sys
from pathlib import Path

import hcl2
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parent.parent
# Statements for the function itself, which the Terraform example does not
# create.
SAM_ONLY = {"WriteOwnLogs", "AttachToTheVpc"}
# SAM parameter -> Terraform variable naming the same resource.
RESOURCES = {
    "RotatedSecretArns": "secret_arns",
    "MasterSecretArn": "master_secret_arn",
    "KmsKeyArn": "kms_key_arn",
}


def unquote(value):
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def as_list(value):
    return value if isinstance(value, list) else [value]


def sam_statements():
    template, matches = decode(str(ROOT / "template.yaml"))
    if matches:
        sys.exit(f"template.yaml does not parse: {matches}")
    role = template["Resources"]["RotationFunctionRole"]["Properties"]
    statements = {}
    for policy in role["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            conditional = False
            if isinstance(statement, dict) and "Fn::If" in statement:
                _, statement, _ = statement["Fn::If"]
                conditional = True
            resource = statement["Resource"]
            parameter = resource.get("Ref") if isinstance(resource, dict) else None
            statements[statement["Sid"]] = {
                "actions": sorted(as_list(statement["Action"])),
                # A parameter's resource by its Terraform variable; a
                # literal ("*") as written.
                "resource": RESOURCES.get(parameter, parameter) if parameter else resource,
                "conditional": conditional,
                "condition_keys": sorted(
                    key
                    for test in statement.get("Condition", {}).values()
                    for key in test
                ),
            }
    return statements


def terraform_statements():
    with open(ROOT / "examples/terraform/main.tf") as f:
        main = hcl2.load(f)
    document = None
    for block in main["data"]:
        for kind, named in block.items():
            if unquote(kind) == "aws_iam_policy_document":
                document = named.get('"rotate"') or named.get("rotate")
    if document is None:
        sys.exit('main.tf has no data "aws_iam_policy_document" "rotate"')

    def describe(statement, conditional, variable):
        return {
            "actions": sorted(unquote(a) for a in statement["actions"]),
            "resource": variable,
            "conditional": conditional,
            "condition_keys": sorted(
                unquote(c["variable"]) for c in statement.get("condition", [])
            ),
        }

    statements = {}
    for statement in document.get("statement", []):
        # resources = var.NAME
        variable = statement["resources"].removeprefix("${var.").removesuffix("}")
        statements[unquote(statement["sid"])] = describe(statement, False, variable)
    for dynamic in document.get("dynamic", []):
        for body in dynamic.values():
            # for_each = var.NAME == "" ? [] : [var.NAME]
            variable = body["for_each"].split("var.")[1].split()[0]
            for statement in body["content"]:
                # resources = [statement.value] is the variable; anything
                # else is a literal.
                literal = [unquote(r) for r in as_list(statement["resources"])]
                resource = variable if any("statement.value" in r for r in literal) else ",".join(literal)
                statements[unquote(statement["sid"])] = describe(statement, True, resource)
    return statements


def main():
    sam = sam_statements()
    terraform = terraform_statements()
    problems = []
    for sid in sorted(set(sam) - SAM_ONLY | set(terraform)):
        if sid not in terraform:
            problems.append(f"{sid}: in template.yaml, missing from main.tf")
        elif sid not in sam:
            problems.append(f"{sid}: in main.tf, missing from template.yaml")
        elif sam[sid] != terraform[sid]:
            problems.append(f"{sid}: template.yaml {sam[sid]} != main.tf {terraform[sid]}")
    for problem in problems:
        print(problem)
    if problems:
        sys.exit(1)
    print(f"{len(terraform)} statements in step: {', '.join(sorted(terraform))}")


if __name__ == "__main__":
    main()
