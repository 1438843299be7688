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
