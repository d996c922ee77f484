package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseStacks(t *testing.T) {
	dump := `goroutine 1 [running]:
main.main()
	/x/main.go:10 +0x1

goroutine 7 [select]:
runtime.gopark(0x0?, 0x0?, 0x0?, 0x0?, 0x0?)
	/go/src/runtime/proc.go:460 +0xce
runtime.selectgo(0xc000, 0xc000, 0x0?, 0x0, 0x0?, 0x1)
	/go/src/runtime/select.go:351 +0x837
github.com/pion/ice/v2.(*Agent).taskLoop(0xc0001)
	/m/agent.go:300 +0x1
created by github.com/pion/ice/v2.NewAgent in goroutine 5
	/m/agent.go:400 +0x2

goroutine 8 [sync.Cond.Wait]:
sync.runtime_notifyListWait(0x0, 0x0)
	/go/src/runtime/sema.go:606 +0x159
sync.(*Cond).Wait(0xc0002)
	/go/src/sync/cond.go:71 +0x85
github.com/pion/ice/v2.(*Agent).taskLoop(0xc0003)
	/m/agent.go:300 +0x1
created by github.com/pion/ice/v2.NewAgent in goroutine 6
	/m/agent.go:400 +0x2
`
	g := parseStacks(strings.NewReader(dump))
	if n := g["github.com/pion/ice/v2.(*Agent).taskLoop  ← github.com/pion/ice/v2.NewAgent"]; n != 2 {
		t.Errorf("taskLoop: %d, want 2 (groups %v)", n, g)
	}
	if n := g["main.main  ← ?"]; n != 1 {
		t.Errorf("main: %d, want 1 (groups %v)", n, g)
	}
	d := g.minus(groups{"main.main  ← ?": 1})
	if len(d) != 1 {
		t.Errorf("minus: %v", d)
	}
	if out := d.format(2); !strings.Contains(out, "1.00  github.com/pion/ice/v2.(*Agent).taskLoop") {
		t.Errorf("format: %q", out)
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-pairs", "10, 20", "-variants", "sp,pion"})
	if err != nil || len(c.pairs) != 2 || c.pairs[1] != 20 || len(c.variants) != 2 {
		t.Fatalf("parseFlags: %+v, %v", c, err)
	}
	for _, bad := range [][]string{
		{"-pairs", "0"}, {"-pairs", "x"}, {"-variants", "nope"}, {"-parallel", "0"},
		{"-cpuphase", "later"}, {"-cpuprofile", "f"}, {"extra"},
	} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q) succeeded", bad)
		}
	}
}

// TestRunOne connects, checks and closes a few pairs of every variant.
func TestRunOne(t *testing.T) {
	if testing.Short() {
		t.Skip("connects real peers")
	}
	c := &config{parallel: 2, idle: 100 * time.Millisecond, settle: time.Second, timeout: 20 * time.Second}
	for _, v := range variantOrder {
		res, err := runOne(c, v, 3, false, true)
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if res.connected != 3 || res.pingFails != 0 || res.gPerPeer <= 0 || res.summary == "" {
			t.Errorf("%s: %+v", v, res)
		}
		if res.leftG > 0 {
			t.Errorf("%s: %d goroutines left:\n%s", v, res.leftG, res.leftDump)
		}
	}
}
