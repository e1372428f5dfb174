package creds

import (
	"context"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/config"
)

// listAccountsPageSize is the largest page ListAccounts allows.
const listAccountsPageSize = 20

func newOrganizationsClient(cfg aws.Config) organizations.ListAccountsAPIClient {
	return organizations.NewFromConfig(cfg)
}

// listActiveAccounts returns the IDs of the organization's ACTIVE accounts,
// sorted, following every page.
func listActiveAccounts(ctx context.Context, api organizations.ListAccountsAPIClient) ([]string, error) {
	p := organizations.NewListAccountsPaginator(api, &organizations.ListAccountsInput{MaxResults: aws.Int32(listAccountsPageSize)})
	var ids []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range page.Accounts {
			if isActive(a) && config.IsAccountID(aws.ToString(a.Id)) {
				ids = append(ids, aws.ToString(a.Id))
			}
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// isActive prefers State, which replaces Status (retired September 2026).
func isActive(a types.Account) bool {
	if a.State != "" {
		return a.State == types.AccountStateActive
	}
	return a.Status == types.AccountStatusActive
}
