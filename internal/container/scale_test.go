package container

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/replay"
	"github.com/palisade-sec/palisade/internal/rules"
	builtinrules "github.com/palisade-sec/palisade/rules"
)

// The cost of many known containers (issue 16): 1,000 containers spread
// over four engines (rootful Docker, podman, containerd's CRI, a user's
// rootless Docker) cached in one resolver, against none but the few the
// events come from.

// scaleEngine is a fake engine of one kind and the cgroup path its
// containers' processes sit in.
type scaleEngine struct {
	runtime string
	owner   int
	cgroup  func(id, podUID string) string
}

var scaleEngines = []scaleEngine{
	{RuntimeDocker, -1, func(id, _ string) string { return "/docker/" + id }},
	{RuntimePodman, -1, func(id, _ string) string { return "/machine.slice/libpod-" + id + ".scope/container" }},
	{RuntimeContainerd, -1, func(id, uid string) string {
		u := strings.ReplaceAll(uid, "-", "_")
		return "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + u + ".slice/cri-containerd-" + id + ".scope"
	}},
	{RuntimeDocker, 1000, func(id, _ string) string {
		return "/user.slice/user-1000.slice/user@1000.service/user.slice/docker-" + id + ".scope"
	}},
}

// richFake is a fakeDaemon whose lookups answer what an engine's inspect
// gives the agent: image, labels, mounts, and the pod for CRI containers.
type richFake struct{ *fakeDaemon }

func (f richFake) Lookup(ctx context.Context, ref Ref) (*event.Container, error) {
	c, err := f.fakeDaemon.Lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	n := c.Name
	c.Image = "team/" + n + ":1.25.3"
	c.ImageRepository, c.ImageTag = "team/"+n, "1.25.3"
	c.ImageID = "sha256:" + fakeHex(n+"image")
	c.Labels = map[string]string{"app": n, "tier": "backend", "version": "1.25.3",
		"com.example.owner": "platform-team", "com.example.build": fakeHex(n)[:16]}
	c.Mounts = []event.Mount{{Source: "/var/lib/app/" + n, Dest: "/data", Mode: "rw", RW: true}, {Source: "/etc/app/" + n, Dest: "/etc/app", Mode: "ro"}}
	c.StartTime = 1_700_000_000_000_000_000
	if ref.PodUID != "" {
		c.K8sPodName, c.K8sNamespace = n+"-7d9f8c6b5-x2k4q", "shop"
		c.Labels["io.kubernetes.pod.name"], c.Labels["io.kubernetes.pod.namespace"] = c.K8sPodName, "shop"
	}
	return c, nil
}

func fakeHex(seed string) string {
	s := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(s[:])
}

// scaleFleet is the fake engines with others containers spread over them
// (besides one "hot" container each, the ones events come from) and the
// cgroup paths of all of them.
type scaleFleet struct {
	engines []Daemon
	hot     []string // cgroup paths of the hot containers
	others  []string
	names   map[string]string // cgroup path -> name
}

func newScaleFleet(others int) *scaleFleet {
	fl := &scaleFleet{names: map[string]string{}}
	for i, se := range scaleEngines {
		f := newFake(se.runtime, se.owner, nil)
		add := func(name string) string {
			id := fakeHex(name)
			uid := ""
			if se.runtime == RuntimeContainerd {
				uid = fmt.Sprintf("%08x-95d3-4372-80e0-%012x", i, len(f.containers))
			}
			f.containers[id] = name
			p := se.cgroup(id, uid)
			fl.names[p] = name
			return p
		}
		fl.hot = append(fl.hot, add(fmt.Sprintf("hot-%d", i)))
		for j := i; j < others; j += len(scaleEngines) {
			fl.others = append(fl.others, add(fmt.Sprintf("ctr-%d-%d", i, j)))
		}
		fl.engines = append(fl.engines, richFake{f})
	}
	return fl
}

// resolver caches every container of the fleet as the agent does on each
// one's first process (one lookup each), checking each is named.
func (fl *scaleFleet) resolver(t testing.TB) *Resolver {
	r := NewResolver(nil, fl.engines...)
	for _, p := range append(append([]string(nil), fl.hot...), fl.others...) {
		ref, ok := ParseCgroup(p)
		if !ok {
			t.Fatalf("not a container cgroup: %s", p)
		}
		if c := r.Get(context.Background(), ref); c.Name != fl.names[p] || c.ImageRepository == "" {
			t.Fatalf("%s: resolved as %+v, want name %s", p, c, fl.names[p])
		}
	}
	return r
}

// scaleEvents is a mix of container events that mostly match nothing
// (library and content reads, writes, closes, loopback connects) and one
// read of /etc/shadow, without their container (the benchmark sets it).
func scaleEvents(t testing.TB) []*event.Event {
	proc := `"proc":{"pid":1200,"name":"nginx","exepath":"/usr/sbin/nginx","args":["-g","daemon off;"],"uid":33,"gid":33,"user":"www-data","parent":{"pid":1100,"name":"containerd-shim"}}`
	lines := []string{
		`{"type":"openat","res":7,"args":{"fd":7,"name":"/usr/lib/x86_64-linux-gnu/libssl.so.3","flags":"O_RDONLY|O_CLOEXEC"},` + proc + `,"fd":{"num":7,"type":"file","name":"/usr/lib/x86_64-linux-gnu/libssl.so.3"}}`,
		`{"type":"openat","res":8,"args":{"fd":8,"name":"/var/www/html/index.html","flags":"O_RDONLY"},` + proc + `,"fd":{"num":8,"type":"file","name":"/var/www/html/index.html"}}`,
		`{"type":"read","res":512,"args":{"fd":8},` + proc + `,"fd":{"num":8,"type":"file","name":"/var/www/html/index.html"}}`,
		`{"type":"write","res":512,"args":{"fd":9},` + proc + `,"fd":{"num":9,"type":"ipv4","l4proto":"tcp","cip":"127.0.0.1","cport":50000,"sip":"127.0.0.1","sport":80,"server":true}}`,
		`{"type":"close","res":0,"args":{"fd":8},` + proc + `,"fd":{"num":8,"type":"file","name":"/var/www/html/index.html"}}`,
		`{"type":"connect","res":0,"args":{"fd":11},` + proc + `,"fd":{"num":11,"type":"ipv4","l4proto":"tcp","cip":"127.0.0.1","cport":40000,"sip":"127.0.0.1","sport":5432}}`,
		`{"type":"openat","res":3,"args":{"fd":3,"name":"/etc/shadow","flags":"O_RDONLY"},"proc":{"pid":1300,"name":"cat","exepath":"/bin/cat","args":["/etc/shadow"],"uid":0,"gid":0,"user":"root","parent":{"pid":1250,"name":"sh"}},"fd":{"num":3,"type":"file","name":"/etc/shadow"}}`,
	}
	rd := replay.NewReader(strings.NewReader(strings.Join(lines, "\n")), "scale")
	var evs []*event.Event
	for {
		e, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.Proc != nil {
			e.Proc.Cmdline()
		}
		evs = append(evs, e)
	}
	return evs
}

// BenchmarkResolveEval is BenchmarkRuleset's per-event work with the
// built-in rules plus, for every event, the container's metadata taken
// from the resolver's cache by its cgroup (the agent does that once per
// process; here every event pays it): with no other container known and
// with 1,000 known across four engines.
func BenchmarkResolveEval(b *testing.B) {
	rs, res := rules.Load([]rules.File{{Name: builtinrules.Name, Data: builtinrules.YAML}}, rules.Options{Hostname: "bench"})
	if len(res.Errors) > 0 {
		b.Fatal(res.Errors)
	}
	evs := scaleEvents(b)
	for _, others := range []int{0, 1000} {
		b.Run(fmt.Sprintf("others=%d", others), func(b *testing.B) {
			fl := newScaleFleet(others)
			r := fl.resolver(b)
			ctx := context.Background()
			matches := make([]rules.Match, 0, 8)
			alerts := 0
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ev := evs[i%len(evs)]
				ref, _ := ParseCgroup(fl.hot[i%len(fl.hot)])
				ev.Proc.Container = r.Get(ctx, ref)
				matches = rs.Eval(ev, matches[:0])
				alerts += len(matches)
			}
			b.StopTimer()
			if b.N >= len(evs) && alerts == 0 {
				b.Fatal("the /etc/shadow read never alerted")
			}
		})
	}
}

// BenchmarkResolverGet is the resolver's cached lookup alone.
func BenchmarkResolverGet(b *testing.B) {
	for _, others := range []int{0, 1000} {
		b.Run(fmt.Sprintf("others=%d", others), func(b *testing.B) {
			fl := newScaleFleet(others)
			r := fl.resolver(b)
			refs := make([]Ref, len(fl.hot))
			for i, p := range fl.hot {
				refs[i], _ = ParseCgroup(p)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if r.Get(ctx, refs[i%len(refs)]) == nil {
					b.Fatal("nil container")
				}
			}
		})
	}
}

// TestResolverMemory1000 caches 1,000 containers spread over four engines
// and fails if the live heap grew by more than 10 MB for them (issue
// 16's bound). The engines' own lists are built before the first
// measurement: only what the agent keeps is counted.
func TestResolverMemory1000(t *testing.T) {
	fl := newScaleFleet(1000)
	before, rssBefore := liveHeap(), vmRSS()
	r := fl.resolver(t)
	after, rssAfter := liveHeap(), vmRSS()
	runtime.KeepAlive(r)
	runtime.KeepAlive(fl)
	grew := int64(after) - int64(before)
	t.Logf("1,000 containers cached: live heap +%.2f MB (%d B per container), VmRSS +%.2f MB",
		float64(grew)/(1<<20), grew/1004, float64(rssAfter-rssBefore)/(1<<20))
	if r.mu.Lock(); len(r.cache) != 1004 {
		t.Errorf("%d containers cached, want 1004", len(r.cache))
	}
	r.mu.Unlock()
	if grew > 10<<20 {
		t.Errorf("caching 1,000 containers grew the live heap by %.1f MB, over the 10 MB bound", float64(grew)/(1<<20))
	}
}

// liveHeap is HeapAlloc after two collections.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// vmRSS is the process's resident set from /proc/self/status, in bytes
// (0 when unreadable).
func vmRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}
