package container

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	versionapi "github.com/containerd/containerd/api/services/version/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/kernel"
)

// EngineStatus is one engine endpoint found on the host and what it said.
type EngineStatus struct {
	API     string `json:"api"`     // "engine" (Docker Engine API), "containerd" (its gRPC API) or "cri"
	Runtime string `json:"runtime"` // container.type of its containers
	Host    string `json:"host"`
	Owner   int    `json:"owner"` // uid of a rootless engine's user, -1 rootful
	Version string `json:"version,omitempty"`
	// Error is why it did not answer ("" when it did).
	Error string `json:"error,omitempty"`
	// CRIOff marks a containerd whose CRI plugin is off (Version
	// unimplemented): its Kubernetes pods, if any, are named from
	// containerd's labels, without pod labels.
	CRIOff bool `json:"cri_off,omitempty"`
}

// surveyTimeout bounds each engine's answer.
const surveyTimeout = 3 * time.Second

// Survey asks every endpoint FindSockets lists on this host (and the CRI
// endpoints given) which version it runs, all at once, each within a few
// seconds. A containerd socket is listed once for its own API and once
// for its CRI.
func Survey(ctx context.Context, criSockets []string) []EngineStatus {
	socks := findSockets("/", os.Getenv, criSockets)
	out := make([]EngineStatus, len(socks))
	var wg sync.WaitGroup
	for i, s := range socks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, surveyTimeout)
			defer cancel()
			out[i] = survey(ctx, s)
		}()
	}
	wg.Wait()
	return out
}

func survey(ctx context.Context, s Socket) EngineStatus {
	st := EngineStatus{API: "engine", Runtime: s.Runtime, Host: s.Host, Owner: s.Owner}
	path, unix := strings.CutPrefix(s.Host, "unix://")
	var err error
	switch s.Runtime {
	case RuntimeContainerd:
		st.API = "containerd"
		if !unix {
			err = fmt.Errorf("not a unix socket")
			break
		}
		var c *Containerd
		if c, err = DialContainerd(path, s.Owner); err == nil {
			var v *versionapi.VersionResponse
			if v, err = versionapi.NewVersionClient(c.conn).Version(ctx, &emptypb.Empty{}); err == nil {
				st.Version = "containerd " + v.Version
			}
			c.Close()
		}
	case RuntimeCRI:
		st.API, st.Runtime = "cri", s.Hint
		if !unix {
			err = fmt.Errorf("not a unix socket")
			break
		}
		var c *CRI
		if c, err = DialCRI(path, s.Hint); err == nil {
			st.Version, err = c.Version(ctx)
			st.Runtime = c.Runtime()
			c.Close()
		}
		if status.Code(err) == codes.Unimplemented {
			st.CRIOff, err = true, nil
		}
	default:
		var d *Docker
		if d, err = DialDocker(s.Host, s.Runtime, s.Owner); err == nil {
			var e Engine
			if e, err = d.Engine(ctx); err == nil {
				st.Version = fmt.Sprintf("%s (API %s, cgroup v%s, %s driver)", e.ServerVersion, e.API, e.CgroupVersion, e.CgroupDriver)
			}
			d.Close()
		}
	}
	if err != nil {
		st.Error = err.Error()
	}
	return st
}

// SurveyChecks turns a survey into doctor's checks, one per endpoint
// ("engine-docker", "engine-podman", "engine-containerd", "engine-cri"): OK with its version when it
// answers, a warning with the fix when it does not (detection goes on,
// its containers' names are <NA>), and a warning when none was found.
func SurveyChecks(engines []EngineStatus) []kernel.Check {
	if len(engines) == 0 {
		return []kernel.Check{{Name: "engines", Status: kernel.Warn,
			Detail: "no container engine socket found (Docker, podman, containerd, CRI): alerts will carry container ids and runtimes, not names",
			Fix:    "start the engine, or point DOCKER_HOST, CONTAINER_HOST, CONTAINERD_ADDRESS or CONTAINER_RUNTIME_ENDPOINT (or watch --cri-socket) at its socket"}}
	}
	var out []kernel.Check
	for _, e := range engines {
		who := e.Runtime
		if who == "" {
			who = "CRI runtime"
		}
		if e.Owner >= 0 {
			who = fmt.Sprintf("rootless %s of uid %d", who, e.Owner)
		}
		api := map[string]string{"engine": "Engine API", "containerd": "containerd API", "cri": "CRI"}[e.API]
		name := e.API
		if name == "engine" {
			name = e.Runtime
		}
		c := kernel.Check{Name: "engine-" + name, Status: kernel.OK}
		host := escape.Text(e.Host)
		switch {
		case e.CRIOff:
			c.Detail = fmt.Sprintf("%s at %s: CRI plugin off; Kubernetes pods on it would be named from containerd's labels, without pod labels", who, host)
		case e.Error != "":
			c.Status = kernel.Warn
			c.Detail = fmt.Sprintf("%s (%s) at %s not answering: %s; detection works, its containers' names and images are <NA>", who, api, host, escape.Text(e.Error))
			c.Fix = "start it, or check the socket's permissions; watch asks again every 5 s"
		default:
			c.Detail = fmt.Sprintf("%s (%s) at %s: %s", who, api, host, escape.Text(e.Version))
		}
		out = append(out, c)
	}
	return out
}
