// Go's goroutines on the same workloads as goro's benches/scheduler.rs and
// benches/idle_memory.rs, so the three runtimes can be compared with Go.
//
// Run (from the repository root; needs only the Go toolchain, any version
// from 1.19 on):
//
//	go run benches/go/sched.go            # every workload, then idle memory
//	go run benches/go/sched.go -skip-idle # without the 1,000,000-goroutine run
//
// GOMAXPROCS is fixed at 2 to match the 2 workers of the Rust benches. Each
// workload is run 2 times to warm up, then measured -rounds times (default
// 10); the line printed is the median, and the fastest, in ns per operation,
// where an operation is what the Rust bench counts as one element:
//
//	spawn_local   a goroutine starts 200,000 no-op goroutines and waits for
//	              all of them (sync.WaitGroup).
//	spawn_remote  the same, but the spawner is a goroutine locked to its own
//	              OS thread (runtime.LockOSThread), the nearest Go has to
//	              "spawning from a thread outside the runtime".
//	yield_many    256 goroutines each call runtime.Gosched 2,000 times.
//	chained_spawn each goroutine starts the next, 1,000 deep.
//	ping_pong     two goroutines pass a value back and forth over two
//	              unbuffered channels, 100,000 round trips.
//	idle memory   resident-set growth (/proc/self/statm) per goroutine for
//	              1,000,000 goroutines parked on their own unbuffered
//	              channel, measured in a fresh child process (this program
//	              re-run with GORO_GO_IDLE_CHILD set), median of 3. The
//	              "channels only" row is the channels without goroutines.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	spawns     = 200_000
	yieldTasks = 256
	yields     = 2_000
	chain      = 1_000
	roundTrips = 100_000
	idleTasks  = 1_000_000
	idleRounds = 3
	childEnv   = "GORO_GO_IDLE_CHILD"
)

func spawnLocal() {
	done := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		wg.Add(spawns)
		for i := 0; i < spawns; i++ {
			go wg.Done()
		}
		wg.Wait()
		close(done)
	}()
	<-done
}

func spawnRemote() {
	var wg sync.WaitGroup
	wg.Add(spawns)
	spawned := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for i := 0; i < spawns; i++ {
			go wg.Done()
		}
		close(spawned)
	}()
	<-spawned
	wg.Wait()
}

func yieldMany() {
	var wg sync.WaitGroup
	wg.Add(yieldTasks)
	for i := 0; i < yieldTasks; i++ {
		go func() {
			for j := 0; j < yields; j++ {
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	wg.Wait()
}

func link(done chan struct{}, left int) {
	if left == 0 {
		close(done)
		return
	}
	go link(done, left-1)
}

func chainedSpawn() {
	done := make(chan struct{})
	go link(done, chain)
	<-done
}

func pingPong() {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for i := 0; i < roundTrips; i++ {
			pong <- (<-ping) + 1
		}
	}()
	ball := 0
	for i := 0; i < roundTrips; i++ {
		ping <- ball
		ball = <-pong
	}
	if ball != roundTrips {
		panic("ping_pong lost a round trip")
	}
}

type workload struct {
	name string
	ops  int
	run  func()
}

// measure returns the median and the fastest ns/op over rounds runs.
func measure(w workload, rounds int) (float64, float64) {
	for i := 0; i < 2; i++ {
		w.run()
	}
	samples := make([]float64, rounds)
	for i := range samples {
		start := time.Now()
		w.run()
		samples[i] = float64(time.Since(start).Nanoseconds()) / float64(w.ops)
	}
	sort.Float64s(samples)
	return samples[len(samples)/2], samples[0]
}

func rss() int64 {
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		panic(err)
	}
	pages, err := strconv.ParseInt(strings.Fields(string(statm))[1], 10, 64)
	if err != nil {
		panic(err)
	}
	return pages * int64(os.Getpagesize())
}

// idleChild parks idleTasks goroutines (or, for "channels", only makes their
// channels) and prints the resident-set growth in bytes.
func idleChild(which string) {
	chans := make([]chan struct{}, idleTasks)
	var parked int64
	before := rss()
	for i := range chans {
		chans[i] = make(chan struct{})
		if which == "goroutines" {
			go func(c chan struct{}) {
				atomic.AddInt64(&parked, 1)
				<-c
			}(chans[i])
		}
	}
	if which == "goroutines" {
		for atomic.LoadInt64(&parked) < idleTasks {
			time.Sleep(5 * time.Millisecond)
		}
	}
	fmt.Println(rss() - before)
	runtime.KeepAlive(chans)
}

func idleMemory() {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	kinds := []string{"channels", "goroutines"}
	results := map[string][]float64{}
	for r := 0; r < idleRounds; r++ {
		for _, kind := range kinds {
			cmd := exec.Command(exe)
			cmd.Env = append(os.Environ(), childEnv+"="+kind)
			out, err := cmd.Output()
			if err != nil {
				fmt.Printf("idle memory: %s failed: %v\n", kind, err)
				continue
			}
			grown, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
			if err != nil {
				panic(err)
			}
			results[kind] = append(results[kind], grown/idleTasks)
		}
	}
	med := func(s []float64) float64 {
		sort.Float64s(s)
		return s[len(s)/2]
	}
	ch, g := med(results["channels"]), med(results["goroutines"])
	fmt.Printf("idle memory, %d parked goroutines, median of %d fresh processes\n", idleTasks, idleRounds)
	fmt.Printf("  channels only  %8.1f B/task\n", ch)
	fmt.Printf("  goroutines     %8.1f B/task  (net of channels %.1f)\n", g, g-ch)
}

func main() {
	runtime.GOMAXPROCS(2)
	if which := os.Getenv(childEnv); which != "" {
		idleChild(which)
		return
	}
	rounds := flag.Int("rounds", 10, "measured runs per workload")
	skipIdle := flag.Bool("skip-idle", false, "skip the idle-memory measurement")
	flag.Parse()

	fmt.Printf("%s, GOMAXPROCS=%d\n", runtime.Version(), runtime.GOMAXPROCS(0))
	fmt.Printf("%-15s %14s %14s\n", "", "median ns/op", "best ns/op")
	for _, w := range []workload{
		{"spawn_local", spawns, spawnLocal},
		{"spawn_remote", spawns, spawnRemote},
		{"yield_many", yieldTasks * yields, yieldMany},
		{"chained_spawn", chain, chainedSpawn},
		{"ping_pong", roundTrips, pingPong},
	} {
		median, best := measure(w, *rounds)
		fmt.Printf("%-15s %14.1f %14.1f\n", w.name, median, best)
	}
	if !*skipIdle {
		idleMemory()
	}
}
