package sandbox

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// writeJSON answers with v encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"detail":"Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the caller has gone
}

// writeMessage answers with the API's {"message","status_code"} error body.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, codegen.ErrorBody{Message: msg, StatusCode: status})
}

// Messages of the API's documented error bodies.
const (
	msgForbidden     = "You do not have access to this organization."
	msgRunNotFound   = "Agent run not found."
	msgPaymentNeeded = "Alloted agent runs for the current billing plan have been reached. Please upgrade your plan to continue."
)

// validation collects FastAPI-style validation errors; a non-empty one is
// answered with 422 {"detail": [...]}.
type validation []codegen.ValidationError

func (v *validation) add(msg, typ string, loc ...any) {
	*v = append(*v, codegen.ValidationError{Loc: loc, Msg: msg, Type: typ})
}

// failed answers 422 and reports true when errors were collected.
func (v validation) failed(w http.ResponseWriter) bool {
	if len(v) == 0 {
		return false
	}
	writeJSON(w, http.StatusUnprocessableEntity, codegen.ValidationErrorBody{Detail: v})
	return true
}

// pathInt reads an integer path parameter.
func (v *validation) pathInt(r *http.Request, name string) int64 {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil {
		v.add("Input should be a valid integer, unable to parse string as an integer", "int_parsing", "path", name)
	}
	return n
}

// queryInt reads an integer query parameter within [min, max].
func (v *validation) queryInt(r *http.Request, name string, def, min, max int) int {
	s, ok := r.URL.Query()[name]
	if !ok {
		return def
	}
	n, err := strconv.Atoi(s[len(s)-1])
	switch {
	case err != nil:
		v.add("Input should be a valid integer, unable to parse string as an integer", "int_parsing", "query", name)
	case n < min:
		v.add("Input should be greater than or equal to "+strconv.Itoa(min), "greater_than_equal", "query", name)
	case n > max:
		v.add("Input should be less than or equal to "+strconv.Itoa(max), "less_than_equal", "query", name)
	}
	return n
}

// queryBool reads a boolean query parameter as pydantic does.
func (v *validation) queryBool(r *http.Request, name string) bool {
	s := r.URL.Query().Get(name)
	switch s {
	case "", "false", "False", "0", "off", "no", "f", "n":
		return false
	case "true", "True", "1", "on", "yes", "t", "y":
		return true
	}
	v.add("Input should be a valid boolean, unable to interpret input", "bool_parsing", "query", name)
	return false
}
