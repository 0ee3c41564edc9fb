package delivery

import (
	"errors"
	"fmt"
	"sync"

	"github.com/osteele/liquid"
	"github.com/osteele/liquid/render"
)

// renderer is the one Liquid engine of email and SMS templates. It parses
// every distinct template source once and keeps it; rendering a parsed
// liquid.Template is safe from several goroutines.
type renderer struct {
	engine *liquid.Engine

	mu    sync.Mutex // guards cache and engine parsing
	cache map[string]*liquid.Template
}

// maxCachedTemplates bounds the cache; a tenant reload that changes
// templates over and over must not grow memory without end.
const maxCachedTemplates = 256

var liquidRenderer = sync.OnceValue(newRenderer)

func newRenderer() *renderer {
	e := liquid.NewEngine()
	// Templates come from the tenant configuration; {% include %} would let
	// them read files from the server's disk.
	e.RegisterTag("include", func(render.Context) (string, error) {
		return "", errors.New("the include tag is not supported")
	})
	return &renderer{engine: e, cache: make(map[string]*liquid.Template)}
}

func (r *renderer) template(src string) (*liquid.Template, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.cache[src]; ok {
		return t, nil
	}
	t, serr := r.engine.ParseString(src)
	if serr != nil {
		return nil, serr
	}
	if len(r.cache) >= maxCachedTemplates {
		clear(r.cache)
	}
	r.cache[src] = t
	return t, nil
}

// execute renders src with b. Liquid's renderer does not recover from
// panics in filters, so we do.
func (r *renderer) execute(src string, b liquid.Bindings) (out string, err error) {
	t, err := r.template(src)
	if err != nil {
		return "", err
	}
	defer func() {
		if p := recover(); p != nil {
			out, err = "", fmt.Errorf("panic while rendering: %v", p)
		}
	}()
	s, serr := t.RenderString(b)
	if serr != nil {
		return "", serr
	}
	return s, nil
}
