package main

import (
	"fmt"

	"example.com/priv"
)

func main() {
	fmt.Println("uses", priv.Word)
}
