package ebpf

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/syscalls"

	"github.com/palisade-sec/palisade/internal/testutil"
)

func nr(t *testing.T, arch, name string) int {
	t.Helper()
	n, ok := syscalls.Number(arch, name)
	if !ok {
		t.Fatalf("%s has no %s", arch, name)
	}
	return n
}

// Syscalls in the shed set are CF2_SHED in both ABIs; others are not.
func TestBuildConfsShed(t *testing.T) {
	openat := nr(t, nativeArch, "openat")
	connect := nr(t, nativeArch, "connect")
	table, err := buildConfs([]int{openat, connect}, map[int]bool{openat: true})
	if err != nil {
		t.Fatal(err)
	}
	if table[openat].Flags2&cf2Shed == 0 || table[compatBase+nr(t, compatArch, "openat")].Flags2&cf2Shed == 0 {
		t.Error("openat in the shed set is not CF2_SHED")
	}
	if table[connect].Flags2&cf2Shed != 0 {
		t.Error("connect outside the shed set is CF2_SHED")
	}
}

func TestBuildConfs(t *testing.T) {
	openat := nr(t, nativeArch, "openat")
	setuid := nr(t, nativeArch, "setuid")
	connect := nr(t, nativeArch, "connect")
	table, err := buildConfs([]int{openat, setuid, connect}, nil)
	if err != nil {
		t.Fatal(err)
	}
	on := 0
	for _, c := range table {
		on += int(c.On)
	}
	// openat, setuid and connect natively; openat, setuid, setuid32,
	// connect and socketcall (for connect) in compat.
	if on != 8 {
		t.Errorf("%d slots on, want 8", on)
	}
	o := table[openat]
	if o.PathMask != 1<<1 || o.Dirfd[1] != 0 || o.Flags&cfRetFD == 0 || o.AddrArg != argNone || o.StructArg != argNone {
		t.Errorf("openat descriptor %+v", o)
	}
	if table[compatBase+nr(t, compatArch, "openat")] != o {
		t.Error("compat openat does not share the native descriptor")
	}
	for _, n := range []string{"setuid", "setuid32"} {
		if table[compatBase+nr(t, compatArch, n)].On != 1 {
			t.Errorf("compat %s not selected with native setuid", n)
		}
	}
	bits := filterBits(&table)
	for i := range compatBase {
		want := table[i].On != 0 || table[compatBase+i].On != 0
		if got := bits[i/64]&(1<<(i%64)) != 0; got != want {
			t.Errorf("filter bit %d = %v, want %v", i, got, want)
		}
	}
	c := table[connect]
	if c.FdMask != 1 || c.AddrArg != 1 || c.AddrlenArg != 2 {
		t.Errorf("connect descriptor %+v", c)
	}
	if _, err := buildConfs([]int{-1}, nil); err == nil {
		t.Error("negative syscall number accepted")
	}
	if _, err := buildConfs([]int{compatBase}, nil); err == nil {
		t.Error("out-of-range syscall number accepted")
	}
}

func TestDefaultSyscalls(t *testing.T) {
	d := DefaultSyscalls()
	for _, want := range []string{"execve", "openat", "openat2", "connect", "accept4", "ptrace", "memfd_create", "finit_module", "clone3", "userfaultfd"} {
		if !slices.Contains(d, nr(t, nativeArch, want)) {
			t.Errorf("default set lacks %s", want)
		}
	}
	if slices.Contains(d, nr(t, nativeArch, "exit_group")) {
		t.Error("default set has exit_group; sched_process_exit covers it without a sys_enter program")
	}
	// Every syscall the capture decodes by default has a descriptor, and
	// its slot in both ABIs is that descriptor's.
	table, err := buildConfs(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range d {
		name, _ := syscalls.Name(nativeArch, n)
		desc := syscalls.Describe(name)
		if desc == nil {
			t.Errorf("%s (%d) captured by default without a descriptor", name, n)
			continue
		}
		if table[n] != conf(desc) {
			t.Errorf("%s: slot %+v, descriptor says %+v", name, table[n], conf(desc))
		}
		for _, cn := range []string{name, name + "32"} {
			if cnr, ok := syscalls.Number(compatArch, cn); ok && table[compatBase+cnr] != conf(desc) {
				t.Errorf("compat %s: slot %+v, descriptor says %+v", cn, table[compatBase+cnr], conf(desc))
			}
		}
	}
}

// i386 socketcall(2) is selected, as a multiplexer, exactly when one of
// the socket calls it stands for is; the kernel's table maps each call
// number to the native call.
func TestSocketcallConf(t *testing.T) {
	sc := compatBase + nr(t, compatArch, "socketcall")
	for _, tt := range []struct {
		native []string
		want   bool
	}{
		{[]string{"connect"}, true},
		{[]string{"sendto"}, true},
		{[]string{"openat", "getuid"}, false}, // native getuid has socketcall's i386 number
		{nil, false},
	} {
		var nrs []int
		for _, n := range tt.native {
			nrs = append(nrs, nr(t, nativeArch, n))
		}
		table, err := buildConfs(nrs, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := table[sc]
		if got := c.On != 0 && c.Flags2&cf2Socketcall != 0; got != tt.want {
			t.Errorf("%v selected: socketcall slot %+v, want selected=%v", tt.native, c, tt.want)
		}
		if tt.want && (c.Flags != 0 || c.PathMask|c.StrMask|c.FdMask != 0 || c.AddrArg != argNone || c.StructArg != argNone) {
			t.Errorf("socketcall slot %+v: it must read nothing of its own", c)
		}
		if bits := filterBits(&table); tt.want && bits[(sc-compatBase)/64]&(1<<((sc-compatBase)%64)) == 0 {
			t.Error("socketcall selected but its filter bit is clear")
		}
	}
	tab := socketcallTable()
	for call, name := range map[int]string{1: "socket", 3: "connect", 5: "accept", 9: "sendto", 10: "recvfrom",
		11: "sendto", 12: "recvfrom", 16: "sendmsg", 18: "accept4", 20: "sendmmsg"} {
		if got := int(tab[call]); got != nr(t, nativeArch, name) {
			t.Errorf("socketcall call %d -> %d, want native %s (%d)", call, got, name, nr(t, nativeArch, name))
		}
	}
	for call := range tab {
		if (call == 0 || call > 20) && tab[call] != 0 {
			t.Errorf("socketcall call %d mapped to %d: no such call", call, tab[call])
		}
		if call >= 1 && call <= 20 && tab[call] == 0 {
			t.Errorf("socketcall call %d unmapped", call)
		}
	}
}

// The x32-specific numbers (512 on) map to the native call of the same name.
func TestX32Table(t *testing.T) {
	tab := x32Table()
	for i, name := range map[int]string{0: "rt_sigaction", 6: "sendmsg", 8: "execve", 9: "ptrace", 33: "execveat", 35: "pwritev2"} {
		if got := int(tab[i]); got != nr(t, nativeArch, name) {
			t.Errorf("x32 %d -> %d, want native %s (%d)", compatBase+i, got, name, nr(t, nativeArch, name))
		}
	}
	for i := 36; i < len(tab); i++ {
		if tab[i] != 0 {
			t.Errorf("x32 %d -> %d: no such x32 call", compatBase+i, tab[i])
		}
	}
}

// The descriptor table for every decoded syscall (exit and exit_group
// too), and the kernel's x32 and socketcall maps, are what
// testdata/conf.golden records: the descriptors can move without the
// kernel's view of them changing.
func TestConfsGolden(t *testing.T) {
	nrs := append(DefaultSyscalls(), nr(t, nativeArch, "exit"), nr(t, nativeArch, "exit_group"))
	table, err := buildConfs(nrs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i, c := range table {
		if c.On != 0 {
			fmt.Fprintf(&b, "%d %+v\n", i, c)
		}
	}
	fmt.Fprintf(&b, "x32 %v\nsocketcall %v\nbits %x\n", x32Table(), socketcallTable(), filterBits(&table))
	testutil.Golden(t, filepath.Join("testdata", "conf.golden"), []byte(b.String()))
}
