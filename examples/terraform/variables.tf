variable "function_name" {
  description = "Name of the rotation function to create (its log group is /aws/lambda/<name>)."
  type        = string
}

variable "zip_path" {
  description = "The function's release zip, from a release or scripts/release.sh: target/release-artifacts/<rotator>-<version>-<architecture>.zip."
  type        = string
}

variable "architecture" {
  description = "The zip's architecture: arm64 or x86_64."
  type        = string
  default     = "arm64"
  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64, as the zip was built."
  }
}

variable "secret_arns" {
  description = "ARNs of the secrets the function rotates; it may touch no other."
  type        = list(string)
}

variable "invoke_scope" {
  description = "For which secrets Secrets Manager may invoke the function: \"secrets\", those of secret_arns only (a permission each, the ARN as source_arn); \"account\", any secret of the account (one permission), for more secrets than Lambda's 20 KB resource policy holds (about 40)."
  type        = string
  default     = "secrets"

  validation {
    condition     = contains(["secrets", "account"], var.invoke_scope)
    error_message = "invoke_scope must be secrets or account."
  }
}

variable "master_secret_arn" {
  description = "ARN of the master secret for the alternating-users strategy (read only, and the only master the function accepts); empty for single user only: without it, alternating users is refused."
  type        = string
  default     = ""
}

variable "admin_secret_arn" {
  description = "For api-key-rotator with API_KEY_PROVIDER = http: the secret holding the key provider's admin key (HTTP_ADMIN_SECRET_ARN; read only). Empty: keys rotate themselves (HTTP_AUTH = self) or another provider."
  type        = string
  default     = ""
}

variable "iam_user_names" {
  description = "For api-key-rotator with API_KEY_PROVIDER = iam-access-key: the IAM users whose access keys it rotates (IAM_USERS); the role may manage these users' keys only. Empty for other rotators."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key of the rotated secrets; empty for the AWS-managed key."
  type        = string
  default     = ""
}

variable "master_kms_key_arn" {
  description = "ARN of the customer-managed KMS key of the master secret, when it is another key than kms_key_arn; empty for none."
  type        = string
  default     = ""
}

variable "subnet_ids" {
  description = "Subnets for the function (the database's VPC), with a route to Secrets Manager on 443 (a VPC endpoint or NAT); empty: no VPC."
  type        = list(string)
  default     = []
}

variable "security_group_ids" {
  description = "Security groups for the function; required with subnet_ids. They must allow outbound TCP to the database's port and to Secrets Manager on 443."
  type        = list(string)
  default     = []
}

variable "secrets_manager_endpoint" {
  description = "Secrets Manager endpoint URL (a VPC endpoint without private DNS, or FIPS); empty: the region's default."
  type        = string
  default     = ""
}

variable "settings" {
  description = "Further function settings, by variable name: PASSWORD_LENGTH, EXCLUDE_CHARACTERS, ROTATION_STRATEGY, DB_CONNECT_TIMEOUT, DB_CA_BUNDLE for the database rotators, USERNAME_CHARACTER_LIMIT for mysql-rotator; API_KEY_PROVIDER, IAM_PREVIOUS_KEY, API_KEY_LENGTH... for api-key-rotator (see the README)."
  type        = map(string)
  default     = {}

  # The role's policy follows these; each has a variable of its own.
  validation {
    condition = length(setintersection(toset(keys(var.settings)), toset([
      "MASTER_SECRET_ARNS", "IAM_USERS", "HTTP_AUTH", "HTTP_ADMIN_SECRET_ARN", "SECRETS_MANAGER_ENDPOINT",
    ]))) == 0
    error_message = "settings may not set MASTER_SECRET_ARNS, IAM_USERS, HTTP_AUTH, HTTP_ADMIN_SECRET_ARN or SECRETS_MANAGER_ENDPOINT: use master_secret_arn, iam_user_names, admin_secret_arn and secrets_manager_endpoint."
  }
}

variable "log_level" {
  description = "Application log level: TRACE, DEBUG, INFO, WARN or ERROR."
  type        = string
  default     = "INFO"
}

variable "log_retention_in_days" {
  description = "Days the function's logs are kept."
  type        = number
  default     = 90
}

variable "rotate_immediately" {
  description = "Rotate each secret when it is attached (true), or only test the set-up with testSecret and rotate on the schedule (false)."
  type        = bool
  default     = false
}

variable "schedule_expression" {
  description = "rate(...) or cron(...), at most every 4 hours."
  type        = string
  default     = "rate(30 days)"
}

variable "rotation_window" {
  description = "Window in which a scheduled rotation runs, e.g. 3h."
  type        = string
  default     = "3h"
}

variable "alarm_topic_arn" {
  description = "SNS topic told of failed rotations of these secrets and of the function's errors (its policy must let events.amazonaws.com and cloudwatch.amazonaws.com publish); empty: the alarms exist and notify no one."
  type        = string
  default     = ""
}

variable "layers" {
  description = "ARNs of Lambda layers (with versions) for the function, e.g. one holding a CA bundle that settings' DB_CA_BUNDLE names (a layer's files appear under /opt)."
  type        = list(string)
  default     = []
}
