// Command worker is the multi example's background worker: it logs a tick
// every few seconds.
package main

import (
	"flag"
	"log"
	"time"
)

func main() {
	every := flag.Duration("every", 5*time.Second, "time between ticks")
	flag.Parse()
	for t := range time.Tick(*every) {
		log.Printf("tick %s", t.Format(time.RFC3339))
	}
}
