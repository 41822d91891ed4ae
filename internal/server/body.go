package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// decodeBody decodes body, a single JSON object, into v (a pointer to a
// struct), or says what is wrong with it. Fields of type rawJSON keep
// pointing into body. Beyond what json.Unmarshal checks, it refuses what
// json.Unmarshal would take with a guess: invalid UTF-8 (which it turns into
// U+FFFD), and in the top-level object a member given twice (it keeps the
// last), an unknown member (it drops it) and a field's name in another case
// (it matches names in any case).
func decodeBody(body []byte, v any) error {
	if len(bytes.Trim(body, " \t\r\n")) == 0 {
		return badRequest("request body is empty: send a JSON object")
	}
	if !utf8.Valid(body) {
		return badRequest("request body is not valid UTF-8")
	}
	if err := checkMembers(body, jsonFields(v)); err != nil {
		return err
	}
	err := json.Unmarshal(body, v)
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &syntax) && strings.HasSuffix(syntax.Error(), "exceeded max depth"):
		return badRequest("request body is nested too deeply: at most %d levels of arrays and objects", maxDepth)
	case errors.As(err, &syntax) && syntax.Offset >= int64(len(body)):
		return badRequest("request body is not valid JSON (it ends too soon)")
	case errors.As(err, &syntax) && syntax.Offset > 0 && json.Valid(body[:syntax.Offset-1]):
		return badRequest("request body must hold a single JSON object")
	case errors.As(err, &syntax):
		return badRequest("request body is not valid JSON (at byte %d)", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("request body must be a JSON object")
		}
		return badRequest("%s must be %s", typ.Field, kindName(fieldType(v, typ.Field, typ.Type)))
	}
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: "request body could not be decoded", Cause: err}
}

// checkMembers refuses a member of body's top-level object that is not one
// of fields, exactly, or that is given twice. jsontext reads body in place:
// values are skipped, never copied or decoded (metadata may be large, and
// an image is), and the walk stops at the first wrong name, so checking
// costs one pass over the body and a few bytes. Names in nested objects are
// the caller's (metadata is passed on as sent) and are not checked: keeping
// every name of a hostile body to find duplicates would cost memory in
// proportion to it. A body that is not one JSON object is left to
// json.Unmarshal, whose messages say what is wrong with it.
func checkMembers(body []byte, fields []string) error {
	dec := jsontext.NewDecoder(bytes.NewBuffer(body), jsontext.AllowDuplicateNames(true))
	// jsontext is stricter than encoding/json, which decodes the body next
	// and explains its syntax errors: what only jsontext refuses is an
	// escaped lone UTF-16 surrogate, which encoding/json would turn into
	// U+FFFD, and a guess is what this check exists to refuse.
	refused := func() error {
		if json.Valid(body) {
			return badRequest("request body holds an escaped lone UTF-16 surrogate (such as \\ud800) near byte %d: it is not text", dec.InputOffset())
		}
		return nil
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return refused()
	}
	if tok.Kind() != '{' {
		return nil // decodeBody explains it
	}
	var seen []string // at most len(fields): the walk stops at any other name
	for dec.PeekKind() == '"' {
		quoted, err := dec.ReadValue()
		if err != nil {
			return refused()
		}
		if len(quoted) > maxNameLen { // no field's name; not worth unquoting
			return badRequest("unknown field %s...: the fields are %s", quoted[:maxNameLen], strings.Join(fields, ", "))
		}
		name, err := jsontext.AppendUnquote(nil, quoted)
		if err != nil {
			return refused()
		}
		switch n := string(name); {
		case slices.Contains(seen, n):
			return badRequest("field %q is given twice", n)
		case slices.Contains(fields, n):
			seen = append(seen, n)
		default:
			for _, f := range fields {
				if strings.EqualFold(f, n) {
					return badRequest("unknown field %q: field names are case-sensitive; did you mean %q?", n, f)
				}
			}
			return badRequest("unknown field %q: the fields are %s", n, strings.Join(fields, ", "))
		}
		if err := dec.SkipValue(); err != nil {
			return refused()
		}
	}
	if dec.PeekKind() != '}' {
		return refused()
	}
	return nil
}

// maxDepth is how deeply json.Unmarshal lets arrays and objects nest (its
// scanner's limit, reported as a SyntaxError "exceeded max depth").
const maxDepth = 10000

// maxNameLen bounds the member names checkMembers unquotes and quotes back.
const maxNameLen = 64

// fieldNames caches jsonFields: reflect.Type to []string.
var fieldNames sync.Map

// jsonFields returns the JSON names of the fields of *v, a struct.
func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	if names, ok := fieldNames.Load(t); ok {
		return names.([]string)
	}
	var names []string
	if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
		for _, f := range reflect.VisibleFields(t.Elem()) {
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag != "" && tag != "-" && f.IsExported() {
				names = append(names, tag)
			}
		}
	}
	fieldNames.Store(t, names)
	return names
}

// rawJSON is a JSON value kept as the bytes it was decoded from: decoding
// copies nothing, it points into the buffer json.Unmarshal was given, which
// must not change while the value is used. Absent, it is nil; a JSON null
// is "null".
type rawJSON []byte

// UnmarshalJSON keeps b, which is valid JSON with no surrounding space.
func (v *rawJSON) UnmarshalJSON(b []byte) error {
	*v = b[:len(b):len(b)]
	return nil
}

// orNil returns v as a json.RawMessage, nil when v is absent or null.
func (v rawJSON) orNil() json.RawMessage {
	if v == nil || string(v) == "null" {
		return nil
	}
	return json.RawMessage(v)
}

// fieldType returns the declared type of the top-level field of *v whose
// JSON name is name, or fallback. UnmarshalTypeError reports the element
// type for an array element, and "images must be a string" would mislead.
func fieldType(v any, name string, fallback reflect.Type) reflect.Type {
	t := reflect.TypeOf(v)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return fallback
	}
	for _, f := range reflect.VisibleFields(t.Elem()) {
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == name {
			return f.Type
		}
	}
	return fallback
}

// kindName describes a Go type as a JSON value, for error messages.
func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return kindName(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(kindName(t.Elem()), "a "), "an ") + "s"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + t.Kind().String()
}
