package ebpf

//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target amd64 -no-global-types capture bpf/capture.c -- -I./bpf -O2 -g -Wall -Werror
