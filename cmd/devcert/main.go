// Command devcert writes a development CA and a server certificate for
// localhost into a directory, once; `make run` calls it.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/miniprom/miniprom/pkg/devcert"
)

func main() {
	dir := flag.String("dir", ".dev", "directory for ca.crt, server.crt and server.key")
	hosts := flag.String("hosts", "localhost,127.0.0.1,::1", "comma-separated names and addresses the server certificate is valid for")
	flag.Parse()
	wrote, err := devcert.WriteDevSet(*dir, strings.Split(*hosts, ","))
	if err != nil {
		fmt.Fprintln(os.Stderr, "devcert:", err)
		os.Exit(1)
	}
	if wrote {
		fmt.Printf("devcert: wrote a development CA and server certificate to %s/ (trust %s/ca.crt)\n", *dir, *dir)
	}
}
