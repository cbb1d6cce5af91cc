// Package lib is a module of the workspace, found through go.work.
package lib

// Word is what the workspace's library says.
const Word = "workspace"
