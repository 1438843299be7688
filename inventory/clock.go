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
// The header has a resolution of one second: a response sent at local
// time t0 and received at t1 with Date d says the offset (server − local)
// lies in [d − t1, d + 1s − t0]. The clock keeps the intersection of those
// intervals, which narrows as responses come, and reads its middle: a
// steady estimate, not one that jumps by up to a second with each response.
// When a new interval no longer meets the kept one (a clock was stepped),
// it starts again from the new one.
type ServerClock struct {
	local func() time.Time

	mu     sync.Mutex
	lo, hi time.Duration
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
	off, _ := c.Offset()
	return c.local().Add(off)
}

// Offset is how far the API server's clock is ahead of the local one, and
// whether a response has told it yet.
func (c *ServerClock) Offset() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.known {
		return 0, false
	}
	return c.lo + (c.hi-c.lo)/2, true
}

// observe records the Date of a response to a request sent at sent and
// received at received (local times).
func (c *ServerClock) observe(date string, sent, received time.Time) {
	d, err := http.ParseTime(date)
	if err != nil {
		return
	}
	lo, hi := d.Sub(received), d.Add(time.Second).Sub(sent)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.known && lo <= c.hi && hi >= c.lo {
		c.lo, c.hi = max(c.lo, lo), min(c.hi, hi)
		return
	}
	c.lo, c.hi, c.known = lo, hi, true
}

// Wrap returns a RoundTripper that observes the Date of every response
// (for rest.Config.WrapTransport).
func (c *ServerClock) Wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		sent := c.local()
		resp, err := rt.RoundTrip(req)
		if err == nil && resp != nil {
			if d := resp.Header.Get("Date"); d != "" {
				c.observe(d, sent, c.local())
			}
		}
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
