# Attaches an already deployed rotation function to secrets: the IAM policy
# its role needs (the same statements as template.yaml's
# RotationFunctionRole; a test keeps the two in step), the permission for
# Secrets Manager to invoke it, and a rotation schedule per secret.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

data "aws_lambda_function" "rotator" {
  function_name = var.function_name
}

data "aws_iam_policy_document" "rotate" {
  statement {
    sid = "RotateTheNamedSecrets"
    actions = [
      "secretsmanager:DescribeSecret",
      "secretsmanager:GetSecretValue",
      "secretsmanager:PutSecretValue",
      "secretsmanager:UpdateSecretVersionStage",
    ]
    resources = var.secret_arns
  }

  dynamic "statement" {
    for_each = var.master_secret_arn == "" ? [] : [var.master_secret_arn]
    content {
      sid       = "ReadTheMasterSecret"
      actions   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  # An RDS-managed master secret holds no address: the function asks RDS
  # where its instance or cluster is (these actions take no resource scope).
  dynamic "statement" {
    for_each = var.master_secret_arn == "" ? [] : [var.master_secret_arn]
    content {
      sid       = "LocateRdsManagedMasters"
      actions   = ["rds:DescribeDBClusters", "rds:DescribeDBInstances"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = var.master_kms_key_arn == "" ? [] : [var.master_kms_key_arn]
    content {
      sid       = "UseTheMasterSecretsKey"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == "" ? [] : [var.kms_key_arn]
    content {
      sid       = "UseTheSecretsKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }
}

# Not the SAM template's policy name (<stack>-rotate-secrets): an inline
# policy of the same name on the same role would replace it, and with it
# the function's log and VPC permissions. scripts/check_iam_sync.py fails
# if the names could collide.
resource "aws_iam_role_policy" "rotate" {
  name   = "rotate-secrets-attached-by-terraform"
  role   = var.function_role_name
  policy = data.aws_iam_policy_document.rotate.json
}

resource "aws_lambda_permission" "secrets_manager" {
  statement_id   = "AllowSecretsManagerInvoke"
  action         = "lambda:InvokeFunction"
  function_name  = data.aws_lambda_function.rotator.function_name
  principal      = "secretsmanager.amazonaws.com"
  source_account = data.aws_caller_identity.current.account_id
}

resource "aws_secretsmanager_secret_rotation" "this" {
  for_each            = toset(var.secret_arns)
  secret_id           = each.value
  rotation_lambda_arn = data.aws_lambda_function.rotator.arn

  rotation_rules {
    schedule_expression = var.schedule_expression
    duration            = var.rotation_window
  }

  depends_on = [aws_lambda_permission.secrets_manager, aws_iam_role_policy.rotate]
}
