package main

import "fmt"

func main() { fmt.Println("web of the monorepo") }
