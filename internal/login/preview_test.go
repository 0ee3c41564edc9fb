package login

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/preview from the templates")

// TestRenderPreview keeps testdata/preview/<view>.<lang>.html, every view
// in every language as the templates render it (with a fixed nonce), for
// review and for screenshots. A template change shows as a failure here
// until the previews are rewritten with
//
//	go test ./internal/login -run TestRenderPreview -update
func TestRenderPreview(t *testing.T) {
	dir := filepath.Join("testdata", "preview")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, lang := range Langs {
		for _, tc := range views(lang) {
			var buf bytes.Buffer
			if err := Write(&buf, tc.view, testNonce); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, tc.name+"."+string(lang)+".html")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write the previews)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from the templates; review and run with -update", path)
			}
		}
	}
}
