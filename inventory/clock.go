package inventory

import (
	"net/http"
	"sync"
	"time"
)

// ServerClock tells the time on the API server's clock, learnt from the
// Date header of its responses. Leases are judged on it: controllers renew
// them on the cluster's time, and a client whose clock runs ahead would
// otherwise see every Lease as stale (and a live controller as gone).
//
// The header has a resolution of one second, far below the 45 s after
// which a Lease counts as stale.
type ServerClock struct {
	local func() time.Time

	mu     sync.Mutex
	offset time.Duration
	known  bool
}

// NewServerClock returns a clock that reads local (time.Now when nil) and
// corrects it by what the API server's responses say.
func NewServerClock(local func() time.Time) *ServerClock {
	if local == nil {
		local = time.Now
	}
	return &ServerClock{local: local}
}

// Now is the API server's time, or the local time before any response.
func (c *ServerClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.local().Add(c.offset)
}

// Offset is how far the API server's clock is ahead of the local one, and
// whether a response has told it yet.
func (c *ServerClock) Offset() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset, c.known
}

// observe records the Date of a response received now.
func (c *ServerClock) observe(date string) {
	t, err := http.ParseTime(date)
	if err != nil {
		return
	}
	// The header truncates to the second: the server's time was within
	// the second after it.
	server := t.Add(500 * time.Millisecond)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = server.Sub(c.local())
	c.known = true
}

// Wrap returns a RoundTripper that observes the Date of every response
// (for rest.Config.WrapTransport).
func (c *ServerClock) Wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		if err == nil && resp != nil {
			if d := resp.Header.Get("Date"); d != "" {
				c.observe(d)
			}
		}
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
