package awssim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// Key is one KMS customer managed key.
type Key struct {
	ID           string
	State        string // "Enabled", "Disabled" or "PendingDeletion"
	Created      time.Time
	DeletionDate time.Time // PendingDeletion only
	WindowDays   int       // PendingDeletion only: the waiting period it was scheduled with
	Tags         [][2]string
}

// Alias is one KMS alias. AWS managed aliases (aws/...) may have no target.
type Alias struct {
	Name        string
	TargetKeyID string
	Created     time.Time
}

// Region is one account's keys and aliases in one Region.
type Region struct {
	Name    string
	Keys    []Key
	Aliases []Alias // sorted by Name
	byID    map[string]int32
	byKey   map[string][]int32 // aliases by target key id
}

// Account is one AWS account.
type Account struct {
	ID      string
	Regions map[string]*Region // only Regions with keys or aliases
}

// World is every account the server knows. Any credential that is not a
// session the server issued belongs to Base.
type World struct {
	Base     string
	Regions  []string // enabled in every account, sorted
	Accounts map[string]*Account
	// Members are the account IDs other than Base, sorted: the accounts a
	// scan of the organization assumes a role in.
	Members []string
	Now     time.Time
}

// KeyCount is one account and Region's keys by state.
type KeyCount struct {
	Account, Region            string
	Keys, Pending, Disabled    int
	Aliases, AliasesOfFindings int
}

// Counts returns every account x Region of w (Base included only when it
// holds keys), with its key counts, sorted by account then Region.
func (w *World) Counts() []KeyCount {
	var out []KeyCount
	ids := append([]string(nil), w.Members...)
	if a := w.Accounts[w.Base]; a != nil && len(a.Regions) > 0 {
		ids = append(ids, w.Base)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := w.Accounts[id]
		for _, r := range w.Regions {
			kc := KeyCount{Account: id, Region: r}
			if reg := a.Regions[r]; reg != nil {
				kc.Keys, kc.Aliases = len(reg.Keys), len(reg.Aliases)
				for _, k := range reg.Keys {
					switch k.State {
					case "PendingDeletion":
						kc.Pending++
						kc.AliasesOfFindings += len(reg.byKey[k.ID])
					case "Disabled":
						kc.Disabled++
					}
				}
			}
			out = append(out, kc)
		}
	}
	return out
}

// DefaultRegions are the 17 Regions enabled by default in every account
// (those that need no opt-in).
var DefaultRegions = []string{
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
	"ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3",
	"sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
}

// Scenario names.
const (
	ScenarioOrg    = "org"
	ScenarioSingle = "single"
)

// BaseAccount is the management account of generated worlds.
const BaseAccount = "100000000000"

// Generate builds a named scenario, deterministically from seed:
//
//   - "org": BaseAccount (no keys) and accounts members x DefaultRegions. Keys
//     per account are heavy-tailed: most accounts hold 0 to 50, about 3% hold
//     51 to 1,500 (log-uniform) and 3 hold 5,000 to 8,000. 30% of an
//     account's keys sit in its home Region, the rest spread evenly. 2% of
//     keys are pending deletion, 5% disabled; 30% carry an alias and every
//     fourth a tag; every Region with keys has three AWS managed aliases.
//   - "single": BaseAccount alone x DefaultRegions with 0 to 6 keys a Region,
//     the same proportions, and at least one key pending deletion.
func Generate(scenario string, seed uint64, members int, now time.Time) (*World, error) {
	rng := rand.New(rand.NewPCG(seed, 0x6b6467))
	w := &World{Base: BaseAccount, Regions: append([]string(nil), DefaultRegions...), Accounts: map[string]*Account{}, Now: now.UTC().Truncate(time.Second)}
	sort.Strings(w.Regions)
	w.Accounts[w.Base] = &Account{ID: w.Base, Regions: map[string]*Region{}}
	g := &generator{w: w, rng: rng}
	switch scenario {
	case ScenarioOrg:
		if members < 1 || members > 99999 {
			return nil, fmt.Errorf("members %d out of range 1..99999", members)
		}
		heavy := map[int]bool{}
		for len(heavy) < min(3, members) {
			heavy[rng.IntN(members)] = true
		}
		for i := range members {
			id := fmt.Sprintf("%012d", 200000000000+i)
			a := &Account{ID: id, Regions: map[string]*Region{}}
			w.Accounts[id] = a
			w.Members = append(w.Members, id)
			var n int
			switch r := rng.Float64(); {
			case heavy[i]:
				n = 5000 + rng.IntN(3001)
			case r < 0.03:
				n = int(math.Exp(math.Log(51) + rng.Float64()*(math.Log(1500)-math.Log(51))))
			default:
				n = rng.IntN(51)
			}
			home := w.Regions[rng.IntN(len(w.Regions))]
			for range n {
				r := home
				if rng.Float64() >= 0.3 {
					r = w.Regions[rng.IntN(len(w.Regions))]
				}
				g.addKey(a, r)
			}
		}
	case ScenarioSingle:
		a := w.Accounts[w.Base]
		for _, r := range w.Regions {
			for range rng.IntN(7) {
				g.addKey(a, r)
			}
		}
		if !g.anyPending {
			// The common case still has something to report.
			r := a.Regions["us-east-1"]
			if r == nil {
				g.addKey(a, "us-east-1")
				r = a.Regions["us-east-1"]
			}
			g.pend(&r.Keys[0])
		}
	default:
		return nil, fmt.Errorf("unknown scenario %q (want %s or %s)", scenario, ScenarioOrg, ScenarioSingle)
	}
	for _, a := range w.Accounts {
		for _, r := range a.Regions {
			r.index()
		}
	}
	return w, nil
}

type generator struct {
	w          *World
	rng        *rand.Rand
	anyPending bool
	aliasSeq   int
}

func (g *generator) uuid() string {
	r := g.rng
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, 0x8000|r.Uint32()&0x3fff, r.Uint64()&0xffffffffffff)
}

func (g *generator) addKey(a *Account, region string) {
	reg := a.Regions[region]
	if reg == nil {
		reg = &Region{Name: region}
		a.Regions[region] = reg
		for _, name := range []string{"alias/aws/ebs", "alias/aws/rds", "alias/aws/s3"} {
			reg.Aliases = append(reg.Aliases, Alias{Name: name, Created: g.w.Now.AddDate(-3, 0, 0)})
		}
	}
	k := Key{ID: g.uuid(), State: "Enabled", Created: g.w.Now.Add(-time.Duration(24+g.rng.IntN(3*365*24)) * time.Hour)}
	switch p := g.rng.Float64(); {
	case p < 0.02:
		g.pend(&k)
	case p < 0.07:
		k.State = "Disabled"
	}
	if g.rng.IntN(4) == 0 {
		k.Tags = [][2]string{{"team", fmt.Sprintf("team-%d", g.rng.IntN(40))}}
	}
	if g.rng.Float64() < 0.3 {
		g.aliasSeq++
		reg.Aliases = append(reg.Aliases, Alias{Name: fmt.Sprintf("alias/app-%d", g.aliasSeq), TargetKeyID: k.ID, Created: k.Created})
	}
	reg.Keys = append(reg.Keys, k)
}

// pend schedules k for deletion: a waiting period of 7 to 30 days, scheduled
// between 0 and that many days before now.
func (g *generator) pend(k *Key) {
	g.anyPending = true
	k.State = "PendingDeletion"
	k.WindowDays = 7 + g.rng.IntN(24)
	scheduled := g.w.Now.Add(-time.Duration(g.rng.IntN(k.WindowDays*24)) * time.Hour)
	if scheduled.Before(k.Created) {
		scheduled = k.Created.Add(time.Hour)
	}
	k.DeletionDate = scheduled.AddDate(0, 0, k.WindowDays)
}

func (r *Region) index() {
	sort.Slice(r.Aliases, func(i, j int) bool { return r.Aliases[i].Name < r.Aliases[j].Name })
	r.byID = make(map[string]int32, len(r.Keys))
	for i, k := range r.Keys {
		r.byID[k.ID] = int32(i)
	}
	r.byKey = map[string][]int32{}
	for i, a := range r.Aliases {
		if a.TargetKeyID != "" {
			r.byKey[a.TargetKeyID] = append(r.byKey[a.TargetKeyID], int32(i))
		}
	}
}

// scheduledAt is when k's deletion was scheduled.
func (k *Key) scheduledAt() time.Time {
	return k.DeletionDate.AddDate(0, 0, -k.WindowDays)
}

// NewWorld returns a world of the base account alone, with no keys, for
// tests that add their own (AddKeys).
func NewWorld(base string, regions []string, now time.Time) *World {
	w := &World{Base: base, Regions: append([]string(nil), regions...), Accounts: map[string]*Account{}, Now: now.UTC().Truncate(time.Second)}
	sort.Strings(w.Regions)
	w.Accounts[base] = &Account{ID: base, Regions: map[string]*Region{}}
	return w
}

// AddKeys adds n keys to account (created as a member when new) in region,
// the first pending of them pending deletion, each with one alias when
// aliased, and returns them.
func (w *World) AddKeys(seed uint64, account, region string, n, pending int, aliased bool) []Key {
	a := w.Accounts[account]
	if a == nil {
		a = &Account{ID: account, Regions: map[string]*Region{}}
		w.Accounts[account] = a
		w.Members = append(w.Members, account)
		sort.Strings(w.Members)
	}
	g := &generator{w: w, rng: rand.New(rand.NewPCG(seed, 1))}
	reg := a.Regions[region]
	if reg == nil {
		reg = &Region{Name: region}
		a.Regions[region] = reg
	}
	first := len(reg.Keys)
	for i := range n {
		k := Key{ID: g.uuid(), State: "Enabled", Created: w.Now.AddDate(0, -1, 0)}
		if i < pending {
			g.pend(&k)
		}
		reg.Keys = append(reg.Keys, k)
		if aliased {
			reg.Aliases = append(reg.Aliases, Alias{Name: "alias/" + k.ID[:8], TargetKeyID: k.ID, Created: k.Created})
		}
	}
	reg.index()
	return reg.Keys[first:]
}
