package state

import (
	"math/rand/v2"
	"testing"

	"github.com/palisade-sec/palisade/internal/event"
)

// fdTable behaves as a map from descriptor number to FD, for small, large
// and negative numbers, through sets, replacements, deletes and clones.
func TestFDTableMatchesMap(t *testing.T) {
	var tab fdTable
	want := map[int64]*event.FD{}
	rng := rand.New(rand.NewPCG(1, 2))
	nums := []int64{-1, 0, 1, 2, 3, 7, 63, 64, 65, 255, 256, 257, 1000, 1 << 20}
	for step := range 5000 {
		n := nums[rng.IntN(len(nums))]
		switch rng.IntN(3) {
		case 0, 1:
			fd := &event.FD{Num: n}
			tab.set(n, fd)
			want[n] = fd
		case 2:
			tab.del(n)
			delete(want, n)
		}
		if step%700 == 0 {
			even := func(fd *event.FD) bool { return fd.Num%2 == 0 }
			tab.deleteIf(even)
			for k, fd := range want {
				if even(fd) {
					delete(want, k)
				}
			}
		}
		if step%500 == 0 {
			c := tab.clone()
			tab.set(3, &event.FD{Num: 3}) // the clone must not see it
			want[3] = tab.lookup(3)
			if got, _ := c.get(3); got == want[3] {
				t.Fatal("clone shares the slice with its source")
			}
		}
		for _, k := range nums {
			got, ok := tab.get(k)
			if w, wok := want[k]; ok != wok || got != w {
				t.Fatalf("step %d: get(%d) = %v, %v; want %v, %v", step, k, got, ok, w, wok)
			}
		}
		if tab.len() != len(want) {
			t.Fatalf("step %d: len %d, want %d", step, tab.len(), len(want))
		}
		seen := 0
		tab.each(func(n int64, fd *event.FD) {
			if want[n] != fd {
				t.Fatalf("each gave %d -> %v, want %v", n, fd, want[n])
			}
			seen++
		})
		if seen != len(want) {
			t.Fatalf("each visited %d, want %d", seen, len(want))
		}
	}
}

// A clone holds no more slots than the highest open descriptor needs.
func TestFDTableCloneTrims(t *testing.T) {
	var tab fdTable
	for n := range int64(60) {
		tab.set(n, &event.FD{Num: n})
	}
	for n := int64(3); n < 60; n++ {
		tab.del(n)
	}
	tab.set(255, &event.FD{Num: 255}) // a shell's script descriptor
	c := tab.clone()
	if cap(c.low) > 3 || c.len() != 4 || c.lookup(255) == nil {
		t.Errorf("clone of fds 0-2 and 255: %d slots, len %d", cap(c.low), c.len())
	}
}
