package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// maxBody bounds a request body the sandbox reads.
const maxBody = 64 << 20

// fields is a JSON object body, each field still encoded, so that each can be
// checked against its schema and reported as FastAPI does.
type fields map[string]json.RawMessage

// decodeObject reads r's body as a JSON object, recording a validation error
// when it is not one.
func decodeObject(r *http.Request, v *validation) fields {
	body, err := readBody(r)
	if err != nil {
		v.add("There was an error parsing the body", "json_invalid", "body")
		return nil
	}
	var f fields
	if err := json.Unmarshal(body, &f); err != nil {
		var syntax *json.SyntaxError
		if len(body) > 0 && body[0] != '{' && json.Valid(body) {
			v.add("Input should be a valid dictionary or object to extract fields from", "model_attributes_type", "body")
		} else if errors.As(err, &syntax) {
			v.add("JSON decode error", "json_invalid", "body", int(syntax.Offset))
		} else {
			v.add("JSON decode error", "json_invalid", "body", 0)
		}
		return nil
	}
	if f == nil { // the body was null
		v.add("Input should be a valid dictionary or object to extract fields from", "model_attributes_type", "body")
	}
	return f
}

// readBody reads r's body, at most maxBody bytes, into a buffer of its
// declared size when it has one, so that the body is held once rather than
// in a buffer that grows by doubling.
func readBody(r *http.Request) ([]byte, error) {
	if n := r.ContentLength; n >= 0 && n <= maxBody {
		body := make([]byte, n)
		_, err := io.ReadFull(r.Body, body)
		return body, err
	}
	return io.ReadAll(io.LimitReader(r.Body, maxBody))
}

// present reports whether name was given with a non-null value.
func (f fields) present(name string) bool {
	raw, ok := f[name]
	return ok && string(raw) != "null"
}

// decode decodes field name into dst when present, recording msg and typ as
// the error when it has the wrong type; a missing required field is
// recorded as missing.
func (f fields) decode(v *validation, name string, required bool, dst any, msg, typ string) {
	if !f.present(name) {
		if required {
			if _, given := f[name]; given {
				v.add(msg, typ, "body", name)
			} else {
				v.add("Field required", "missing", "body", name)
			}
		}
		return
	}
	if err := json.Unmarshal(f[name], dst); err != nil {
		v.add(msg, typ, "body", name)
	}
}

// tooLarge is the validation message for input over a size limit.
func tooLarge(what string, limit int) string {
	return what + " may hold at most " + strconv.Itoa(limit) + " bytes in the sandbox"
}

const (
	msgString = "Input should be a valid string"
	msgInt    = "Input should be a valid integer"
	msgList   = "Input should be a valid list"
	msgDict   = "Input should be a valid dictionary"
)

// createInput is a decoded CreateAgentRunInput.
type createInput struct {
	Prompt    string
	Images    []string
	Metadata  map[string]any  // for the scenario; not kept
	MetaJSON  json.RawMessage // metadata as a run keeps it (see keepJSON)
	MetaBytes int             // the size of metadata as sent
	RepoID    *int64
	Model     *string
	AgentType *string
	source    string // the run's source_type; "" is API
}

// decodeCreate decodes a create body, refusing metadata of more than
// maxMeta bytes before decoding it.
func decodeCreate(r *http.Request, v *validation, maxMeta int) createInput {
	var in createInput
	f := decodeObject(r, v)
	if f == nil {
		return in
	}
	f.decode(v, "prompt", true, &in.Prompt, msgString, "string_type")
	f.decode(v, "images", false, &in.Images, msgList, "list_type")
	if in.MetaBytes = len(f["metadata"]); in.MetaBytes > maxMeta {
		v.add(tooLarge("Metadata", maxMeta), "value_error", "body", "metadata")
	} else {
		f.decode(v, "metadata", false, &in.Metadata, msgDict, "dict_type")
		if in.Metadata != nil {
			in.MetaJSON = keepJSON(in.Metadata)
		}
	}
	f.decode(v, "repo_id", false, &in.RepoID, msgInt, "int_type")
	f.decode(v, "model", false, &in.Model, msgString, "string_type")
	f.decode(v, "agent_type", false, &in.AgentType, msgString, "string_type")
	if in.AgentType != nil && !codegen.IsAgentType(*in.AgentType) {
		v.add("Input should be '"+strings.Join(codegen.AgentTypes(), "' or '")+"'", "literal_error", "body", "agent_type")
	}
	return in
}

// keepJSON encodes a decoded JSON value v as compact JSON without HTML
// escapes, the form runs keep metadata in: decoded values take many times
// the memory of their JSON (64 KiB of [[],[],...] took 1.5 MB). Written as a
// json.RawMessage it gets its HTML escapes back, so answers are the bytes
// that encoding v itself gives.
func keepJSON(v any) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v) //nolint:errcheck // a value decoded from JSON always encodes
	return bytes.Clone(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// resumeInput is a decoded ResumeAgentRunInput.
type resumeInput struct {
	AgentRunID int64
	Prompt     string
	Images     []string
}

func decodeResume(r *http.Request, v *validation) resumeInput {
	var in resumeInput
	f := decodeObject(r, v)
	if f == nil {
		return in
	}
	f.decode(v, "agent_run_id", true, &in.AgentRunID, msgInt, "int_type")
	f.decode(v, "prompt", true, &in.Prompt, msgString, "string_type")
	f.decode(v, "images", false, &in.Images, msgList, "list_type")
	return in
}
