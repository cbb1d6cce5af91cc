// Package priv is a private module: only the test's proxy serves it, and
// only to a client that sends the netrc credentials.
package priv

// Word is what the private module says.
const Word = "private"
