// Command agentcheck asks the SSH agent at $SSH_AUTH_SOCK for its keys
// (the agent protocol's REQUEST_IDENTITIES) and fails unless it holds
// one: proof that the build step reaches the forwarded agent.
package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
)

func main() {
	conn, err := net.Dial("unix", os.Getenv("SSH_AUTH_SOCK"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "no agent:", err)
		os.Exit(1)
	}
	// uint32 length 1, then SSH_AGENTC_REQUEST_IDENTITIES (11).
	if _, err := conn.Write([]byte{0, 0, 0, 1, 11}); err != nil {
		fmt.Fprintln(os.Stderr, "write:", err)
		os.Exit(1)
	}
	var head [9]byte
	if _, err := io.ReadFull(conn, head[:]); err != nil {
		fmt.Fprintln(os.Stderr, "read:", err)
		os.Exit(1)
	}
	// SSH_AGENT_IDENTITIES_ANSWER (12), then a uint32 count.
	n := binary.BigEndian.Uint32(head[5:])
	if head[4] != 12 || n == 0 {
		fmt.Fprintf(os.Stderr, "the agent holds no key (answer %d, %d keys)\n", head[4], n)
		os.Exit(1)
	}
	fmt.Printf("the agent holds %d key(s)\n", n)
}
