package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
)

// Intercept answers the tab's requests whose URL matches one of the
// patterns (DevTools wildcards: "https://app.example.com/*") with h, in Go,
// instead of the network. It lets a test use the tenant's callbacks on
// hosts that do not exist, such as https://app.example.com/callback, and
// see what the browser was sent there. Call it once per tab, before the
// navigation that reaches the patterns; it lasts as long as ctx.
func Intercept(ctx context.Context, h http.Handler, patterns ...string) error {
	p := make([]*fetch.RequestPattern, len(patterns))
	for i, pattern := range patterns {
		p[i] = &fetch.RequestPattern{URLPattern: pattern}
	}
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: p}); err != nil {
		return fmt.Errorf("intercept: %w", err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			fulfill(ctx, h, ev)
		}
	}()
	return nil
}

// fulfill answers one paused request with h's response; a request that
// cannot be rebuilt is failed, so that the page does not hang.
func fulfill(ctx context.Context, h http.Handler, ev fetch.EventRequestPaused) {
	var body bytes.Buffer
	for _, e := range ev.Request.PostDataEntries {
		body.Write(e.Bytes)
	}
	r, err := http.NewRequestWithContext(ctx, ev.Request.Method, ev.Request.URL+ev.Request.URLFragment, &body)
	if err != nil {
		_, _ = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: "Failed"})
		return
	}
	for k, v := range ev.Request.Headers {
		r.Header.Set(k, fmt.Sprint(v))
	}
	r.Host = r.URL.Host
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	var headers []*fetch.HeaderEntry
	for k, vs := range res.Header {
		for _, v := range vs {
			headers = append(headers, &fetch.HeaderEntry{Name: k, Value: v})
		}
	}
	_, _ = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
		RequestID:       ev.RequestID,
		ResponseCode:    int64(res.StatusCode),
		ResponseHeaders: headers,
		Body:            w.Body.Bytes(),
	})
}
