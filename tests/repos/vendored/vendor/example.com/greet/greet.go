// Package greet is a dependency that only exists vendored: no proxy has
// it, so the build works only from vendor/.
package greet

// Hello greets name.
func Hello(name string) string { return "hello, " + name }
