package admin

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

// metricsContentType is the Prometheus text exposition format, version 0.0.4.
const metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// statusCounters counts answered requests by status code without a lock or
// an allocation per request.
type statusCounters struct {
	byCode [600]atomic.Uint64
}

func (s *statusCounters) inc(code int) {
	if code >= 100 && code < len(s.byCode) {
		s.byCode[code].Add(1)
	}
}

// metrics writes the server's own metrics, then each engine's.
func (s *Server) metrics(c echo.Context) error {
	if want := s.cfg.MetricsToken; want != "" {
		got, _ := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="metrics"`)
			return &apiError{Status: http.StatusUnauthorized, Message: "metrics token required"}
		}
	}
	var b bytes.Buffer
	b.WriteString("# HELP pbx_up Whether the PBX is running.\n# TYPE pbx_up gauge\npbx_up 1\n")
	b.WriteString("# HELP pbx_build_info Build information of the running binary.\n# TYPE pbx_build_info gauge\n")
	fmt.Fprintf(&b, "pbx_build_info{version=\"%s\"} 1\n", escapeLabel(s.cfg.Version))
	b.WriteString("# HELP pbx_uptime_seconds Seconds since the HTTP server started.\n# TYPE pbx_uptime_seconds gauge\n")
	fmt.Fprintf(&b, "pbx_uptime_seconds %d\n", int64(time.Since(s.started)/time.Second))
	b.WriteString("# HELP pbx_http_requests_total HTTP requests answered, by status code.\n")
	b.WriteString("# TYPE pbx_http_requests_total counter\n")
	for code := range s.requests.byCode {
		if n := s.requests.byCode[code].Load(); n > 0 {
			fmt.Fprintf(&b, "pbx_http_requests_total{code=\"%d\"} %d\n", code, n)
		}
	}
	if n := s.voicemailCount(c.Request().Context()); n >= 0 {
		b.WriteString("# HELP pbx_voicemail_messages Voicemail messages stored, all boxes.\n# TYPE pbx_voicemail_messages gauge\n")
		fmt.Fprintf(&b, "pbx_voicemail_messages %d\n", n)
	}
	for _, m := range s.cfg.Metrics {
		m.WriteMetrics(&b)
	}
	return c.Blob(http.StatusOK, metricsContentType, b.Bytes())
}

// escapeLabel escapes a label value as the text format requires.
func escapeLabel(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}
