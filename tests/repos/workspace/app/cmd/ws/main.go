package main

import (
	"fmt"

	"example.com/ws/lib"
)

func main() {
	fmt.Println("built in a", lib.Word)
}
