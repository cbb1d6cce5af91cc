// Package lib is not a main package: `main ./internal/lib` builds an
// archive, which the build reports at the `main` line.
package lib

// Name is who is greeted.
const Name = "vendored"
