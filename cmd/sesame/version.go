package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// versionLine is what `sesame version` prints: the version (set at build
// time, else the module's version from the build info), the VCS revision
// and time the binary was built from, and the Go version.
func versionLine() string {
	v, rev := version, ""
	info, ok := debug.ReadBuildInfo()
	if ok && v == "dev" && info.Main.Version != "" {
		v = info.Main.Version // "(devel)" when built in a checkout
	}
	parts := []string{"sesame", v}
	if ok {
		var at string
		modified := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if rev != "" {
			if modified {
				rev += "+modified"
			}
			parts = append(parts, "revision "+rev)
		}
		if at != "" {
			parts = append(parts, "("+at+")")
		}
		parts = append(parts, info.GoVersion)
	}
	return strings.Join(parts, " ")
}

func printVersion(w io.Writer) {
	fmt.Fprintln(w, versionLine())
}
