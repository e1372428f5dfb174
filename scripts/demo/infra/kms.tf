# Demo infrastructure: the orders database references its key by alias, so the
# SARIF result and the annotation for that key point at this line.
resource "aws_db_instance" "orders" {
  identifier = "orders"
  engine     = "postgres"
  kms_key_id = "alias/orders-db-us-east-1"
}
