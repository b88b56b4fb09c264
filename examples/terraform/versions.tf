terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.27" # logging_config on aws_lambda_function
    }
  }
}
