package admin

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPISpec is the hand-written OpenAPI 3 description of this API; a test
// keeps it and the registered routes in step.
//
//go:embed openapi.json
var openAPISpec []byte

func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPISpec)
}
