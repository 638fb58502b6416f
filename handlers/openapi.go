package handlers

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDocument is the OpenAPI 3.1 document of the JSON API, written by
// hand (handlers/openapi.json) and held to the server by the conformance
// test (openapi_test.go): every route documented, every documented
// operation served, real answers valid against it.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPIServers is the servers entry of the document as written: a
// relative address, which handleOpenAPI replaces with the panel's own.
var openAPIServers = []byte(`"servers": [{"url": "` + apiBase + `"}]`)

// handleOpenAPI serves the document, no key needed, with the API's
// absolute address (from --base-url, never the request's Host) as its
// server, so that tools reading it from a file still know where to call.
func (s *Server) handleOpenAPI(c echo.Context) error {
	url, err := json.Marshal(s.link(apiBase))
	if err != nil {
		return err
	}
	doc := bytes.Replace(openAPIDocument, openAPIServers, []byte(`"servers": [{"url": `+string(url)+`}]`), 1)
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, doc)
}
