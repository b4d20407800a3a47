//go:build amd64

package ebpf

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// The C enums and the Go constants must agree; read the C side from the
// committed object's BTF.
func TestCConstantsMatchGo(t *testing.T) {
	spec, err := loadCapture()
	if err != nil {
		t.Fatal(err)
	}
	enums := map[string]map[string]uint64{}
	for _, name := range []string{"rec_kind", "item_type", "conf_flag", "conf_flag2", "path_flag", "hdr_flag", "cgroup_mode"} {
		var e *btf.Enum
		if err := spec.Types.TypeByName(name, &e); err != nil {
			t.Fatalf("enum %s: %v", name, err)
		}
		enums[name] = map[string]uint64{}
		for _, v := range e.Values {
			enums[name][v.Name] = v.Value
		}
	}
	want := map[string]map[string]uint64{
		"rec_kind": {"KIND_SYSCALL": uint64(KindSyscall), "KIND_ENTER": uint64(KindEnter), "KIND_EXEC": uint64(KindExec),
			"KIND_FORK": uint64(KindFork), "KIND_EXIT": uint64(KindExit), "KIND_CAP": uint64(KindCap)},
		"item_type": {"IT_STR": itStr, "IT_BASE": itBase, "IT_FDPATH": itFDPath, "IT_TUPLE": itTuple, "IT_ADDR": itAddr,
			"IT_STRUCT": itStruct, "IT_CWD": itCwd, "IT_EXE": itExe, "IT_ARGV": itArgv, "IT_FILENAME": itFilename,
			"IT_TTY": itTTY, "IT_FORK": itFork, "IT_EXIT": itExit, "IT_CGROUP": itCgroup, "IT_ENV": itEnv, "IT_INODE": itInode},
		"conf_flag":   {"CF_RET_FD": cfRetFD, "CF_CWD": cfCwd, "CF_ENTER": cfEnter, "CF_ZERO_ON_OK": cfZeroOnOK, "CF_ADDRLEN_PTR": cfAddrlenPtr, "CF_FULL_ID": cfFullID, "CF_MIN": cfMin, "CF_MSGHDR": cfMsghdr},
		"path_flag":   {"PF_COMPLETE": pfComplete, "PF_TRUNC": 2, "PF_GLOBAL": pfGlobal, "PF_PSEUDO": pfPseudo},
		"conf_flag2":  {"CF2_SOCKETCALL": cf2Socketcall, "CF2_FD_PAIR": cf2FDPair, "CF2_SHED": cf2Shed},
		"hdr_flag":    {"HF_COMPAT": hfCompat, "HF_LEAN": hfLean, "HF_MIN": hfMin, "HF_SOCKETCALL": hfSocketcall, "HF_X32": hfX32, "HF_IO_URING": hfIOUring, "HF_URING_SUBMIT": hfURingSubmit},
		"cgroup_mode": {"CGROUP_NONE": 0, "CGROUP_V2": 1, "CGROUP_V1": 2},
	}
	if !reflect.DeepEqual(enums, want) {
		t.Errorf("C enums %v\ndiffer from Go %v", enums, want)
	}
	var s *btf.Struct
	if err := spec.Types.TypeByName("event_hdr", &s); err != nil {
		t.Fatal(err)
	}
	if int(s.Size) != hdrSize {
		t.Errorf("event_hdr is %d bytes in C, %d in Go", s.Size, hdrSize)
	}
	if !bytes.Equal([]byte(spec.Programs["sys_exit"].AttachTo), []byte("sys_exit")) {
		t.Errorf("sys_exit attaches to %q", spec.Programs["sys_exit"].AttachTo)
	}
}

// The hand-written Go mirrors must match the C structs member by member.
func TestLayoutMatchesBTF(t *testing.T) {
	spec, err := loadCapture()
	if err != nil {
		t.Fatal(err)
	}
	for cName, goVal := range map[string]any{
		"event_hdr": eventHdr{}, "sc_conf": scConf{}, "tuple": rawTuple{},
		"fork_info": rawFork{}, "exit_info": rawExit{}, "file_id": rawFileID{}, "inode_key": inodeKey{},
	} {
		var s *btf.Struct
		if err := spec.Types.TypeByName(cName, &s); err != nil {
			t.Fatalf("struct %s: %v", cName, err)
		}
		gt := reflect.TypeOf(goVal)
		if uintptr(s.Size) != gt.Size() {
			t.Errorf("%s: C %d bytes, Go %s %d bytes", cName, s.Size, gt.Name(), gt.Size())
		}
		if len(s.Members) != gt.NumField() {
			t.Errorf("%s: C %d members, Go %d fields", cName, len(s.Members), gt.NumField())
			continue
		}
		for i, m := range s.Members {
			f := gt.Field(i)
			size, err := btf.Sizeof(m.Type)
			if err != nil {
				t.Fatal(err)
			}
			if uintptr(m.Offset.Bytes()) != f.Offset || uintptr(size) != f.Type.Size() {
				t.Errorf("%s.%s at %d (%d bytes) vs Go %s at %d (%d bytes)", cName, m.Name, m.Offset.Bytes(), size, f.Name, f.Offset, f.Type.Size())
			}
		}
	}
}
