package ebpf

// Go mirrors of the structs bpf/capture.c writes. They are written by hand
// (not generated) so that the decoder and the descriptor table build on
// every architecture; TestLayoutMatchesBTF checks them field by field
// against the BTF of the committed object.

// eventHdr mirrors struct event_hdr.
// A minimal record (hfMin) is the header up to Pid only (minHdrSize bytes).
type eventHdr struct {
	Ts       uint64
	Args     [6]uint64
	Ret      int64
	Kind     uint32
	Nr       uint32
	Cpu      uint32
	Flags    uint32
	Tid      uint32
	Pid      uint32
	CgroupId uint64
	CapEff   uint64
	CapPrm   uint64
	Vtid     uint32
	Vpid     uint32
	Ppid     uint32
	Uid      uint32
	Gid      uint32
	Euid     uint32
	Egid     uint32
	Loginuid uint32
	Mntns    uint32
	Pidns    uint32
	Comm     [16]byte
}

// scConf mirrors struct sc_conf.
type scConf struct {
	On         uint8
	Flags      uint8
	PathMask   uint8
	StrMask    uint8
	FdMask     uint8
	AddrArg    uint8
	AddrlenArg uint8
	StructArg  uint8
	StructLen  uint8
	Dirfd      [6]uint8
	Flags2     uint8
}

// rawTuple mirrors struct tuple.
type rawTuple struct {
	Family uint16
	Type   uint16
	Proto  uint16
	Sport  uint16
	Dport  uint16
	Pad    uint16
	Saddr  [16]uint8
	Daddr  [16]uint8
}

// rawFork mirrors struct fork_info.
type rawFork struct {
	Tid   uint32
	Pid   uint32
	Vtid  uint32
	Vpid  uint32
	Flags uint32
	Pad   uint32
}

// rawFileID mirrors struct file_id.
type rawFileID struct {
	Ino   uint64
	Dev   uint32
	Nlink uint32
}

// inodeKey mirrors struct inode_key, the key of protected_inodes.
type inodeKey struct {
	Ino uint64
	Dev uint32
	Pad uint32
}

// rawExit mirrors struct exit_info.
type rawExit struct {
	Code      int32
	GroupDead uint32
	Reaper    uint32
	Pad       uint32
}
