package launch

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/net/bpf"
)

// Config is everything the shim applies before execve.
type Config struct {
	// Path is the resolved executable, Argv its arguments (Argv[0] included).
	Path string   `json:"path"`
	Argv []string `json:"argv"`
	Env  []string `json:"env"`
	Dir  string   `json:"dir,omitempty"`

	// SetUser switches to UID/GID (supplementary groups: just GID).
	SetUser bool `json:"set_user"`
	UID     int  `json:"uid"`
	GID     int  `json:"gid"`

	// Caps is the capability set the command gets: bounding, permitted and
	// effective; for a non-root user also inheritable and ambient, so the
	// capabilities survive execve as they do for root.
	Caps uint64 `json:"caps"`

	NoNewPrivs bool `json:"no_new_privs"`

	// Filter is the seccomp program; nil runs unconfined. FilterFlags are
	// SECCOMP_FILTER_FLAG_* bits for seccomp(2).
	Filter      []bpf.RawInstruction `json:"filter,omitempty"`
	FilterFlags uint                 `json:"filter_flags,omitempty"`

	// AppArmor is a profile to switch to at exec.
	AppArmor string `json:"apparmor,omitempty"`

	// UserNS runs the command in a new user namespace with root inside
	// mapped to HostIDBase.. outside (set by the parent, not the shim).
	UserNS     bool `json:"-"`
	HostIDBase int  `json:"-"`
	IDCount    int  `json:"-"`
}

// ShimFlag is the hidden flag of `palisade run` that selects the shim.
const ShimFlag = "internal-launch-shim"

// ErrNoAppArmor means an AppArmor profile was asked for on a kernel without it.
var ErrNoAppArmor = errors.New("AppArmor is not enabled in this kernel")

// AppArmorEnabled reports whether the kernel has AppArmor turned on.
func AppArmorEnabled() bool {
	b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && len(b) > 0 && b[0] == 'Y'
}

// Start launches cfg through the shim at self (the palisade binary) with
// stdio attached, and returns the running command.
func Start(self string, cfg Config) (*exec.Cmd, error) {
	if cfg.AppArmor != "" && !AppArmorEnabled() {
		return nil, fmt.Errorf("--apparmor %s: %w (/sys/module/apparmor/parameters/enabled is not Y)", cfg.AppArmor, ErrNoAppArmor)
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode launch config: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("create config pipe: %w", err)
	}
	defer r.Close()
	cmd := exec.Command(self, "run", "--"+ShimFlag+"=3")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{r}
	cmd.Env = cfg.Env
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if cfg.UserNS {
		count := cfg.IDCount
		if count == 0 {
			count = 65536
		}
		attr.Cloneflags = syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: cfg.HostIDBase, Size: count}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: cfg.HostIDBase, Size: count}}
		attr.GidMappingsEnableSetgroups = true
		// Become root of the namespace before exec, or exec drops every
		// capability (the unmapped host uid is nobody inside).
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0}
	}
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("start launch shim: %w", err)
	}
	_, werr := w.Write(data)
	w.Close()
	if werr != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("send launch config: %w", werr)
	}
	return cmd, nil
}

// relayed are the signals passed on to the command. SIGINT, SIGQUIT and
// SIGTSTP from a terminal reach it directly (same process group), so the
// parent only ignores them.
var relayed = []os.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGCONT}

// Wait relays signals to cmd until it ends and returns the exit code a
// shell would report: the exit status, or 128+N when killed by signal N.
func Wait(cmd *exec.Cmd) (int, error) {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, relayed...)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			if s == syscall.SIGINT || s == syscall.SIGQUIT {
				continue // the terminal sent it to the command too
			}
			_ = cmd.Process.Signal(s)
		case err := <-done:
			if err == nil {
				return 0, nil
			}
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					return 128 + int(ws.Signal()), nil
				}
				return ee.ExitCode(), nil
			}
			return 0, fmt.Errorf("wait for command: %w", err)
		}
	}
}
