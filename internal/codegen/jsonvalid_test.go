package codegen

import (
	"encoding/json"
	"strings"
	"testing"
)

var validJSONCases = []string{
	``, ` `, `{}`, `[]`, `""`, `0`, `-0`, `1.5e+10`, `-1.0E-2`, `true`, `false`, `null`, ` {"a": [1, 2, {"b": null}]} `,
	`{"a":1,}`, `[1,]`, `[,1]`, `{"a"}`, `{"a":}`, `{a:1}`, `{"a":1 "b":2}`, `{"a":1}{}`, `[1] x`, `01`, `-`, `1.`, `.5`, `1e`, `1e+`,
	`+1`, `tru`, `nul`, `truex`, `"abc`, `"a\"b"`, `"\u00e9\uD83D\ude00"`, `"\u12G4"`, `"\x"`, "\"a\tb\"", "\"\x01\"", "\"\xff\xfe\"",
	`"\`, `"\u123`, `[[[[]]]]`, `{"a":{"b":{"c":[]}}}`, "\t\r\n[\t1\r]\n", `[1,2,3`, `{"a":[}`, `"\/"`, `{"":""}`, `[-]`, `[1e5, 2E-5, 0.0]`,
}

func TestValidJSONAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, c := range validJSONCases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%q) = %v, json.Valid says %v", c, got, want)
		}
	}
	for _, depth := range []int{maxDepth, maxDepth + 1} {
		for _, open := range []string{"[", `{"a":`} {
			closeWith := "]"
			if open != "[" {
				closeWith = "}"
			}
			doc := []byte(strings.Repeat(open, depth) + "1" + strings.Repeat(closeWith, depth))
			if got, want := validJSON(doc), json.Valid(doc); got != want {
				t.Errorf("%d levels of %s: validJSON %v, json.Valid %v", depth, open, got, want)
			}
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, c := range validJSONCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := validJSON(data), json.Valid(data); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", data, got, want)
		}
	})
}

func BenchmarkValidJSON(b *testing.B) {
	page := []byte(`{"items":[` + strings.Repeat(`{"id":12345,"organization_id":323,"status":"COMPLETE","created_at":"2026-11-25T12:00:00.000000","web_url":"https://sandbox.codegen.invalid/agent/trace/12345","result":"I made the requested changes and opened a pull request with them.","summary":"Implemented the change.","source_type":"API","github_pull_requests":null,"metadata":{"source":"api","n":[1,2.5e3,-4]}},`, 9) +
		`{"id":1}],"total":10,"page":1,"size":10,"pages":1}`)
	b.Run("validJSON", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			if !validJSON(page) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			if !json.Valid(page) {
				b.Fatal("invalid")
			}
		}
	})
}
