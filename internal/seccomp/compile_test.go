package seccomp

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/palisade-sec/palisade/internal/caps"
)

func TestDockerDefaultMatchesReference(t *testing.T) {
	for _, host := range []string{"x86_64", "aarch64"} {
		for _, capset := range []struct {
			name string
			set  caps.Set
		}{{"docker-default-caps", caps.DockerDefault()}, {"no-caps", 0}, {"all-caps", caps.All}} {
			t.Run(host+"/"+capset.name, func(t *testing.T) {
				p, err := LoadBuiltin("docker-default")
				if err != nil {
					t.Fatal(err)
				}
				r, err := Resolve(p, Env{Arch: host, Caps: capset.set, Kernel: testKernel})
				if err != nil {
					t.Fatal(err)
				}
				prog := mustCompile(t, r, Options{})
				n := checkEquivalent(t, r, prog, Options{}, rand.New(rand.NewPCG(1, 2)))
				t.Logf("%d instructions, %d vectors agree", prog.Len(), n)
			})
		}
	}
}

func TestRandomProfilesMatchReference(t *testing.T) {
	n := 60
	if testing.Short() {
		n = 10
	}
	for i := range n {
		seed := uint64(i)
		host := []string{"x86_64", "aarch64"}[i%2]
		rng := rand.New(rand.NewPCG(seed, 7))
		spec := randomSpec(rng, host, genOpts{})
		r := resolveSpec(t, spec, host)
		opt := Options{}
		if i%5 == 4 {
			opt.BadArch = ActKillProcess
			opt.NoENOSYS = true
		}
		prog, err := Compile(r, opt)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		checkEquivalent(t, r, prog, opt, rng)
	}
}

// Every operator and action, on a 64-bit and a 32-bit arch.
func TestEveryOpAndAction(t *testing.T) {
	errno := uint(13)
	trace := uint(7)
	rules := []*mobyseccomp.Syscall{}
	add := func(names []string, act specs.LinuxSeccompAction, ret *uint, args ...specs.LinuxSeccompArg) {
		rules = append(rules, &mobyseccomp.Syscall{LinuxSyscall: specs.LinuxSyscall{Names: names, Action: act, ErrnoRet: ret, Args: args}})
	}
	add([]string{"read"}, specs.ActAllow, nil)
	add([]string{"write"}, specs.ActErrno, &errno)
	add([]string{"getpid"}, specs.ActKillProcess, nil)
	add([]string{"getppid"}, specs.ActKillThread, nil)
	add([]string{"getuid"}, specs.ActTrap, nil)
	add([]string{"getgid"}, specs.ActTrace, &trace)
	add([]string{"geteuid"}, specs.ActLog, nil)
	add([]string{"getegid"}, specs.ActNotify, nil)
	big := uint64(0x1_0000_0005)
	for i, op := range allOps {
		name := []string{"ioctl", "fcntl", "lseek", "madvise", "mprotect", "prctl", "kill"}[i]
		a1 := specs.LinuxSeccompArg{Index: uint(i % 6), Op: op, Value: big}
		a2 := specs.LinuxSeccompArg{Index: 5, Op: op, Value: 3}
		if op == specs.OpMaskedEqual {
			a1.ValueTwo, a2.ValueTwo = big&0xf0000000f, 1
		}
		add([]string{name}, specs.ActAllow, nil, a1)
		add([]string{name}, specs.ActErrno, &errno, a2)
	}
	// Several conditions, on distinct and on the same argument (runc ORs those).
	add([]string{"mmap"}, specs.ActAllow, nil,
		specs.LinuxSeccompArg{Index: 0, Op: specs.OpGreaterEqual, Value: 0x10000},
		specs.LinuxSeccompArg{Index: 2, Op: specs.OpMaskedEqual, Value: 0x4, ValueTwo: 0})
	add([]string{"socket"}, specs.ActAllow, nil,
		specs.LinuxSeccompArg{Index: 0, Op: specs.OpEqualTo, Value: 1},
		specs.LinuxSeccompArg{Index: 0, Op: specs.OpEqualTo, Value: 2})
	for _, host := range []string{"x86_64", "aarch64"} {
		var spec mobyseccomp.Seccomp
		spec.DefaultAction = specs.ActErrno
		spec.Syscalls = rules
		for _, a := range family(host) {
			spec.Architectures = append(spec.Architectures, specs.Arch(strings.ToUpper("SCMP_ARCH_"+a)))
		}
		r := resolveSpec(t, spec, host)
		prog := mustCompile(t, r, Options{})
		checkEquivalent(t, r, prog, Options{}, rand.New(rand.NewPCG(3, 4)))
	}
}

// On x86 a rule for a socket- or ipc-family name also covers the
// multiplexer with the call number in arg0, as libseccomp does.
func TestX86Multiplexers(t *testing.T) {
	src := `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], "syscalls": [
		{"names": ["read", "write", "exit_group", "close", "openat", "mmap2", "fstat64", "getdents64"], "action": "SCMP_ACT_ALLOW"},
		{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}]},
		{"names": ["shmget"], "action": "SCMP_ACT_KILL_PROCESS"}]}`
	_, r := resolveText(t, src, "x86_64")
	prog := mustCompile(t, r, Options{})
	sc := uint32(mustNumber(t, "x86", "socketcall"))
	ipc := uint32(mustNumber(t, "x86", "ipc"))
	tests := []struct {
		nr   uint32
		args [6]uint64
		want Action
	}{
		{sc, [6]uint64{1, 1}, ActAllow},      // SYS_SOCKET; arg0's own condition is replaced, arg1 kept
		{sc, [6]uint64{1, 0}, Errno(1)},      // arg1 condition still applies (to the pointer)
		{sc, [6]uint64{2, 1}, Errno(1)},      // SYS_BIND is not covered
		{ipc, [6]uint64{23}, ActKillProcess}, // SHMGET
		{ipc, [6]uint64{22}, Errno(1)},       // SHMDT
		{359, [6]uint64{2, 1}, Errno(38)},    // socket itself: above every counted number, runc's stub says ENOSYS
	}
	for _, tt := range tests {
		d := SeccompData{Nr: tt.nr, Arch: auditOf(t, "x86"), Args: tt.args}
		got, _, err := Run(prog.Raw, d)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want || Evaluate(r, d, Options{}) != tt.want {
			t.Errorf("nr %d args %v: compiled %s, reference %s, want %s", tt.nr, tt.args, got, Evaluate(r, d, Options{}), tt.want)
		}
	}
}

func TestTooLong(t *testing.T) {
	var spec mobyseccomp.Seccomp
	spec.DefaultAction = specs.ActErrno
	spec.Architectures = []specs.Arch{specs.ArchX86_64}
	for i := range 1100 {
		spec.Syscalls = append(spec.Syscalls, &mobyseccomp.Syscall{LinuxSyscall: specs.LinuxSyscall{
			Names: []string{"ioctl"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 1, Op: specs.OpEqualTo, Value: uint64(i) << 20}, {Index: 2, Op: specs.OpGreaterThan, Value: uint64(i)}},
		}})
	}
	r := resolveSpec(t, spec, "x86_64")
	_, err := Compile(r, Options{})
	if !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), "4096") {
		t.Fatalf("want ErrTooLong naming the limit, got %v", err)
	}
}

func TestConflictingUnconditionalActions(t *testing.T) {
	data := `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
 {"names":["read"],"action":"SCMP_ACT_ALLOW"},
 {"names":["read"],"action":"SCMP_ACT_KILL_PROCESS"}]}`
	p, err := Parse("conflict.json", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Resolve(p, Env{Arch: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile(r, Options{})
	if err == nil || !strings.Contains(err.Error(), "conflict.json:3:") || !strings.Contains(err.Error(), "conflict.json:2:") {
		t.Fatalf("want an error naming both entries, got %v", err)
	}
}

// The Must-show figures for Docker's default profile.
func TestDockerDefaultFigures(t *testing.T) {
	r := dockerDefault(t, "x86_64")
	if fmt.Sprint(r.Arches) != "[x86_64 x86 x32]" {
		t.Fatalf("arches %v", r.Arches)
	}
	prog := mustCompile(t, r, Options{})
	st, err := Measure(prog)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", st)
	if st.Instructions >= 1056 {
		t.Errorf("%d instructions, libseccomp's shortest is 1056", st.Instructions)
	}
	if st.AvgExecutedAllowed > 12 || st.MaxExecutedAllowed > 24 {
		t.Errorf("executed avg %.2f max %d, want <= 12 and <= 24", st.AvgExecutedAllowed, st.MaxExecutedAllowed)
	}
	if st.Allowed < 250 {
		t.Errorf("only %d allowed native syscalls", st.Allowed)
	}
	last := prog.Raw[len(prog.Raw)-1]
	if last.Op != opRetK {
		t.Errorf("last instruction %v is not a return", last)
	}
}

// FuzzCompile compiles random profiles and demands the compiled program
// agree with the reference interpreter on every probe.
func FuzzCompile(f *testing.F) {
	f.Add(uint64(1), false)
	f.Add(uint64(2), true)
	f.Fuzz(func(t *testing.T, seed uint64, arm bool) {
		host := "x86_64"
		if arm {
			host = "aarch64"
		}
		rng := rand.New(rand.NewPCG(seed, seed>>7))
		r := resolveSpec(t, randomSpec(rng, host, genOpts{}), host)
		prog, err := Compile(r, Options{})
		if err != nil {
			if errors.Is(err, ErrTooLong) {
				return
			}
			t.Fatal(err)
		}
		checkEquivalent(t, r, prog, Options{}, rng)
	})
}
