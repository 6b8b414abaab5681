package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// limitBody bounds request bodies to max bytes and answers 413 when one is
// larger. Upstream handlers read form bodies with ParseForm, which turns
// every read error into "no expression found" (400); so a form body is
// parsed here first, where a body that is too large can still be told apart.
// Go's form parser has its own 10 MB cap, which also answers 413.
func limitBody(h http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			tooLarge(w, r, fmt.Sprintf("request body larger than %d bytes", max))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" && r.Body != http.NoBody {
			if err := r.ParseForm(); err != nil {
				if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
					tooLarge(w, r, fmt.Sprintf("request body larger than %d bytes", max))
					return
				}
				if err.Error() == "http: POST too large" {
					tooLarge(w, r, "form body larger than 10 MiB")
					return
				}
				// Malformed forms are the handler's to report, in its words.
			}
		}
		h.ServeHTTP(w, r)
	})
}

// tooLarge answers 413, in Prometheus's error envelope under /api/v1/.
func tooLarge(w http.ResponseWriter, r *http.Request, msg string) {
	// A body left unread would otherwise be drained by the server first.
	w.Header().Set("Connection", "close")
	if !strings.Contains(r.URL.Path, "/api/v1/") {
		http.Error(w, msg, http.StatusRequestEntityTooLarge)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	json.NewEncoder(w).Encode(map[string]string{"status": "error", "errorType": "bad_data", "error": msg})
}
