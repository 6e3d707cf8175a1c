// Command postman writes the Postman collection (format v2.1) of the
// OpenAPI document that the daemon serves at /v1/openapi.json: a folder
// per tag, a request per operation with its path and query parameters,
// an example body built from the schema, and the credentials it takes.
//
//	go run ./core/cmd/postman -o examples/postman/switchboard.postman_collection.json
//
// The collection's variables are baseUrl, apiKey (an API key or OAuth
// access token), clientId and clientSecret (an OAuth client, for the
// token endpoint) and visitorToken (from POST /w/v1/session). The console
// routes use the cookie that POST /op/v1/login sets.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/switchboard-chat/switchboard/core/httpapi"
)

func main() {
	out := flag.String("o", "", "write the collection to this file (default: standard output)")
	flag.Parse()
	data, err := Collection(httpapi.OpenAPI())
	if err == nil {
		if *out == "" {
			_, err = os.Stdout.Write(data)
		} else {
			err = os.WriteFile(*out, data, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "postman:", err)
		os.Exit(1)
	}
}

// schemaURL names the collection format.
const schemaURL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"

// methods are the operations' methods in the order they are listed.
var methods = []string{"get", "post", "put", "patch", "delete"}

type (
	object = map[string]any
	list   = []any
)

// doc is the part of an OpenAPI document the collection is made from.
type doc struct {
	Info struct {
		Title       string `json:"title"`
		Description string `json:"description"`
	} `json:"info"`
	Tags []struct {
		Name string `json:"name"`
	} `json:"tags"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas    map[string]object `json:"schemas"`
		Parameters map[string]object `json:"parameters"`
	} `json:"components"`
}

type operation struct {
	OperationID string                `json:"operationId"`
	Summary     string                `json:"summary"`
	Description string                `json:"description"`
	Tags        []string              `json:"tags"`
	Parameters  []object              `json:"parameters"`
	RequestBody *requestBody          `json:"requestBody"`
	Security    []map[string][]string `json:"security"`
}

type requestBody struct {
	Content map[string]struct {
		Schema object `json:"schema"`
	} `json:"content"`
}

// Collection converts an OpenAPI document to a Postman collection.
func Collection(data []byte) ([]byte, error) {
	var d doc
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("read the OpenAPI document: %w", err)
	}
	folders := map[string]list{}
	paths := make([]string, 0, len(d.Paths))
	for p := range d.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, path := range paths {
		for _, m := range methods {
			raw, ok := d.Paths[path][m]
			if !ok {
				continue
			}
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				return nil, fmt.Errorf("%s %s: %w", m, path, err)
			}
			if len(op.Tags) == 0 {
				return nil, fmt.Errorf("%s %s has no tag", m, path)
			}
			item, err := d.request(path, m, op)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", m, path, err)
			}
			folders[op.Tags[0]] = append(folders[op.Tags[0]], item)
		}
	}
	var items list
	for _, t := range d.Tags {
		if f := folders[t.Name]; len(f) > 0 {
			items = append(items, object{"name": t.Name, "item": f})
			delete(folders, t.Name)
		}
	}
	if len(folders) > 0 {
		return nil, errors.New("operations with tags missing from the tag list")
	}
	c := object{
		"info": object{"name": d.Info.Title, "description": d.Info.Description, "schema": schemaURL},
		"auth": bearer("{{apiKey}}"),
		"variable": list{
			object{"key": "baseUrl", "value": "http://127.0.0.1:8080"},
			object{"key": "apiKey", "value": ""},
			object{"key": "clientId", "value": ""},
			object{"key": "clientSecret", "value": ""},
			object{"key": "visitorToken", "value": ""},
		},
		"item": items,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func bearer(token string) object {
	return object{"type": "bearer", "bearer": list{object{"key": "token", "value": token, "type": "string"}}}
}

// auth is the Postman auth of an operation's first security requirement.
func auth(sec []map[string][]string) object {
	if sec == nil {
		return nil // inherit the collection's
	}
	if len(sec) == 0 || len(sec[0]) == 0 {
		return object{"type": "noauth"}
	}
	names := make([]string, 0, len(sec[0]))
	for n := range sec[0] {
		names = append(names, n)
	}
	switch {
	case slices.Contains(names, "apiKey"), slices.Contains(names, "oauth2"):
		return nil
	case slices.Contains(names, "visitorToken"):
		return bearer("{{visitorToken}}")
	case slices.Contains(names, "clientBasic"):
		return object{"type": "basic", "basic": list{
			object{"key": "username", "value": "{{clientId}}", "type": "string"},
			object{"key": "password", "value": "{{clientSecret}}", "type": "string"},
		}}
	}
	return object{"type": "noauth"} // the console's session cookie comes from the cookie jar
}

func (d *doc) request(path, method string, op operation) (object, error) {
	var segments list
	var vars, query, headers list
	for _, s := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			s = ":" + strings.Trim(s, "{}")
		}
		segments = append(segments, s)
	}
	for _, p := range op.Parameters {
		p = d.resolve(p)
		name, _ := p["name"].(string)
		desc, _ := p["description"].(string)
		entry := object{"key": name, "value": ""}
		if desc != "" {
			entry["description"] = desc
		}
		switch p["in"] {
		case "path":
			vars = append(vars, entry)
		case "query":
			required, _ := p["required"].(bool)
			entry["disabled"] = !required
			query = append(query, entry)
		case "header":
			entry["disabled"] = true
			headers = append(headers, entry)
		}
	}
	raw := "{{baseUrl}}"
	for _, s := range segments {
		raw += "/" + s.(string)
	}
	url := object{"raw": raw, "host": list{"{{baseUrl}}"}, "path": segments}
	if len(query) > 0 {
		url["query"] = query
	}
	if len(vars) > 0 {
		url["variable"] = vars
	}
	req := object{"method": strings.ToUpper(method), "url": url}
	if op.Description != "" {
		req["description"] = op.Description
	}
	if a := auth(op.Security); a != nil {
		req["auth"] = a
	}
	if op.RequestBody != nil {
		types := make([]string, 0, len(op.RequestBody.Content))
		for t := range op.RequestBody.Content {
			types = append(types, t)
		}
		sort.Strings(types)
		mt := types[0]
		schema := d.resolve(op.RequestBody.Content[mt].Schema)
		headers = append(list{object{"key": "Content-Type", "value": mt}}, headers...)
		switch mt {
		case "application/json":
			example, err := json.MarshalIndent(d.example(schema, 0), "", "  ")
			if err != nil {
				return nil, err
			}
			req["body"] = object{"mode": "raw", "raw": string(example), "options": object{"raw": object{"language": "json"}}}
		case "application/x-www-form-urlencoded":
			var fields list
			for _, k := range sortedKeys(schema["properties"]) {
				fields = append(fields, object{"key": k, "value": exampleText(d.example(d.prop(schema, k), 0)), "disabled": !required(schema, k)})
			}
			req["body"] = object{"mode": "urlencoded", "urlencoded": fields}
		default:
			return nil, fmt.Errorf("no example for a %s body", mt)
		}
	}
	if len(headers) > 0 {
		req["header"] = headers
	}
	return object{"name": op.Summary, "request": req}, nil
}

// resolve follows a local $ref.
func (d *doc) resolve(o object) object {
	for range 10 {
		ref, ok := o["$ref"].(string)
		if !ok {
			return o
		}
		name := ref[strings.LastIndex(ref, "/")+1:]
		switch {
		case strings.HasPrefix(ref, "#/components/schemas/"):
			o = d.Components.Schemas[name]
		case strings.HasPrefix(ref, "#/components/parameters/"):
			o = d.Components.Parameters[name]
		default:
			return object{}
		}
	}
	return o
}

func (d *doc) prop(schema object, name string) object {
	props, _ := schema["properties"].(object)
	p, _ := props[name].(object)
	return d.resolve(p)
}

func required(schema object, name string) bool {
	req, _ := schema["required"].([]any)
	return slices.Contains(req, any(name))
}

func sortedKeys(v any) []string {
	m, _ := v.(object)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// example is a value of schema: the required fields of objects (all of
// them when none is required), the first of an enum, empty strings.
func (d *doc) example(schema object, depth int) any {
	schema = d.resolve(schema)
	if e, ok := schema["enum"].([]any); ok && len(e) > 0 {
		return e[0]
	}
	switch schema["type"] {
	case "object":
		out := object{}
		if depth > 4 {
			return out
		}
		for _, k := range sortedKeys(schema["properties"]) {
			if required(schema, k) || schema["required"] == nil {
				out[k] = d.example(d.prop(schema, k), depth+1)
			}
		}
		return out
	case "array":
		items, _ := schema["items"].(object)
		return list{d.example(items, depth+1)}
	case "integer", "number":
		if m, ok := schema["minimum"]; ok {
			return m
		}
		return 0
	case "boolean":
		return false
	}
	return ""
}

func exampleText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
