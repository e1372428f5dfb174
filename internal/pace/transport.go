package pace

import (
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// HTTPClient is the SDK's default HTTP client with room for total calls in
// flight: it keeps up to total idle connections (per host too), where the
// SDK's default of 10 per host would close and reopen connections (a TCP and
// TLS handshake each, more round trips than the call) as soon as more than
// ten calls to one Region overlap.
func HTTPClient(total int) *awshttp.BuildableClient {
	if total <= 0 {
		total = DefaultTotal
	}
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns = total
		tr.MaxIdleConnsPerHost = total
	})
}
