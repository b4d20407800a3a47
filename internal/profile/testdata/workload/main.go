// Command workload is a test workload for profile generation: "serve ADDR"
// is a small HTTP server (reads /etc/hostname, appends an access log under
// /tmp).
package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: workload serve ADDR")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2])
	default:
		os.Exit(2)
	}
}

func serve(addr string) {
	log, err := os.OpenFile("/tmp/access.log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	http.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		host, err := os.ReadFile("/etc/hostname")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintf(log, "%s %s\n", r.Method, r.URL.Path)
		fmt.Fprintf(w, "hello from %s", host)
	})
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
