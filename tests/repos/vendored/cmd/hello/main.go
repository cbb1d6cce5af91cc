package main

import (
	"fmt"

	"example.com/greet"
	"example.com/vendored/internal/lib"
)

var version = "dev"

func main() {
	fmt.Println(greet.Hello(lib.Name), version)
}
