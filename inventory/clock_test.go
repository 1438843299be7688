package inventory

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A client whose clock runs an hour ahead still tells the API server's
// time once a response has come back.
func TestServerClockFollowsTheServer(t *testing.T) {
	server := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Date", server.Format(http.TimeFormat))
	}))
	defer srv.Close()
	ahead := server.Add(time.Hour)
	c := NewServerClock(func() time.Time { return ahead })
	if got := c.Now(); !got.Equal(ahead) {
		t.Fatalf("before any response: %s, want the local %s", got, ahead)
	}
	client := &http.Client{Transport: c.Wrap(http.DefaultTransport)}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	off, ok := c.Offset()
	if !ok || off > -59*time.Minute || off < -61*time.Minute {
		t.Errorf("offset = %s (%v), want about -1h", off, ok)
	}
	if d := c.Now().Sub(server); d < 0 || d > time.Second {
		t.Errorf("Now = %s, want within a second after the server's %s", c.Now(), server)
	}
}

// The estimate narrows with each response and does not jump with the
// one-second resolution of Date.
func TestServerClockNarrows(t *testing.T) {
	base := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	local := base
	c := NewServerClock(func() time.Time { return local })
	// The server runs 400 ms ahead; responses take 10 ms.
	for i := 0; i < 20; i++ {
		sent := local
		local = local.Add(10 * time.Millisecond)
		server := local.Add(400 * time.Millisecond)
		c.observe(server.Truncate(time.Second).Format(http.TimeFormat), sent, local)
		local = local.Add(137 * time.Millisecond)
	}
	off, _ := c.Offset()
	if d := off - 400*time.Millisecond; d < -60*time.Millisecond || d > 60*time.Millisecond {
		t.Errorf("offset %s after 20 responses, want about 400ms", off)
	}
	// A stepped clock: the intervals no longer meet, the estimate restarts.
	c.observe(local.Add(time.Hour).Format(http.TimeFormat), local, local)
	if off, _ := c.Offset(); off < 59*time.Minute {
		t.Errorf("offset %s after the server's clock jumped an hour", off)
	}
}
