package codegen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// errTooLarge is wrapped by readBody when a body is over the limit.
var errTooLarge = errors.New("body over the size limit")

// readBody reads resp's body, refusing more than max bytes. A body of known
// length is read into one buffer of that size: net/http's Transport ends
// the body at its Content-Length, with EOF along with the last bytes, so
// the connection goes back to its pool.
func readBody(resp *http.Response, max int64) ([]byte, error) {
	size := resp.ContentLength
	if size > max {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", errTooLarge, size, max)
	}
	if size >= 0 {
		buf := make([]byte, size)
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, fmt.Errorf("%w of %d bytes", errTooLarge, max)
	}
	return buf.Bytes(), nil
}
