# The few targets a newcomer needs; each is a one-liner over scripts/.
.PHONY: demo test lint bench bench-scale build

build: ## Build the binary ./kms-deletion-gate
	go build -o kms-deletion-gate .

demo: ## Scan a local moto_server seeded with keys in every state
	bash scripts/demo.sh

test: ## Everything CI runs (.ci/run)
	bash scripts/test.sh

lint: ## gofmt, go vet, golangci-lint, action/workflow/Dockerfile validators
	bash scripts/lint.sh

bench: ## Benchmark against the AWS CLI procedure and the lower bound
	bash scripts/bench.sh

bench-scale: ## Organization scale against the quotas: kdg vs boto3 and the AWS CLI, and the lower bound
	bash scripts/bench-scale.sh
