// Go's figures for goro's channel benchmarks (benches/channels.rs): the
// same workloads on Go's channels, run with GOMAXPROCS=2.
//
//	cd benches/go/chan && GOMAXPROCS=2 go run .
//
// Prints the median of several runs, in ns per round trip (ping_pong) or
// per message (the rest).
package main

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

const (
	roundTrips  = 100_000
	perProducer = 250_000
	producers   = 4
	consumers   = 4
	capacity    = 1024
	unboundedN  = 1_000_000
	runs        = 15
)

func pingPong(c int) {
	a, b := make(chan int, c), make(chan int, c)
	go func() {
		for i := 0; i < roundTrips; i++ {
			b <- <-a
		}
	}()
	for i := 0; i < roundTrips; i++ {
		a <- i
		if <-b != i {
			panic("ping_pong: wrong value")
		}
	}
}

func mpsc() {
	ch := make(chan int, capacity)
	for p := 0; p < producers; p++ {
		go func() {
			for i := 0; i < perProducer; i++ {
				ch <- i
			}
		}()
	}
	sum := 0
	for i := 0; i < producers*perProducer; i++ {
		sum += <-ch
	}
	if sum != producers*perProducer*(perProducer-1)/2 {
		panic("mpsc: wrong sum")
	}
}

func mpmc() {
	ch := make(chan int, capacity)
	var wp, wc sync.WaitGroup
	for p := 0; p < producers; p++ {
		wp.Add(1)
		go func() {
			defer wp.Done()
			for i := 0; i < perProducer; i++ {
				ch <- i
			}
		}()
	}
	sums := make([]int, consumers)
	for c := 0; c < consumers; c++ {
		wc.Add(1)
		go func(c int) {
			defer wc.Done()
			for v := range ch {
				sums[c] += v
			}
		}(c)
	}
	wp.Wait()
	close(ch)
	wc.Wait()
	total := 0
	for _, s := range sums {
		total += s
	}
	if total != producers*perProducer*(perProducer-1)/2 {
		panic("mpmc: wrong sum")
	}
}

// Go has no unbounded channel; a buffer as large as the whole run never
// blocks the producer, which is what "unbounded" measures.
func unbounded() {
	ch := make(chan int, unboundedN)
	go func() {
		for i := 0; i < unboundedN; i++ {
			ch <- i
		}
	}()
	sum := 0
	for i := 0; i < unboundedN; i++ {
		sum += <-ch
	}
	if sum != unboundedN*(unboundedN-1)/2 {
		panic("unbounded: wrong sum")
	}
}

func select4() {
	var chans [4]chan int
	for k := range chans {
		chans[k] = make(chan int, capacity)
		go func(ch chan int) {
			for i := 0; i < perProducer; i++ {
				ch <- i
			}
		}(chans[k])
	}
	sum := 0
	for i := 0; i < 4*perProducer; i++ {
		select {
		case v := <-chans[0]:
			sum += v
		case v := <-chans[1]:
			sum += v
		case v := <-chans[2]:
			sum += v
		case v := <-chans[3]:
			sum += v
		}
	}
	if sum != 4*perProducer*(perProducer-1)/2 {
		panic("select_4: wrong sum")
	}
}

func median(f func(), ops int) float64 {
	f() // warm up
	xs := make([]float64, runs)
	for r := range xs {
		start := time.Now()
		f()
		xs[r] = float64(time.Since(start).Nanoseconds()) / float64(ops)
	}
	sort.Float64s(xs)
	return xs[runs/2]
}

func main() {
	fmt.Println("Go channel benchmarks: median ns per round trip / per message")
	fmt.Printf("ping_pong_cap0  %8.1f\n", median(func() { pingPong(0) }, roundTrips))
	fmt.Printf("ping_pong_cap1  %8.1f\n", median(func() { pingPong(1) }, roundTrips))
	fmt.Printf("mpsc_contended  %8.1f\n", median(mpsc, producers*perProducer))
	fmt.Printf("mpmc_4x4        %8.1f\n", median(mpmc, producers*perProducer))
	fmt.Printf("unbounded       %8.1f\n", median(unbounded, unboundedN))
	fmt.Printf("select_4        %8.1f\n", median(select4, 4*perProducer))
}
