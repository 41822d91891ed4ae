package server

import (
	"bytes"
	"encoding/json"
	"strings"
)

// validImages checks images, the JSON of a run's images field (nil when
// absent), without copying the images: it must be an array of strings, each
// a data URI such as data:image/png;base64,....
func validImages(images json.RawMessage) error {
	if images == nil {
		return nil
	}
	if images[0] != '[' {
		return badRequest("images must be an array of strings")
	}
	// One byte per image: json.Unmarshal hands each element to
	// imageCheck.UnmarshalJSON as a slice of images, uncopied.
	var checks []imageCheck
	if err := json.Unmarshal(images, &checks); err != nil {
		return badRequest("images must be an array of strings")
	}
	for i, c := range checks {
		switch c {
		case imageNotString:
			return badRequest("images must be an array of strings")
		case imageNotDataURI:
			return badRequest("images[%d] must be a data URI such as data:image/png;base64,...", i)
		}
	}
	return nil
}

// imageCheck is what validImages found about one image.
type imageCheck uint8

const (
	imageOK imageCheck = iota
	imageNotString
	imageNotDataURI
)

// UnmarshalJSON records what b, one element of the images array, is.
func (c *imageCheck) UnmarshalJSON(b []byte) error {
	switch {
	case b[0] != '"':
		*c = imageNotString
	case !isDataURI(b):
		*c = imageNotDataURI
	default:
		*c = imageOK
	}
	return nil
}

// maxDataURIHeader bounds the part of a data URI before its comma (the
// media type and its parameters) that isDataURI decodes when it is written
// with JSON escapes, such as data:image\/png;base64 from encoders that
// escape slashes.
const maxDataURIHeader = 1024

// isDataURI reports whether s, a valid JSON string with its quotes, holds a
// data URI: "data:", a media type and parameters, a comma, then the data.
// Only the part before the comma is looked at, and it is decoded (copied)
// only when it holds escapes. A comma written as an escape does not count.
func isDataURI(s []byte) bool {
	comma := bytes.IndexByte(s, ',')
	if comma < 0 {
		return false
	}
	header := s[:comma] // the opening quote, "data:" and the media type
	if bytes.IndexByte(header, '\\') < 0 {
		return bytes.HasPrefix(header, []byte(`"data:`))
	}
	if len(header) > maxDataURIHeader {
		return false
	}
	var h string
	// The cut falls outside any escape, as escapes hold no comma.
	if err := json.Unmarshal(append(header[:len(header):len(header)], '"'), &h); err != nil {
		return false
	}
	return strings.HasPrefix(h, "data:")
}
