// Reference for Go versions: golang.org/x/mod/semver and module from Debian's
// golang-golang-x-mod-dev. Commands, one per stdin line (tab-separated):
//
//	cmp A B   -> semver.Compare(A, B)
//	valid V   -> 1/0 semver.IsValid(V)
//	pseudo V  -> 1/0 module.IsPseudoVersion(V)
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		f := strings.Split(in.Text(), "\t")
		answer := "ERR"
		switch f[0] {
		case "cmp":
			answer = fmt.Sprint(semver.Compare(f[1], f[2]))
		case "valid":
			answer = flag(semver.IsValid(f[1]))
		case "pseudo":
			answer = flag(module.IsPseudoVersion(f[1]))
		}
		fmt.Fprintln(out, answer)
		out.Flush()
	}
}
