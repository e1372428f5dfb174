package creds

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// LoadBase loads the base aws.Config from the standard AWS chain (environment,
// shared files, web identity file, container and instance roles), so a
// configure-aws-credentials step before this one just works. It honours
// AWS_ENDPOINT_URL and service-specific AWS_ENDPOINT_URL_STS /
// AWS_ENDPOINT_URL_ORGANIZATIONS / AWS_ENDPOINT_URL_KMS (tests point them at
// moto). region may be empty (then AWS_REGION / the profile decides). Nothing
// is called here: credentials are resolved lazily, and with RoleToAssume
// Resolve replaces them without consulting the chain.
func LoadBase(ctx context.Context, region string, optFns ...func(*config.LoadOptions) error) (aws.Config, error) {
	if region != "" {
		optFns = append([]func(*config.LoadOptions) error{config.WithRegion(region)}, optFns...)
	}
	cfg, err := config.LoadDefaultConfig(ctx, optFns...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}
