package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

type healthResponse struct {
	Status  string `json:"status"`
	Version string `json:"version,omitempty"`
	Uptime  int64  `json:"uptime_s"`
	Error   string `json:"error,omitempty"`
}

// health answers load balancers and monitors: 200 while the database
// answers, 503 when it does not.
func (s *Server) health(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	resp := healthResponse{Status: "ok", Version: s.cfg.Version, Uptime: int64(time.Since(s.started) / time.Second)}
	if err := s.store.Ping(ctx); err != nil {
		resp.Status, resp.Error = "error", "database: "+err.Error()
		return c.JSON(http.StatusServiceUnavailable, resp)
	}
	return c.JSON(http.StatusOK, resp)
}
