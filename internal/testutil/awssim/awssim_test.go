package awssim

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// smallWorld has the base account (keys in us-east-1) and members
// 200000000001 (n keys in eu-west-1) and 200000000002 (one key in eu-west-1).
func smallWorld(n int) *World {
	w := &World{Base: BaseAccount, Regions: []string{"eu-west-1", "us-east-1"}, Accounts: map[string]*Account{}, Now: now}
	g := &generator{w: w, rng: rand.New(rand.NewPCG(1, 2))}
	for _, id := range []string{BaseAccount, "200000000001", "200000000002"} {
		w.Accounts[id] = &Account{ID: id, Regions: map[string]*Region{}}
		if id != BaseAccount {
			w.Members = append(w.Members, id)
		}
	}
	for range 3 {
		g.addKey(w.Accounts[BaseAccount], "us-east-1")
	}
	for range n {
		g.addKey(w.Accounts["200000000001"], "eu-west-1")
	}
	g.addKey(w.Accounts["200000000002"], "eu-west-1")
	g.pend(&w.Accounts["200000000002"].Regions["eu-west-1"].Keys[0])
	for _, a := range w.Accounts {
		for _, r := range a.Regions {
			r.index()
		}
	}
	return w
}

func start(t *testing.T, w *World, opts Options) (*Server, string) {
	t.Helper()
	if opts.RTT == nil {
		opts.RTT = func(string) time.Duration { return 0 }
	}
	s := New(w, opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL
}

func baseConfig(url, region string) aws.Config {
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIABASEBENCH0000001", "secret", ""),
		HTTPClient:   &http.Client{Timeout: 10 * time.Second},
	}
}

func member(base aws.Config, account, region string) aws.Config {
	cfg := base.Copy()
	cfg.Region = region
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), "arn:aws:iam::"+account+":role/audit"))
	return cfg
}

func TestPagingThroughTheSDK(t *testing.T) {
	w := smallWorld(2345)
	_, url := start(t, w, Options{})
	ctx := context.Background()
	client := kms.NewFromConfig(member(baseConfig(url, "us-east-1"), "200000000001", "eu-west-1"))

	var ids []string
	pages := 0
	p := kms.NewListKeysPaginator(client, &kms.ListKeysInput{Limit: aws.Int32(1000)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, k := range out.Keys {
			ids = append(ids, aws.ToString(k.KeyId))
			if !strings.HasSuffix(aws.ToString(k.KeyArn), ":200000000001:key/"+aws.ToString(k.KeyId)) {
				t.Fatalf("ARN %s", aws.ToString(k.KeyArn))
			}
		}
	}
	if pages != 3 || len(ids) != 2345 {
		t.Fatalf("ListKeys: %d pages, %d keys; want 3 pages of up to 1,000, 2345 keys", pages, len(ids))
	}
	reg := w.Accounts["200000000001"].Regions["eu-west-1"]
	for i, id := range ids {
		if id != reg.Keys[i].ID {
			t.Fatalf("key %d: %s, want %s", i, id, reg.Keys[i].ID)
		}
	}
	if _, err := client.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(1001)}); !isCode(err, "ValidationException") {
		t.Fatalf("Limit 1001: %v", err)
	}

	aliases := 0
	pages = 0
	pa := kms.NewListAliasesPaginator(client, &kms.ListAliasesInput{Limit: aws.Int32(100)})
	for pa.HasMorePages() {
		out, err := pa.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Aliases) > 100 {
			t.Fatalf("page of %d aliases", len(out.Aliases))
		}
		pages++
		aliases += len(out.Aliases)
	}
	if aliases != len(reg.Aliases) || pages != (len(reg.Aliases)+99)/100 {
		t.Fatalf("ListAliases: %d aliases in %d pages, want %d", aliases, pages, len(reg.Aliases))
	}

	// One key's aliases, and its metadata by alias name.
	var withAlias Alias
	for _, a := range reg.Aliases {
		if a.TargetKeyID != "" {
			withAlias = a
			break
		}
	}
	byKey, err := client.ListAliases(ctx, &kms.ListAliasesInput{KeyId: aws.String(withAlias.TargetKeyID)})
	if err != nil || len(byKey.Aliases) != 1 || aws.ToString(byKey.Aliases[0].AliasName) != withAlias.Name {
		t.Fatalf("ListAliases by KeyId: %+v, %v", byKey, err)
	}
	d, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(withAlias.Name)})
	if err != nil || aws.ToString(d.KeyMetadata.KeyId) != withAlias.TargetKeyID || d.KeyMetadata.KeyManager != kmstypes.KeyManagerTypeCustomer {
		t.Fatalf("DescribeKey by alias: %+v, %v", d, err)
	}
}

func TestPendingKeyThroughTheSDK(t *testing.T) {
	w := smallWorld(1)
	_, url := start(t, w, Options{})
	ctx := context.Background()
	cfg := member(baseConfig(url, "us-east-1"), "200000000002", "eu-west-1")
	k := w.Accounts["200000000002"].Regions["eu-west-1"].Keys[0]
	d, err := kms.NewFromConfig(cfg).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(k.ID)})
	if err != nil {
		t.Fatal(err)
	}
	md := d.KeyMetadata
	if md.KeyState != kmstypes.KeyStatePendingDeletion || !aws.ToTime(md.DeletionDate).Equal(k.DeletionDate.Truncate(time.Second)) || aws.ToString(md.AWSAccountId) != "200000000002" {
		t.Fatalf("metadata %+v", md)
	}
	u, err := kms.NewFromConfig(cfg).GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: md.Arn})
	if err != nil || aws.ToString(u.KeyId) != k.ID || u.TrackingStartDate == nil {
		t.Fatalf("GetKeyLastUsage: %+v, %v", u, err)
	}
	ct := cloudtrail.NewFromConfig(cfg)
	out, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyResourceName, AttributeValue: md.Arn}},
		StartTime:        aws.Time(now.AddDate(0, 0, -60)), EndTime: aws.Time(now),
	})
	if err != nil || len(out.Events) != 1 || aws.ToString(out.Events[0].EventName) != "ScheduleKeyDeletion" ||
		!strings.Contains(aws.ToString(out.Events[0].CloudTrailEvent), aws.ToString(md.Arn)) {
		t.Fatalf("LookupEvents: %+v, %v", out, err)
	}
	// Outside the time range: nothing.
	out, err = ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyResourceName, AttributeValue: md.Arn}},
		StartTime:        aws.Time(now.Add(time.Minute)), EndTime: aws.Time(now.Add(time.Hour)),
	})
	if err != nil || len(out.Events) != 0 {
		t.Fatalf("LookupEvents after the event: %+v, %v", out, err)
	}
}

func TestAccountIsolation(t *testing.T) {
	w := smallWorld(5)
	s, url := start(t, w, Options{})
	ctx := context.Background()
	base := baseConfig(url, "us-east-1")
	a, b := member(base, "200000000001", "eu-west-1"), member(base, "200000000002", "eu-west-1")

	id, err := sts.NewFromConfig(a).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != "200000000001" || !strings.Contains(aws.ToString(id.Arn), ":assumed-role/audit/") {
		t.Fatalf("GetCallerIdentity as the member: %+v, %v", id, err)
	}
	id, err = sts.NewFromConfig(base).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != BaseAccount {
		t.Fatalf("GetCallerIdentity as the base: %+v, %v", id, err)
	}
	ka, err := kms.NewFromConfig(a).ListKeys(ctx, &kms.ListKeysInput{})
	if err != nil || len(ka.Keys) != 5 {
		t.Fatalf("account A lists %v keys, %v", ka, err)
	}
	// B cannot see A's key, by id or by ARN.
	for _, ref := range []*string{ka.Keys[0].KeyId, ka.Keys[0].KeyArn} {
		if _, err := kms.NewFromConfig(b).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: ref}); !isCode(err, "NotFoundException") {
			t.Fatalf("account B describes A's key %s: %v", aws.ToString(ref), err)
		}
	}
	// The base account has no keys in eu-west-1, three in us-east-1.
	if out, err := kms.NewFromConfig(base).ListKeys(ctx, &kms.ListKeysInput{}); err != nil || len(out.Keys) != 3 {
		t.Fatalf("base us-east-1: %+v, %v", out, err)
	}
	// A role in an account the world does not have is denied.
	bad := member(base, "999999999999", "eu-west-1")
	if _, err := kms.NewFromConfig(bad).ListKeys(ctx, &kms.ListKeysInput{}); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("unknown account: %v", err)
	}
	regions, err := ec2.NewFromConfig(a).DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil || len(regions.Regions) != 2 || aws.ToString(regions.Regions[0].RegionName) != "eu-west-1" {
		t.Fatalf("DescribeRegions: %+v, %v", regions, err)
	}
	c := s.Counts()
	if c.ByOperation["AssumeRole"] != 3 || c.ByOperation["ListKeys"] != 2 || c.ByOperation["GetCallerIdentity"] != 2 {
		t.Fatalf("counts %+v", c.ByOperation)
	}
}

func TestThrottlingPerAccountRegionAndOperation(t *testing.T) {
	w := smallWorld(3)
	quotas := map[string]Quota{"DescribeKey": {Rate: 0.001, Burst: 2}, "DescribeRegions": {Rate: 0.001, Burst: 1}, "GetCallerIdentity": {Rate: 0.001, Burst: 1}}
	s, url := start(t, w, Options{Quotas: quotas})
	ctx := context.Background()
	noRetry := func(cfg aws.Config) aws.Config {
		cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
		return cfg
	}
	base := baseConfig(url, "us-east-1")
	a := noRetry(member(base, "200000000001", "eu-west-1"))
	ka, err := kms.NewFromConfig(a).ListKeys(ctx, &kms.ListKeysInput{})
	if err != nil {
		t.Fatal(err)
	}
	describe := func(cfg aws.Config, id *string) error {
		_, err := kms.NewFromConfig(cfg).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: id})
		return err
	}
	for i := range 2 {
		if err := describe(a, ka.Keys[i].KeyId); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	err = describe(a, ka.Keys[2].KeyId)
	if !isCode(err, "ThrottlingException") || !retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() {
		t.Fatalf("third DescribeKey: %v; want a ThrottlingException the SDK treats as throttling", err)
	}
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusBadRequest {
		t.Fatalf("throttling status: %v", err)
	}
	// Another account, and another Region of the same account, have their own buckets.
	b := noRetry(member(base, "200000000002", "eu-west-1"))
	kb, _ := kms.NewFromConfig(b).ListKeys(ctx, &kms.ListKeysInput{})
	if err := describe(b, kb.Keys[0].KeyId); err != nil {
		t.Fatalf("account B throttled by A's calls: %v", err)
	}
	aUS := a.Copy()
	aUS.Region = "us-east-1"
	if err := describe(aUS, ka.Keys[0].KeyId); !isCode(err, "NotFoundException") {
		t.Fatalf("A in us-east-1 (own bucket, no such key): %v", err)
	}
	// Other operations of A in eu-west-1 are not throttled either.
	if _, err := kms.NewFromConfig(a).ListAliases(ctx, &kms.ListAliasesInput{}); err != nil {
		t.Fatalf("ListAliases throttled by DescribeKey's bucket: %v", err)
	}
	// EC2 and STS answer with their own throttling errors.
	e := noRetry(base)
	if _, err := ec2.NewFromConfig(e).DescribeRegions(ctx, &ec2.DescribeRegionsInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ec2.NewFromConfig(e).DescribeRegions(ctx, &ec2.DescribeRegionsInput{}); !isCode(err, "RequestLimitExceeded") {
		t.Fatalf("EC2 throttling: %v", err)
	}
	if _, err := sts.NewFromConfig(e).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sts.NewFromConfig(e).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); !isCode(err, "Throttling") {
		t.Fatalf("STS throttling: %v", err)
	}
	if c := s.Counts(); c.Throttled["DescribeKey"] != 1 || c.Throttled["DescribeRegions"] != 1 || c.Throttled["GetCallerIdentity"] != 1 {
		t.Fatalf("throttled counts %+v", c.Throttled)
	}
}

func TestRoundTripIsAdded(t *testing.T) {
	w := smallWorld(1)
	_, url := start(t, w, Options{RTT: func(r string) time.Duration {
		if r == "eu-west-1" {
			return 60 * time.Millisecond
		}
		return 0
	}})
	cfg := member(baseConfig(url, "us-east-1"), "200000000001", "eu-west-1")
	client := kms.NewFromConfig(cfg)
	ctx := context.Background()
	if _, err := client.ListKeys(ctx, &kms.ListKeysInput{}); err != nil { // assumes the role first (us-east-1, no delay)
		t.Fatal(err)
	}
	t0 := time.Now()
	if _, err := client.ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d < 60*time.Millisecond {
		t.Fatalf("eu-west-1 call took %v, want at least its 60 ms round trip", d)
	}
}

func TestGenerateOrg(t *testing.T) {
	w1, err := Generate(ScenarioOrg, 7, 1000, now)
	if err != nil {
		t.Fatal(err)
	}
	w2, _ := Generate(ScenarioOrg, 7, 1000, now)
	c1, c2 := w1.Counts(), w2.Counts()
	if len(c1) != 1000*17 || len(c1) != len(c2) {
		t.Fatalf("%d account-regions, want 17,000", len(c1))
	}
	perAccount := map[string]int{}
	keys, pending := 0, 0
	for i := range c1 {
		if c1[i] != c2[i] {
			t.Fatalf("not deterministic at %d: %+v vs %+v", i, c1[i], c2[i])
		}
		perAccount[c1[i].Account] += c1[i].Keys
		keys += c1[i].Keys
		pending += c1[i].Pending
	}
	small, huge := 0, 0
	for _, n := range perAccount {
		if n <= 50 {
			small++
		}
		if n > 5000 {
			huge++
		}
	}
	if small < 900 || huge < 3 {
		t.Fatalf("%d accounts with 0-50 keys, %d over 5,000; want most and a few", small, huge)
	}
	if frac := float64(pending) / float64(keys); frac < 0.015 || frac > 0.025 {
		t.Fatalf("%d of %d keys pending (%.3f), want about 2%%", pending, keys, frac)
	}
	if w3, _ := Generate(ScenarioOrg, 8, 1000, now); w3.Counts()[0] == c1[0] && w3.Counts()[1] == c1[1] && w3.Counts()[2] == c1[2] {
		t.Fatal("another seed gave the same world")
	}
}

func TestGenerateSingle(t *testing.T) {
	w, err := Generate(ScenarioSingle, 1, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	pending, keys := 0, 0
	for _, c := range w.Counts() {
		if c.Account != BaseAccount || c.Keys > 6 {
			t.Fatalf("%+v", c)
		}
		pending += c.Pending
		keys += c.Keys
	}
	if pending < 1 || keys < 17 || len(w.Members) != 0 {
		t.Fatalf("%d keys, %d pending, %d members", keys, pending, len(w.Members))
	}
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

// BenchmarkServe measures the server's own cost of a DescribeKey (no round
// trip), the figure that says how many calls a second it can serve per core.
func BenchmarkServe(b *testing.B) {
	w := smallWorld(10)
	s := New(w, Options{RTT: func(string) time.Duration { return 0 }, Quotas: map[string]Quota{}})
	k := w.Accounts["200000000001"].Regions["eu-west-1"].Keys[3]
	body := `{"KeyId":"` + k.ID + `"}`
	auth := "AWS4-HMAC-SHA256 Credential=" + SessionAccessKey("200000000001", 1) + "/20261201/eu-west-1/kms/aws4_request, SignedHeaders=host, Signature=0"
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			r.Header.Set("X-Amz-Target", "TrentService.DescribeKey")
			r.Header.Set("Authorization", auth)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, r)
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Body.String())
			}
		}
	})
}

func TestTraceNamesTheAccountARoleIsAssumedIn(t *testing.T) {
	w := smallWorld(2)
	_, url := start(t, w, Options{Trace: true})
	ctx := context.Background()
	a := member(baseConfig(url, "us-east-1"), "200000000001", "eu-west-1")
	if _, err := kms.NewFromConfig(a).ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url + ControlPrefix + "trace")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr []TraceEvent
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		t.Fatal(err)
	}
	if len(tr) != 2 {
		t.Fatalf("trace %+v, want AssumeRole then ListKeys", tr)
	}
	// AssumeRole is the base account's call, made for the member's role.
	if e := tr[0]; e.Op != "AssumeRole" || e.Account != BaseAccount || e.Subject != "200000000001" || e.Status != http.StatusOK {
		t.Fatalf("AssumeRole event %+v", e)
	}
	if e := tr[1]; e.Op != "ListKeys" || e.Account != "200000000001" || e.Region != "eu-west-1" || e.Subject != "" || e.Start > e.End {
		t.Fatalf("ListKeys event %+v", e)
	}
}
