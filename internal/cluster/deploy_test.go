package cluster

import (
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codegen-proxy/codegen-proxy/internal/cache"
	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// deployPolicy is the maxmemory-policy that deploy/compose.yaml and
// deploy/kubernetes.yaml give Redis; they must agree.
func deployPolicy(t *testing.T) string {
	t.Helper()
	re := regexp.MustCompile(`"--maxmemory-policy",\s*"([a-z-]+)"`)
	policy := ""
	for _, f := range []string{"../../deploy/compose.yaml", "../../deploy/kubernetes.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := re.FindSubmatch(b)
		if m == nil {
			t.Fatalf("%s sets no --maxmemory-policy", f)
		}
		if policy != "" && policy != string(m[1]) {
			t.Fatalf("%s: maxmemory-policy %s, another deploy file says %s", f, m[1], policy)
		}
		policy = string(m[1])
	}
	return policy
}

// With the deploy files' maxmemory-policy, a Redis filled with cache
// entries keeps the leases, budgets and pauses, and the replica degrades
// on the OOM errors instead; it rejoins once there is room.
func TestDeployedRedisFullOfCacheKeepsLeasesAndBudgets(t *testing.T) {
	t.Parallel()
	srv, cs := replicas(t, 1)
	ctx := testCtx(t)
	rdb := srv.Client()
	if err := rdb.ConfigSet(ctx, "maxmemory-policy", deployPolicy(t)).Err(); err != nil {
		t.Fatal(err)
	}
	tok := HashToken(rawToken)
	l := cs[0].Lease(scope, time.Minute)
	if ok, _ := l.Acquire(ctx); !ok {
		t.Fatal("Acquire failed")
	}
	b := &Budget{Client: cs[0]}
	for range 10 {
		b.Allow(ctx, tok, "general", perMinute10)
	}
	b.Pause(ctx, tok, "logs", time.Minute)
	used := usedMemory(t, rdb.Info(ctx, "memory").Val())
	if err := rdb.ConfigSet(ctx, "maxmemory", strconv.FormatInt(used+4<<20, 10)).Err(); err != nil {
		t.Fatal(err)
	}
	s := &CacheStore{Client: cs[0], Local: &cache.Memory{}}
	e := cache.Entry{Status: http.StatusOK, Body: make([]byte, 100<<10), Stored: time.Now(), TTL: 10 * time.Minute}
	for i := range 80 { // 8 MiB of answers into 4 MiB of room
		k := cache.Key{Token: codegen.KeyOf(strconv.Itoa(i)), Name: "org/1/runs"}
		s.Put(k, e, s.Generation(k.Token))
	}
	for what, key := range map[string]string{"lease": l.key, "budget": "rate:" + b.key(tok, "general"),
		"pause": b.pauseKey(tok, "logs")} {
		if rdb.Exists(ctx, key).Val() == 0 {
			t.Errorf("the %s was evicted to make room for cache entries", what)
		}
	}
	if cs[0].Ready() == nil {
		t.Error("Ready() = nil while Redis refuses writes for want of memory")
	}
	rdb.ConfigSet(ctx, "maxmemory", "0")
	eventually(t, "rejoined", func() bool { return cs[0].Ready() == nil })
}

func usedMemory(t *testing.T, info string) int64 {
	t.Helper()
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no used_memory in INFO memory")
	return 0
}
