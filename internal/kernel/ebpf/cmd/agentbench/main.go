// Command agentbench measures what `palisade watch` costs the rest of the
// machine, side by side in one run: a getppid loop and an open+close loop are
// timed with the agent off and on, alternating, for several rounds; the
// agent's CPU time for the events it handled (its idle CPU subtracted), its
// resident memory idle and under load, and the drops it reported.
//
//	sudo go run ./internal/kernel/ebpf/cmd/agentbench -bin ./bin/palisade -- \
//	    --store none --metrics none -r ../shared/falco-rules/falco_rules.yaml
//
// Everything after -- is passed to `palisade watch`.
//
// -vs 'CMD ARGS...' measures another agent in the same rounds (off, palisade
// on, the other on), for a side-by-side comparison with, say, Falco; -vs-ready
// is the text it prints once it captures. Its CPU is given per million
// captured events of the loops (two per open+close pair), which both agents
// see.
//
// -mmap N adds a loop of N mmap+munmap pairs, each mmap a capability check
// (CAP_SYS_ADMIN): with -vs the same palisade without the capability drift
// rule, it shows what capturing capability checks costs.
//
// -rates R1,R2,... holds each event rate for 3 s against a fresh agent and
// reports its drops. -rates-on 'ARGS' holds each rate also with ARGS added
// to watch's (say, --config with the NATS output), alternating off and on
// for -rounds rounds; -trigger PATH makes one open+close pair in
// -trigger-every open PATH instead, so a rule of yours matching it gives a
// known alert rate:
//
//	agentbench -bin ./bin/palisade -rates 200000,400000 -rates-on '--config nats.yaml' \
//	    -trigger /tmp/trigger -trigger-every 100 -- --store none --metrics none --builtin -r trigger.yaml
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/kernel/ebpf/cmd/internal/procstat"
)

func main() {
	bin := flag.String("bin", "./bin/palisade", "palisade binary")
	rounds := flag.Int("rounds", 3, "off/on rounds")
	ppids := flag.Int("getppid", 3_000_000, "getppid calls per round")
	opens := flag.Int("open", 300_000, "open+close pairs per round")
	flag.IntVar(&mmaps, "mmap", 0, "also time this many mmap+munmap pairs of one private writable page per round: each mmap is a capability check (CAP_SYS_ADMIN, cap_vm_enough_memory), a record when the agent captures them (drift rules with --baselines)")
	idle := flag.Duration("idle", 5*time.Second, "idle time measured for the agent's baseline CPU and RSS")
	procs := flag.Int("procs", 0, "also measure RSS with this many extra live processes (sleep)")
	rates := flag.String("rates", "", "instead: comma-separated event rates (per second) to hold for 3 s each with open+close pairs from every CPU; reports drops per rate")
	vs := flag.String("vs", "", "also measure this agent command line (space-separated) in the same rounds")
	vsReady := flag.String("vs-ready", "", "text the -vs agent prints (stdout or stderr) once it is capturing")
	rateOn := flag.String("rates-on", "", "with -rates: also hold each rate with these extra watch arguments (space-separated), alternating off/on for -rounds rounds")
	trigger := flag.String("trigger", "", "with -rates: every -trigger-every-th open+close pair opens this path instead of /etc/hostname (a rule of yours matching it makes alerts)")
	triggerEvery := flag.Int("trigger-every", 100, "with -trigger: one pair in this many opens the trigger path")
	flag.Parse()
	args := flag.Args()
	if *vs != "" {
		if *vsReady == "" {
			fmt.Fprintln(os.Stderr, "agentbench: -vs needs -vs-ready")
			os.Exit(2)
		}
		other = &agentSpec{argv: strings.Fields(*vs), ready: *vsReady}
	}
	if *rates != "" {
		var on []string
		if *rateOn != "" {
			on = strings.Fields(*rateOn)
		}
		if *triggerEvery < 1 {
			fmt.Fprintln(os.Stderr, "agentbench: -trigger-every must be at least 1")
			os.Exit(2)
		}
		if err := rateRun(*bin, args, *rates, on, *rounds, *trigger, *triggerEvery); err != nil {
			fmt.Fprintln(os.Stderr, "agentbench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*bin, args, *rounds, *ppids, *opens, *idle, *procs); err != nil {
		fmt.Fprintln(os.Stderr, "agentbench:", err)
		os.Exit(1)
	}
}

type agent struct {
	cmd     *exec.Cmd
	stderr  bytes.Buffer
	ready   time.Duration
	summary map[string]uint64
}

// agentSpec is another agent to compare with (-vs): its command line and
// the text it prints once it captures.
type agentSpec struct {
	argv  []string
	ready string
}

var other *agentSpec

// mmaps is -mmap: mmap+munmap pairs per round (0: no such loop).
var mmaps int

func startAgent(bin string, args []string) (*agent, error) {
	full := append([]string{"watch", "-o", "json", "--out", os.DevNull}, args...)
	return startCmd(exec.Command(bin, full...), "watching:", false)
}

// startCmd starts an agent and waits until it prints ready; with both, its
// stdout is read too (and otherwise discarded).
func startCmd(cmd *exec.Cmd, ready string, both bool) (*agent, error) {
	a := &agent{cmd: cmd}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	a.cmd.Stderr = pw
	a.cmd.Stdout = nil
	if both {
		a.cmd.Stdout = pw
	}
	start := time.Now()
	if err := a.cmd.Start(); err != nil {
		return nil, err
	}
	pw.Close()
	sc := bufio.NewScanner(pr)
	readyc := make(chan error, 1)
	go func() {
		sent := false
		for sc.Scan() {
			line := sc.Text()
			a.stderr.WriteString(line + "\n")
			if !sent && strings.Contains(line, ready) {
				readyc <- nil
				sent = true
			}
			if strings.HasPrefix(line, "{") {
				var m map[string]uint64
				if json.Unmarshal([]byte(line), &m) == nil {
					a.summary = m
				}
			}
		}
		if !sent {
			readyc <- fmt.Errorf("agent exited before ready")
		}
	}()
	select {
	case err := <-readyc:
		if err != nil {
			a.cmd.Wait()
			return nil, fmt.Errorf("%v: %s", err, a.stderr.String())
		}
	case <-time.After(20 * time.Second):
		a.cmd.Process.Kill()
		return nil, fmt.Errorf("agent not ready after 20 s")
	}
	a.ready = time.Since(start)
	return a, nil
}

func (a *agent) stop() error {
	a.cmd.Process.Signal(syscall.SIGINT)
	err := a.cmd.Wait()
	time.Sleep(50 * time.Millisecond)
	return err
}

// cpu returns the process's user+system CPU so far.
func cpu(pid int) time.Duration { return procstat.CPU(pid) }

// rss returns the process's resident set and its peak, in MB.
func rss(pid int) (now, peak float64) {
	n, p := procstat.Memory(strconv.Itoa(pid))
	return n / 1000, p / 1000
}

func loops(ppids, opens int) (ppidNS, openNS float64) {
	ppidNS, openNS, _ = loops3(ppids, opens, 0)
	return
}

// loops3 times getppid, open+close and mmap+munmap pairs (-mmap) from one
// locked thread.
func loops3(ppids, opens, maps int) (ppidNS, openNS, mmapNS float64) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t := time.Now()
	for i := 0; i < ppids; i++ {
		unix.Getppid()
	}
	ppidNS = float64(time.Since(t).Nanoseconds()) / float64(ppids)
	path := []byte("/etc/hostname\x00")
	t = time.Now()
	for i := 0; i < opens; i++ {
		fd, _, e := unix.Syscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafePtr(path)), unix.O_RDONLY, 0, 0, 0)
		if e == 0 {
			unix.Syscall(unix.SYS_CLOSE, fd, 0, 0)
		}
	}
	openNS = float64(time.Since(t).Nanoseconds()) / float64(opens)
	if maps > 0 {
		t = time.Now()
		for i := 0; i < maps; i++ {
			addr, _, e := unix.Syscall6(unix.SYS_MMAP, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, ^uintptr(0), 0)
			if e == 0 {
				unix.Syscall(unix.SYS_MUNMAP, addr, 4096, 0)
			}
		}
		mmapNS = float64(time.Since(t).Nanoseconds()) / float64(maps)
	}
	return
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func run(bin string, args []string, rounds, ppids, opens int, idle time.Duration, procs int) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root (eBPF)")
	}
	loops(ppids/10, opens/10) // warm up
	var offP, offO, onP, onO, offM, onM, cpuPerM, readies []float64
	var idleRSS, loadRSS float64
	var idleCPU, cpuAllPerM, works []float64
	var events, drops uint64
	var vs []otherRound
	for r := 0; r < rounds; r++ {
		p, o, mm := loops3(ppids, opens, mmaps)
		offP, offO, offM = append(offP, p), append(offO, o), append(offM, mm)

		a, err := startAgent(bin, args)
		if err != nil {
			return err
		}
		readies = append(readies, a.ready.Seconds())
		m := a.onRound(ppids, opens, idle)
		if r == 0 || m.idleRSS > idleRSS {
			idleRSS = m.idleRSS
		}
		if m.peakRSS > loadRSS {
			loadRSS = m.peakRSS
		}
		peak := m.peakRSS
		onP, onO, onM = append(onP, m.ppid), append(onO, m.open), append(onM, m.mmap)
		if err := a.stop(); err != nil && a.summary == nil {
			return fmt.Errorf("agent: %v: %s", err, a.stderr.String())
		}
		ev := a.summary["events"]
		events += ev
		drops += a.summary["drops"]
		idleCPU = append(idleCPU, m.idleRate)
		works = append(works, m.work/1e9)
		if ev > 0 {
			cpuPerM = append(cpuPerM, m.work/1e9/(float64(ev)/1e6))
			cpuAllPerM = append(cpuAllPerM, m.total/1e9/(float64(ev)/1e6))
		}
		fmt.Fprintf(os.Stderr, "round %d: off %.0f / %.0f / %.0f ns, on %.0f / %.0f / %.0f ns, %d events, %d drops, agent %.2f CPU-s/M (%.3f CPU-s this round), rss idle %.1f MB peak %.1f MB\n",
			r+1, offP[r], offO[r], offM[r], onP[r], onO[r], onM[r], ev, a.summary["drops"], cpuPerM[len(cpuPerM)-1], m.work/1e9, idleRSS, peak)
		if other != nil {
			m, err := measureOther(ppids, opens, idle)
			if err != nil {
				return err
			}
			vs = append(vs, m)
			fmt.Fprintf(os.Stderr, "round %d: %s on %.0f / %.0f / %.0f ns, %.2f CPU-s per million loop events (%.3f CPU-s this round), rss idle %.1f MB peak %.1f MB, ready %.2f s\n",
				r+1, other.argv[0], m.ppid, m.open, m.mmap, m.cpuPerM, m.work, m.idleRSS, m.peakRSS, m.ready)
		}
	}
	fmt.Printf("getppid ns: off %.0f on %.0f added %+.0f (medians of %d rounds)\n", median(offP), median(onP), median(onP)-median(offP), rounds)
	fmt.Printf("open+close ns: off %.0f on %.0f added %+.0f\n", median(offO), median(onO), median(onO)-median(offO))
	if mmaps > 0 {
		fmt.Printf("mmap+munmap ns: off %.0f on %.0f added %+.0f\n", median(offM), median(onM), median(onM)-median(offM))
	}
	fmt.Printf("agent CPU per million events: %.2f CPU-s while handling them (median); %.2f counting all its CPU from start to stop\n", median(cpuPerM), median(cpuAllPerM))
	fmt.Printf("agent CPU while idle: %.3f CPU-s per second\n", median(idleCPU))
	fmt.Printf("agent RSS: idle %.1f MB, peak under load %.1f MB\n", idleRSS, loadRSS)
	fmt.Printf("start to ready: %.2f s (median)\n", median(readies))
	fmt.Printf("events %d, drops %d\n", events, drops)
	if len(vs) > 0 {
		pick := func(f func(otherRound) float64) float64 {
			var v []float64
			for _, m := range vs {
				v = append(v, f(m))
			}
			return median(v)
		}
		fmt.Printf("%s: getppid on %.0f added %+.0f; open+close on %.0f added %+.0f; mmap+munmap on %.0f added %+.0f; agent CPU in the loops %.3f CPU-s (this agent %.3f); CPU %.2f CPU-s per million loop events; RSS idle %.1f MB, peak %.1f MB; ready %.2f s (medians, same rounds)\n",
			other.argv[0], pick(func(m otherRound) float64 { return m.ppid }), pick(func(m otherRound) float64 { return m.ppid })-median(offP),
			pick(func(m otherRound) float64 { return m.open }), pick(func(m otherRound) float64 { return m.open })-median(offO),
			pick(func(m otherRound) float64 { return m.mmap }), pick(func(m otherRound) float64 { return m.mmap })-median(offM),
			pick(func(m otherRound) float64 { return m.work }), median(works),
			pick(func(m otherRound) float64 { return m.cpuPerM }), pick(func(m otherRound) float64 { return m.idleRSS }),
			pick(func(m otherRound) float64 { return m.peakRSS }), pick(func(m otherRound) float64 { return m.ready }))
	}
	if procs > 0 {
		return manyProcs(bin, args, procs)
	}
	return nil
}

// onFigures are one round's figures with an agent on.
type onFigures struct {
	ppid, open, mmap float64 // ns per getppid, per open+close pair, per mmap+munmap pair
	idleRSS, peakRSS float64 // MB
	idleRate         float64 // CPU-ns per ns while idle
	// work is the agent's CPU-ns while the loops ran (and it drained), less
	// what it spends idle over the same time; total, an upper bound that
	// stays right when other load makes the idle period busy too, all its
	// CPU from start to stop (start-up included).
	work, total float64
}

// onRound measures the agent idle for idle, then the loops with it on.
func (a *agent) onRound(ppids, opens int, idle time.Duration) onFigures {
	var m onFigures
	pid := a.cmd.Process.Pid
	c0 := cpu(pid)
	time.Sleep(idle)
	c1 := cpu(pid)
	m.idleRSS, _ = rss(pid)
	t0 := time.Now()
	m.ppid, m.open, m.mmap = loops3(ppids, opens, mmaps)
	busy := time.Since(t0)
	time.Sleep(500 * time.Millisecond) // let the agent drain
	c2 := cpu(pid)
	_, m.peakRSS = rss(pid)
	m.idleRate = float64(c1-c0) / float64(idle)
	m.work = float64(c2-c1) - m.idleRate*float64(busy+500*time.Millisecond)
	m.total = float64(c2)
	return m
}

// otherRound is one round's figures for the -vs agent.
type otherRound struct {
	ppid, open, mmap, work, cpuPerM, idleRSS, peakRSS, ready float64
}

// measureOther runs the loops with the -vs agent on: its CPU is counted
// against the loops' captured events (two per open+close pair).
func measureOther(ppids, opens int, idle time.Duration) (otherRound, error) {
	a, err := startCmd(exec.Command(other.argv[0], other.argv[1:]...), other.ready, true)
	if err != nil {
		return otherRound{}, fmt.Errorf("%s: %v", other.argv[0], err)
	}
	m := a.onRound(ppids, opens, idle)
	a.stop()
	return otherRound{ppid: m.ppid, open: m.open, mmap: m.mmap, work: m.work / 1e9, cpuPerM: m.work / 1e9 / (float64(2*opens) / 1e6),
		idleRSS: m.idleRSS, peakRSS: m.peakRSS, ready: a.ready.Seconds()}, nil
}

// manyProcs reports the agent's resident memory with procs extra live
// processes: started before the agent (it reads a process from /proc on its
// first record; these sleep), and started after it (each is tracked from its
// fork and exec records, the table's full cost).
func manyProcs(bin string, args []string, procs int) error {
	for _, before := range []bool{true, false} {
		var kids []*exec.Cmd
		spawn := func() error {
			for i := 0; i < procs; i++ {
				k := exec.Command("sleep", "3600")
				if err := k.Start(); err != nil {
					return err
				}
				kids = append(kids, k)
			}
			return nil
		}
		var a *agent
		var err error
		if before {
			err = spawn()
		}
		if err == nil {
			a, err = startAgent(bin, args)
		}
		if err == nil && !before {
			err = spawn()
		}
		if err == nil {
			time.Sleep(3 * time.Second)
			now, peak := rss(a.cmd.Process.Pid)
			a.stop()
			when := "after"
			if before {
				when = "before"
			}
			fmt.Printf("agent RSS with %d live processes started %s it: %.1f MB now, %.1f MB peak (ready in %.2f s)\n", procs, when, now, peak, a.ready.Seconds())
		}
		for _, k := range kids {
			k.Process.Kill()
			k.Wait()
		}
		if err != nil {
			return err
		}
		time.Sleep(2 * time.Second)
	}
	return nil
}

func unsafePtr(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }

var atFDCWD = func() uintptr { v := int64(unix.AT_FDCWD); return uintptr(v) }()

// rateRun holds each target event rate for 3 s against a fresh agent: every
// CPU runs a paced loop of open+close pairs (two captured events each). With
// on, each rate is held rounds times with the agent as given ("off") and with
// on appended to its arguments ("on"), alternating. With trigger, one pair
// in every triggerEvery opens trigger instead of /etc/hostname.
func rateRun(bin string, args []string, rates string, on []string, rounds int, trigger string, triggerEvery int) error {
	type variant struct {
		name string
		args []string
	}
	variants := []variant{{"", args}}
	if on != nil {
		variants = []variant{{"off", args}, {"on", append(append([]string{}, args...), on...)}}
	} else {
		rounds = 1
	}
	for _, f := range strings.Split(rates, ",") {
		target, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return fmt.Errorf("rate %q: %v", f, err)
		}
		for round := 0; round < rounds; round++ {
			for _, v := range variants {
				if err := holdRate(bin, v.args, v.name, target, trigger, triggerEvery); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// holdRate holds one target rate for 3 s against a fresh agent and prints
// what it saw.
func holdRate(bin string, args []string, name string, target float64, trigger string, triggerEvery int) error {
	a, err := startAgent(bin, args)
	if err != nil {
		return err
	}
	pid := a.cmd.Process.Pid
	c0 := cpu(pid)
	d := 3 * time.Second
	workers := runtime.NumCPU()
	done := make(chan int, workers)
	start := time.Now()
	var trig []byte
	if trigger != "" {
		trig = append([]byte(trigger), 0)
	}
	for range workers {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			path := []byte("/etc/hostname\x00")
			per := target / 2 / float64(workers) // pairs per second per worker
			sent := 0
			for {
				el := time.Since(start)
				if el >= d {
					done <- sent
					return
				}
				if float64(sent) >= per*el.Seconds() {
					time.Sleep(50 * time.Microsecond)
					continue
				}
				for k := range 64 {
					p := path
					if trig != nil && (sent+k)%triggerEvery == 0 {
						p = trig
					}
					fd, _, e := unix.Syscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafePtr(p)), unix.O_RDONLY, 0, 0, 0)
					if e == 0 {
						unix.Syscall(unix.SYS_CLOSE, fd, 0, 0)
					}
				}
				sent += 64
			}
		}()
	}
	pairs := 0
	for range workers {
		pairs += <-done
	}
	el := time.Since(start)
	time.Sleep(500 * time.Millisecond)
	c1 := cpu(pid)
	_, peak := rss(pid)
	a.stop()
	if name != "" {
		fmt.Printf("%-3s ", name)
	}
	fmt.Printf("target %.0f events/s: generated %.0f/s, agent saw %d events, %d drops, %d alerts, agent %.2f CPU-s/s, peak RSS %.1f MB\n",
		target, float64(2*pairs)/el.Seconds(), a.summary["events"], a.summary["drops"], a.summary["alerts"], float64(c1-c0)/float64(el+500*time.Millisecond), peak)
	return nil
}
