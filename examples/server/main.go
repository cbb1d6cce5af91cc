// Command server is the essay's fortio-style server, packaged FROM scratch:
// HTTP on 8080 (with a /check endpoint proving the CA bundle and the MIME
// table made it into the image, and /fs telling where it may write), a UDP
// echo on 8079 and a redirector on 8081.
package main

import (
	"crypto/x509"
	"flag"
	"fmt"
	"log"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
)

// version is set at build time: -ldflags "-X main.version=...".
var version = "dev"

func main() {
	configDir := flag.String("config-dir", "/etc/server", "directory of configuration files")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "server %s (config in %s)\n", version, *configDir)
	})
	mux.HandleFunc("/check", func(w http.ResponseWriter, r *http.Request) {
		ok := true
		for _, f := range []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/mime.types"} {
			if _, err := os.ReadFile(f); err != nil {
				ok = false
				fmt.Fprintf(w, "missing %s: %v\n", f, err)
			} else {
				fmt.Fprintf(w, "found %s\n", f)
			}
		}
		if pool, err := x509.SystemCertPool(); err != nil || !pool.Equal(x509.NewCertPool()) {
			fmt.Fprintln(w, "system cert pool loaded")
		}
		// The Go mime package reads /etc/mime.types: .webp is not in its
		// built-in table.
		fmt.Fprintf(w, "mime .webp = %q\n", mime.TypeByExtension(".webp"))
		wd, _ := os.Getwd()
		fmt.Fprintf(w, "uid=%d gid=%d workdir=%s\n", os.Getuid(), os.Getgid(), wd)
		if !ok {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})

	// /fs says where the process may write. Run as `scratchc compose` or
	// `scratchc k8s` deploy it, the root is read-only while /tmp, the
	// configuration volume and the data volume (the working directory)
	// are writable.
	mux.HandleFunc("/fs", func(w http.ResponseWriter, r *http.Request) {
		for _, dir := range []string{"/", os.TempDir(), *configDir, "."} {
			f, err := os.CreateTemp(dir, ".write-test-*")
			if err != nil {
				fmt.Fprintf(w, "write %s: %v\n", dir, err)
				continue
			}
			f.Close()
			os.Remove(f.Name())
			fmt.Fprintf(w, "write %s: ok\n", dir)
		}
	})

	go udpEcho(":8079")
	go func() {
		redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://localhost:8080"+r.URL.Path, http.StatusFound)
		})
		log.Fatal(http.ListenAndServe(":8081", redirect))
	}()
	log.Printf("server %s listening on :8080, :8079/udp, :8081 (data in %s)", version, filepath.Clean("."))
	log.Fatal(http.ListenAndServe(":8080", mux))
}

// udpEcho answers each datagram with its own content.
func udpEcho(addr string) {
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 65536)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			continue
		}
		_, _ = conn.WriteTo(buf[:n], from)
	}
}
