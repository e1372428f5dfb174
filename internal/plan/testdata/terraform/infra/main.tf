terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.40"
    }
  }
}

provider "aws" {
  region = "us-east-1"
}

provider "aws" {
  alias  = "eu"
  region = "eu-west-1"
}

variable "db_password" {
  type      = string
  sensitive = true
}

# Replaced: the key spec cannot change in place.
resource "aws_kms_key" "payments" {
  description              = "payments ledger"
  customer_master_key_spec = "RSA_2048"
  key_usage                = "SIGN_VERIFY"
  deletion_window_in_days  = 30
}

resource "aws_kms_key" "primary" {
  description  = "orders multi-Region primary"
  multi_region = true
}

resource "aws_kms_replica_key" "orders_eu" {
  provider                = aws.eu
  description             = "orders replica (eu)"
  primary_key_arn         = aws_kms_key.primary.arn
  deletion_window_in_days = 7

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_kms_key" "new_key" {
  description = "reports"
}

resource "aws_kms_key" "logs" {
  description = "log archive"
}

resource "aws_kms_alias" "logs" {
  name          = "alias/logs"
  target_key_id = aws_kms_key.logs.key_id
}

resource "aws_db_instance" "main" {
  identifier        = "orders"
  engine            = "postgres"
  instance_class    = "db.t4g.micro"
  allocated_storage = 20
  username          = "orders"
  password          = var.db_password
  kms_key_id        = aws_kms_key.logs.arn
  storage_encrypted = true
}

data "aws_kms_key" "lookup" {
  key_id = "alias/shared"
}

module "kms" {
  source = "./modules/kms"
}
