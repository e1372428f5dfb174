package awssim

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/awsfake"
)

func parseQuery(s string) (map[string][]string, error) { return url.ParseQuery(s) }

func first(form map[string][]string, k string) string {
	if v := form[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func xmlOK(body string) response {
	return response{http.StatusOK, "text/xml", []byte(body)}
}

// xmlErr is the query protocol's error document (STS).
func xmlErr(status int, code, msg string) response {
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	return response{status, "text/xml", []byte(fmt.Sprintf(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>`, typ, esc(code), esc(msg)))}
}

// ec2Err is EC2's error document.
func ec2Err(status int, code, msg string) response {
	return response{status, "text/xml", []byte(fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>00000000-0000-4000-8000-000000000000</RequestID></Response>`, esc(code), esc(msg)))}
}

var roleARN = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$`)

// SessionAccessKey is the access key of a session in account: "ASIA", the
// account ID and four characters of n, 20 characters like AWS's.
func SessionAccessKey(account string, n int64) string {
	return fmt.Sprintf("ASIA%s%04X", account, n&0xffff)
}

func sessionAccount(akid string) (string, bool) {
	if len(akid) != 20 || !strings.HasPrefix(akid, "ASIA") {
		return "", false
	}
	acct := akid[4:16]
	for _, c := range acct {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return acct, true
}

func (s *Server) sts(c call) response {
	switch c.op {
	case "GetCallerIdentity":
		arn := "arn:aws:iam::" + c.account + ":user/bench"
		s.mu.Lock()
		if a, ok := s.sessions[c.akid]; ok {
			arn = a
		}
		s.mu.Unlock()
		return xmlOK(fmt.Sprintf(`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>%s</Arn><UserId>AIDASIMULATEDUSER0001</UserId><Account>%s</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000001</RequestId></ResponseMetadata></GetCallerIdentityResponse>`, esc(arn), c.account))
	case "AssumeRole", "AssumeRoleWithWebIdentity":
		return s.assume(c)
	default:
		return unknownOperation(c)
	}
}

// subject is the account c asks a role in (AssumeRole*), else "".
func subject(c call) string {
	if c.service != "sts" || !strings.HasPrefix(c.op, "AssumeRole") {
		return ""
	}
	if m := roleARN.FindStringSubmatch(first(c.form, "RoleArn")); m != nil {
		return m[1]
	}
	return ""
}

// assume issues a session in the account of the role ARN.
func (s *Server) assume(c call) response {
	arn, session := first(c.form, "RoleArn"), first(c.form, "RoleSessionName")
	m := roleARN.FindStringSubmatch(arn)
	if m == nil || session == "" {
		return xmlErr(http.StatusBadRequest, "ValidationError", "RoleArn must be an IAM role ARN and RoleSessionName is required")
	}
	if c.op == "AssumeRoleWithWebIdentity" && first(c.form, "WebIdentityToken") == "" {
		return xmlErr(http.StatusBadRequest, "ValidationError", "WebIdentityToken is required")
	}
	account := m[1]
	if _, ok := s.world.Accounts[account]; !ok {
		return xmlErr(http.StatusForbidden, "AccessDenied", fmt.Sprintf("User: arn:aws:iam::%s:user/bench is not authorized to perform: sts:%s on resource: %s", c.account, c.op, arn))
	}
	akid := SessionAccessKey(account, s.seq.Add(1))
	assumed := fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, m[2], session)
	s.mu.Lock()
	s.sessions[akid] = assumed
	s.mu.Unlock()
	exp := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
	extra := ""
	if c.op == "AssumeRoleWithWebIdentity" {
		extra = "<SubjectFromWebIdentityToken>repo:bench/bench:ref:refs/heads/main</SubjectFromWebIdentityToken><Provider>token.actions.githubusercontent.com</Provider><Audience>sts.amazonaws.com</Audience>"
	}
	return xmlOK(fmt.Sprintf(`<%[1]sResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><%[1]sResult>%[2]s<Credentials><AccessKeyId>%[3]s</AccessKeyId><SecretAccessKey>simulated-secret-%[3]s</SecretAccessKey><SessionToken>simulated-token-%[3]s</SessionToken><Expiration>%[4]s</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROASIMULATEDROLE:%[5]s</AssumedRoleId><Arn>%[6]s</Arn></AssumedRoleUser><PackedPolicySize>0</PackedPolicySize></%[1]sResult><ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000002</RequestId></ResponseMetadata></%[1]sResponse>`,
		c.op, extra, akid, exp, esc(session), esc(assumed)))
}

func (s *Server) ec2(c call) response {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>00000000-0000-4000-8000-000000000003</requestId><regionInfo>`)
	for _, r := range s.world.Regions {
		fmt.Fprintf(&b, `<item><regionName>%s</regionName><regionEndpoint>ec2.%s.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>`, r, r)
	}
	b.WriteString(`</regionInfo></DescribeRegionsResponse>`)
	return xmlOK(b.String())
}

type lookupInput struct {
	LookupAttributes []struct {
		AttributeKey   string
		AttributeValue string
	}
	StartTime  *float64
	EndTime    *float64
	MaxResults *int
	NextToken  string
}

// cloudTrail serves LookupEvents by ResourceName: the ScheduleKeyDeletion
// record of a key pending deletion in the caller's account and Region, when
// it falls in [StartTime, EndTime]. Other lookups find nothing.
func (s *Server) cloudTrail(c call) response {
	if c.op != "LookupEvents" {
		return unknownOperation(c)
	}
	var in lookupInput
	if err := json.Unmarshal(c.body, &in); err != nil {
		return jsonErr(http.StatusBadRequest, "SerializationException", "bad JSON")
	}
	if len(in.LookupAttributes) > 1 {
		return jsonErr(http.StatusBadRequest, "InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
	}
	if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > 50) {
		return jsonErr(http.StatusBadRequest, "InvalidMaxResultsException", "MaxResults must be between 1 and 50")
	}
	events := []map[string]any{}
	if len(in.LookupAttributes) == 1 && in.LookupAttributes[0].AttributeKey == "ResourceName" {
		reg := s.world.Accounts[c.account].Regions[c.region]
		name := in.LookupAttributes[0].AttributeValue
		if k, bad := s.findKey(c, reg, name); bad == nil && k.State == "PendingDeletion" && !strings.HasPrefix(name, "alias/") {
			at := k.scheduledAt()
			if (in.StartTime == nil || !at.Before(time.Unix(int64(*in.StartTime), 0))) && (in.EndTime == nil || !at.After(time.Unix(int64(*in.EndTime), 0))) {
				rec := awsfake.ScheduleKeyDeletionRecord("ev-"+k.ID, keyARN(c, k.ID), "arn:aws:iam::"+c.account+":user/ops", at, k.WindowDays)
				ev := rec.Event()
				events = append(events, map[string]any{
					"EventId": ev.EventID, "EventName": ev.EventName, "EventTime": epoch(ev.EventTime),
					"EventSource": ev.EventSource, "Username": ev.Username, "AccessKeyId": ev.AccessKeyID,
					"ReadOnly": ev.ReadOnly, "CloudTrailEvent": ev.CloudTrailEvent,
					"Resources": []map[string]string{{"ResourceType": "AWS::KMS::Key", "ResourceName": keyARN(c, k.ID)}},
				})
			}
		}
	}
	return jsonOK(map[string]any{"Events": events})
}
