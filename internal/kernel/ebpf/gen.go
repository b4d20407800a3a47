package ebpf

//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target amd64 -type event_hdr -type sc_conf -type item -type tuple -type fork_info -type exit_info capture bpf/capture.c -- -I./bpf -O2 -g -Wall -Werror
