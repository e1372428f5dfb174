package scan

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// refusing answers every ListKeys with an error naming its target.
type refusing struct {
	KMSAPI
	name string
}

func (r refusing) ListKeys(context.Context, *kms.ListKeysInput, ...func(*kms.Options)) (*kms.ListKeysOutput, error) {
	return nil, errors.New("refused " + r.name)
}

// Targets that arrive by account out of order come back by account, each
// account's in the order they arrived, however many issuers read them.
func TestScanStreamOrdersByAccountThenArrival(t *testing.T) {
	t.Parallel()
	for _, concurrency := range []int{1, 1024} {
		in := make(chan Target)
		go func() {
			defer close(in)
			for _, acct := range []string{"333", "111", "222"} {
				for _, region := range []string{"z-2", "a-1", "m-3"} {
					in <- Target{Account: acct, Region: region, Client: refusing{name: acct + "/" + region}}
				}
			}
		}()
		out := ScanStream(context.Background(), in, Options{Concurrency: concurrency, CallTimeout: 5 * time.Second})
		var got []string
		for _, e := range out.Errors {
			if !strings.Contains(e.Message, "refused "+e.Account+"/"+e.Region) {
				t.Errorf("error %+v is not its target's", e)
			}
			got = append(got, e.Account+"/"+e.Region)
		}
		want := "[111/z-2 111/a-1 111/m-3 222/z-2 222/a-1 222/m-3 333/z-2 333/a-1 333/m-3]"
		if fmt.Sprint(got) != want || len(out.Scanned) != 0 {
			t.Errorf("concurrency %d: errors %v, want %s; scanned %v", concurrency, got, want, out.Scanned)
		}
	}
}
