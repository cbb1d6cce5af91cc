// Command cluster is a service made to run in a cluster: it answers on
// its address and reports itself healthy on its health path, which the
// probes of the template in templates/service.scratch GET.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	showVersion := flag.Bool("version", false, "print the version and exit")
	addr := flag.String("addr", ":8080", "address to listen on")
	health := flag.String("health", "/healthz", "path of the health check")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		os.Exit(0)
	}
	http.HandleFunc(*health, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "cluster %s on %s\n", version, *addr)
	})
	log.Printf("cluster %s listening on %s", version, *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
