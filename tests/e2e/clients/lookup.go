// lookup: resolves names with Go's own resolver (built with CGO_ENABLED=0, as most static Go
// binaries in containers are), for tests/e2e/test_resolver_matrix.py. Same output as
// lookup.c: "NAME ok ADDR...", "NAME notfound" or "NAME error TEXT", one line per name.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

func main() {
	resolver := &net.Resolver{PreferGo: true}
	for _, name := range os.Args[1:] {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		addrs, err := resolver.LookupIPAddr(ctx, name)
		cancel()
		var dnsErr *net.DNSError
		switch {
		case err == nil:
			seen := map[string]bool{}
			out := []string{}
			for _, a := range addrs {
				if text := a.IP.String(); !seen[text] {
					seen[text] = true
					out = append(out, text)
				}
			}
			fmt.Printf("%s ok %s\n", name, strings.Join(out, " "))
		case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
			fmt.Printf("%s notfound\n", name)
		default:
			fmt.Printf("%s error %v\n", name, err)
		}
	}
}
