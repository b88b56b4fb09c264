variable "function_name" {
  description = "Name of the deployed rotation function (e.g. postgres-rotator, deployed with `cargo lambda deploy` or SAM)."
  type        = string
}

variable "function_role_name" {
  description = "Name of the function's execution role; this example attaches the rotation policy to it."
  type        = string
}

variable "secret_arns" {
  description = "ARNs of the secrets the function rotates."
  type        = list(string)
}

variable "master_secret_arn" {
  description = "ARN of the master secret for the alternating-users strategy (read only); empty for single user."
  type        = string
  default     = ""
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key of the secrets; empty for the AWS-managed key."
  type        = string
  default     = ""
}

variable "master_kms_key_arn" {
  description = "ARN of the customer-managed KMS key of the master secret, when it is another key than kms_key_arn; empty for none."
  type        = string
  default     = ""
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
