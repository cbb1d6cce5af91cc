// Command billing is one of the company example's services.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "billing (team %s)\n", os.Getenv("TEAM"))
	})
	log.Fatal(http.ListenAndServe(":8080", nil))
}
