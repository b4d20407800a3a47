package respond

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/kernel/execdeny"
)

// DenyRule is the rule name of the alerts the exec deny list raises.
const DenyRule = "Denied executable killed at exec"

// DenyList is the kernel exec deny list of responses.deny_exec, with a
// goroutine turning its kills into alerts.
type DenyList struct {
	list  *execdeny.List
	paths map[execdeny.FileID]string
	wg    sync.WaitGroup
}

// protectedExe reports why the file id must not be denied: the agent's
// own executable, init's, or its ancestors' (they exec again: a shell, a
// service manager); "" if it may be.
func protectedExe(id execdeny.FileID, guard Guard) string {
	check := map[string]string{"/proc/self/exe": "the agent's executable", "/proc/1/exe": "init's executable"}
	for pid := range guard.Ancestors {
		check["/proc/"+strconv.FormatInt(pid, 10)+"/exe"] = fmt.Sprintf("the executable of the agent's ancestor pid %d", pid)
	}
	for p, what := range check {
		if other, err := execdeny.IDOf(p); err == nil && other == id {
			return what
		}
	}
	return ""
}

// StartDenyList loads the exec deny list with paths (DryRun: nothing is
// loaded; each path is only checked and logged). Each kill becomes an
// alert with a response, handed to send. Paths that name a runtime, the
// kubelet, the agent's executable, init's or an ancestor's are refused:
// an error, like a path that does not exist.
func StartDenyList(paths []string, dryRun bool, guard Guard, send func(alert.Alert), log io.Writer, hostname string) (*DenyList, error) {
	if log == nil {
		log = io.Discard
	}
	d := &DenyList{paths: map[execdeny.FileID]string{}}
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("responses.deny_exec: %q: want an absolute path", p)
		}
		if IsRuntimeProcess(filepath.Base(p)) {
			return nil, fmt.Errorf("responses.deny_exec: %s: a container runtime or kubelet executable is never denied", p)
		}
		id, err := execdeny.IDOf(p)
		if err != nil {
			return nil, fmt.Errorf("responses.deny_exec: %w", err)
		}
		if why := protectedExe(id, guard); why != "" {
			return nil, fmt.Errorf("responses.deny_exec: %s is %s: never denied", p, why)
		}
		d.paths[id] = p
	}
	if dryRun || len(paths) == 0 {
		for _, p := range paths {
			fmt.Fprintf(log, "palisade: respond: dry run: exec deny list would hold %s\n", p)
		}
		return d, nil
	}
	l, err := execdeny.Open()
	if err != nil {
		return nil, fmt.Errorf("responses.deny_exec: %w", err)
	}
	d.list = l
	for id, p := range d.paths {
		if _, err := l.Deny(p); err != nil {
			l.Close()
			return nil, fmt.Errorf("responses.deny_exec: %w", err)
		}
		fmt.Fprintf(log, "palisade: respond: exec deny list holds %s (%s)\n", p, id)
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		for {
			k, err := l.ReadKill()
			if err != nil {
				if !errors.Is(err, os.ErrClosed) {
					fmt.Fprintf(log, "palisade: respond: exec deny list: %v\n", err)
				}
				return
			}
			send(d.alert(k, hostname))
		}
	}()
	return d, nil
}

// alert describes a kill by the kernel: the response's latency is zero,
// the SIGKILL was sent in the exec itself.
func (d *DenyList) alert(k execdeny.Kill, hostname string) alert.Alert {
	path := d.paths[k.File]
	now := time.Now()
	return alert.Alert{
		Time:     now,
		Rule:     DenyRule,
		Priority: alert.Critical,
		Output: fmt.Sprintf("%s: Critical Executable on the exec deny list killed before it ran (file=%s pid=%d)",
			now.UTC().Format("15:04:05.000000000"), path, k.PID),
		OutputFields: map[string]any{"proc.exepath": path, "proc.pid": int64(k.PID), "fs.inode": strconv.FormatUint(k.File.Ino, 10)},
		Source:       "internal",
		Tags:         []string{"response", "exec_deny"},
		Hostname:     hostname,
		Response: &alert.Response{Action: string(Kill), Target: fmt.Sprintf("pid %d (%s)", k.PID, filepath.Base(path)),
			Result: alert.ResultDone},
	}
}

// Close unloads the list (execs of the files run again) and waits for the
// kill reader.
func (d *DenyList) Close() {
	if d.list != nil {
		d.list.Close()
		d.wg.Wait()
	}
}
