package container

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/palisade-sec/palisade/internal/event"
)

// Daemon is one container engine the resolver asks: a Docker daemon
// (rootful or rootless), podman, containerd...
type Daemon interface {
	// Lookup fetches a container's metadata; an error that satisfies
	// errdefs.IsNotFound means the engine is up but does not know it.
	Lookup(ctx context.Context, ref Ref) (*event.Container, error)
	// Ping reports whether the engine answers.
	Ping(ctx context.Context) error
	// Runtime is container.type for the engine's containers.
	Runtime() string
	// Owner is the uid of a rootless engine's user, -1 for a rootful one.
	Owner() int
	// Endpoint names the engine in warnings ("podman at unix:///run/podman/podman.sock").
	Endpoint() string
}

// Feed reports containers as the engine creates and destroys them.
type Feed interface {
	// Watch calls created and destroyed with each container (full id,
	// and namespace where the engine has them) until ctx ends or the
	// stream breaks (then it returns the error). created also gets what
	// the event itself says (name, image), or nil.
	Watch(ctx context.Context, created func(Ref, *event.Container), destroyed func(Ref)) error
}

// Resolver caches container metadata from every engine on the host. A
// lookup goes to the engines of the runtime the cgroup names (all of
// them when it names none), the rootless owner's first. An engine that
// stops answering is skipped until a ping says it is back, so a dead or
// hung daemon costs one timeout, not one per event; lookups that fail are
// remembered for a short while.
type Resolver struct {
	timeout time.Duration
	retry   time.Duration
	// linger is how long a destroyed container stays cached: its last
	// records may still be on their way through the agent.
	linger time.Duration
	log    io.Writer

	mu      sync.Mutex
	engines []*engineState
	cache   map[string]*entry

	// The namespace index (ByNamespace): which container's init holds a
	// pid or mount namespace, for engines whose containers have no cgroup.
	procRoot string
	hostNS   Namespaces
	hasInits bool // some rootless engine can list its inits
	byNS     map[nsKey]nsOwner
	nsMiss   map[nsKey]time.Time
	// warnMu guards warned: the addresses whose outage was announced, so
	// that containerd's API and its CRI on one socket warn once together.
	warnMu sync.Mutex
	warned map[string]bool
}

type entry struct {
	c      *event.Container
	failed time.Time // zero when c is complete
}

// engineState is an engine and whether it answers.
type engineState struct {
	Daemon
	mu     sync.Mutex
	down   bool
	warned bool // this outage was seen
	said   bool // and this engine's warning was written
}

// NewResolver makes a resolver over engines (none: only ids and runtimes
// are known, never names). Warnings about engines that stop answering go
// to log (nil discards them).
func NewResolver(log io.Writer, engines ...Daemon) *Resolver {
	if log == nil {
		log = io.Discard
	}
	r := &Resolver{timeout: time.Second, retry: 5 * time.Second, linger: time.Minute, log: log, cache: map[string]*entry{},
		procRoot: "/proc", hostNS: HostNamespaces("/proc"), byNS: map[nsKey]nsOwner{}, nsMiss: map[nsKey]time.Time{},
		warned: map[string]bool{}}
	for _, e := range engines {
		r.engines = append(r.engines, &engineState{Daemon: e})
		r.noteInits(e)
	}
	return r
}

// Engines lists the endpoints the resolver asks.
func (r *Resolver) Engines() []Daemon {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Daemon, len(r.engines))
	for i, e := range r.engines {
		out[i] = e.Daemon
	}
	return out
}

// Start follows every engine in the background until ctx ends: it
// inspects containers as their engine creates them (engines that are a
// Feed), and pings each engine so that one that went down is asked again
// once it answers. discover, when not nil, is called now and then for
// engines started after the agent (a user's rootless daemon); endpoints
// already known are ignored.
func (r *Resolver) Start(ctx context.Context, discover func() []Daemon) {
	r.mu.Lock()
	engines := append([]*engineState(nil), r.engines...)
	r.mu.Unlock()
	for _, e := range engines {
		r.follow(ctx, e)
	}
	if discover == nil {
		return
	}
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for _, e := range discover() {
				if es := r.add(e); es != nil {
					r.follow(ctx, es)
				} else if c, ok := e.(io.Closer); ok {
					c.Close()
				}
			}
		}
	}()
}

// Close releases the engines' connections.
func (r *Resolver) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.engines {
		if c, ok := e.Daemon.(io.Closer); ok {
			c.Close()
		}
	}
}

// add registers an engine unless its endpoint is known; it returns the
// new state, or nil.
func (r *Resolver) add(e Daemon) *engineState {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, old := range r.engines {
		if old.Endpoint() == e.Endpoint() {
			return nil
		}
	}
	es := &engineState{Daemon: e}
	r.engines = append(r.engines, es)
	r.noteInits(e)
	return es
}

// noteInits records that a rootless engine can list its containers'
// inits, which turns ByNamespace on. Call with r.mu held (or before r is
// shared).
func (r *Resolver) noteInits(e Daemon) {
	if _, ok := e.(Inits); ok && e.Owner() >= 0 {
		r.hasInits = true
	}
}

func (r *Resolver) follow(ctx context.Context, e *engineState) {
	go r.monitor(ctx, e)
	if f, ok := e.Daemon.(Feed); ok {
		go r.Follow(ctx, e.Daemon, f)
	}
}

// monitor pings e every retry interval and records whether it answers.
func (r *Resolver) monitor(ctx context.Context, e *engineState) {
	for {
		pctx, cancel := context.WithTimeout(ctx, r.timeout)
		err := e.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			r.markDown(e, err)
		} else {
			r.markUp(e)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.retry):
		}
	}
}

func (r *Resolver) markDown(e *engineState, err error) {
	e.mu.Lock()
	e.down = true
	first := !e.warned
	e.warned = true
	e.mu.Unlock()
	if !first {
		return
	}
	addr := address(e.Endpoint())
	r.warnMu.Lock()
	defer r.warnMu.Unlock()
	if r.warned[addr] {
		return // another API on the same socket said it
	}
	r.warned[addr] = true
	e.mu.Lock()
	e.said = true
	e.mu.Unlock()
	fmt.Fprintf(r.log, "palisade: warning: %s not answering (%v): its containers' names and images will be <NA> until it does; detection continues\n", e.Endpoint(), err)
}

func (r *Resolver) markUp(e *engineState) {
	e.mu.Lock()
	said := e.down && e.said
	e.down, e.warned, e.said = false, false, false
	e.mu.Unlock()
	if !said {
		return
	}
	r.warnMu.Lock()
	delete(r.warned, address(e.Endpoint()))
	r.warnMu.Unlock()
	fmt.Fprintf(r.log, "palisade: %s answers again\n", e.Endpoint())
}

// address is the socket in an endpoint's name ("CRI at unix:///run/x.sock").
func address(endpoint string) string {
	if i := strings.LastIndex(endpoint, " at "); i >= 0 {
		return endpoint[i+4:]
	}
	return endpoint
}

func (e *engineState) isDown() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.down
}

// Follow keeps the cache ahead of the events: each container the feed
// reports created is inspected at once (through e), and each destroyed
// one is dropped a while later. Without it a container that runs for a
// millisecond and is removed (docker run --rm) before the agent reads its
// first record would get no name or image: the inspect on first sight
// would find it gone. It returns when ctx ends; a broken stream (a daemon
// restart) is reopened after retry.
func (r *Resolver) Follow(ctx context.Context, e Daemon, feed Feed) {
	created := func(ref Ref, said *event.Container) {
		ictx, cancel := context.WithTimeout(ctx, r.timeout)
		c, err := e.Lookup(ictx, ref)
		cancel()
		if err != nil || c == nil {
			// Gone already, or going (podman reports creation late, after
			// a --rm container may be removed): what the event said is
			// all there will be. Without it, Get tries on first sight.
			if said == nil {
				return
			}
			c = said
		}
		c.Type = e.Runtime()
		r.remember(ref.key(), &entry{c: c})
	}
	destroyed := func(ref Ref) {
		time.AfterFunc(r.linger, func() { r.forget(ref.key()) })
	}
	for ctx.Err() == nil {
		if err := feed.Watch(ctx, created, destroyed); err == nil || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(r.retry):
		}
	}
}

// Get returns the container ref names, asking its engines on first sight.
// A container no engine knows keeps its id, runtime and pod uid with <NA>
// names, except an Unverified ref, which is the host unless an engine
// knows it.
func (r *Resolver) Get(ctx context.Context, ref Ref) *event.Container {
	key := ref.key()
	r.mu.Lock()
	e, ok := r.cache[key]
	if ok && (e.failed.IsZero() || time.Since(e.failed) < r.retry) {
		r.mu.Unlock()
		return e.c
	}
	candidates := r.route(ref)
	r.mu.Unlock()
	for _, es := range candidates {
		if es.isDown() {
			continue
		}
		ictx, cancel := context.WithTimeout(ctx, r.timeout)
		c, err := es.Lookup(ictx, ref)
		cancel()
		if err != nil || c == nil {
			if err != nil && !isNotFound(err) && ctx.Err() == nil {
				r.markDown(es, err) // the monitor brings it back
			}
			continue
		}
		c.Type = es.Runtime()
		if c.K8sPodUID == "" {
			c.K8sPodUID = ref.PodUID
		}
		return r.remember(key, &entry{c: c})
	}
	c := &event.Container{ID: ref.ShortID(), Type: ref.Runtime, K8sPodUID: ref.PodUID}
	if ref.Unverified {
		c = event.Host
	}
	return r.remember(key, &entry{c: c, failed: time.Now()})
}

// route lists the engines that may know ref, the rootless owner's first.
// Call with r.mu held.
func (r *Resolver) route(ref Ref) []*engineState {
	var owner, others []*engineState
	for _, e := range r.engines {
		if !runs(ref.Runtime, e.Runtime()) {
			continue
		}
		if e.Owner() == ref.User {
			owner = append(owner, e)
		} else {
			others = append(others, e)
		}
	}
	return append(owner, others...)
}

// runs reports whether an engine of runtime engine can own a container
// whose cgroup says want.
func runs(want, engine string) bool {
	switch want {
	case RuntimeUnknown:
		return true
	case RuntimeCRI:
		return engine == RuntimeContainerd || engine == RuntimeCRIO || engine == RuntimeDocker
	}
	return want == engine
}

// remember caches e under key unless a complete entry is there already (a
// concurrent lookup won), and returns the container cached.
func (r *Resolver) remember(key string, e *entry) *event.Container {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.cache[key]; ok && old.failed.IsZero() {
		return old.c
	}
	r.cache[key] = e
	return e.c
}

func (r *Resolver) forget(key string) {
	r.mu.Lock()
	delete(r.cache, key)
	r.mu.Unlock()
}
