// Go's net/http peer for goro's HTTP benchmark (benches/http.rs): the same
// hello-world server, started by the bench as `go-http ADDR`.
//
// Prints "listening on http://ADDR" once it accepts, then serves until
// killed. GOMAXPROCS comes from the environment (the bench sets 2).
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-http:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	hello := []byte("Hello, world!\n")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Write(hello)
	})
	if err := http.Serve(ln, nil); err != nil {
		fmt.Fprintln(os.Stderr, "go-http:", err)
		os.Exit(1)
	}
}
