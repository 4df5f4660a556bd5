package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Error is a configuration problem at a place in a file. It renders as
// "file:line: message", the form editors and CI annotations understand.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	case e.File != "":
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	default:
		return e.Msg
	}
}

// Errorf builds an Error at a node of file.
func Errorf(file string, node *yaml.Node, format string, args ...any) *Error {
	line := 0
	if node != nil {
		line = node.Line
	}
	return &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// DecodeStrict decodes node into v, rejecting keys that v does not declare
// and values of the wrong type, with errors that name file and line. Check
// packages use it for their `with:` blocks so that every part of
// readiness.yaml is equally strict.
func DecodeStrict(file string, node *yaml.Node, v any) error {
	if node == nil || node.Kind == 0 {
		return nil
	}
	if node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	if err := checkKnown(file, node, reflect.TypeOf(v)); err != nil {
		return err
	}
	if err := node.Decode(v); err != nil {
		return typeError(file, node, err)
	}
	return nil
}

var (
	lineRE      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^line (\d+): (.*)$`) })
	unmarshalRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `?(.*?)`?)? into (.*)$")
	})
)

// typeError turns yaml.v3's "line N: cannot unmarshal !!str `x` into int"
// into file:line: form, and a custom unmarshaler's *Error passes through.
func typeError(file string, node *yaml.Node, err error) error {
	var ce *Error
	if errors.As(err, &ce) {
		if ce.File == "" {
			ce.File = file
		}
		return ce
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		m := lineRE().FindStringSubmatch(te.Errors[0])
		if m != nil {
			line, _ := strconv.Atoi(m[1])
			return &Error{File: file, Line: line, Msg: humanizeYAML(m[2])}
		}
		return &Error{File: file, Line: node.Line, Msg: humanizeYAML(te.Errors[0])}
	}
	return &Error{File: file, Line: node.Line, Msg: err.Error()}
}

func humanizeYAML(msg string) string {
	// "cannot unmarshal !!str `abc` into int" → "expected a whole number, got "abc""
	m := unmarshalRE().FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	want := m[3]
	switch {
	case strings.HasPrefix(want, "[]"):
		want = "a list"
	case strings.HasPrefix(want, "map["), strings.Contains(want, "."):
		want = "a mapping" // never a Go type name: the reader wrote YAML
	case want == "bool":
		want = "true or false"
	case strings.HasPrefix(want, "int"), strings.HasPrefix(want, "uint"):
		want = "a whole number"
	case strings.HasPrefix(want, "float"):
		want = "a number"
	case want == "string":
		want = "a string"
	}
	got := m[2]
	if m[1] == "map" || m[1] == "seq" {
		got = map[string]string{"map": "a mapping", "seq": "a list"}[m[1]]
		msg := fmt.Sprintf("expected %s, got %s", want, got)
		switch {
		case want == "a list" && m[1] == "map":
			// `checks:` written as a map of names: say how to write the list.
			msg += "; write each entry as a list item starting with \"- \" (for checks: \"- name: security-key\")"
		case m[1] == "seq":
			msg += "; remove the leading \"- \" and write the keys directly"
		}
		return msg
	}
	return fmt.Sprintf("expected %s, got %q", want, got)
}

var nodeType = reflect.TypeOf(yaml.Node{})

// checkKnown walks node alongside t and reports the first mapping key that
// the Go type does not declare.
func checkKnown(file string, node *yaml.Node, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nodeType {
		return nil
	}
	if node.Kind == yaml.AliasNode && node.Alias != nil {
		node = node.Alias
	}
	if _, ok := reflect.New(t).Interface().(yaml.Unmarshaler); ok {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if node.Kind != yaml.MappingNode {
			return nil // yaml.v3 reports the type mismatch with its line
		}
		fields := map[string]reflect.Type{}
		var names []string
		collectFields(t, fields, &names)
		seen := map[string]int{}
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			if k.Value == "<<" {
				continue
			}
			if prev, dup := seen[k.Value]; dup {
				return Errorf(file, k, "key %q is given twice (first at line %d)", k.Value, prev)
			}
			seen[k.Value] = k.Line
			ft, ok := fields[k.Value]
			if !ok {
				return Errorf(file, k, "unknown key %q; expected one of: %s", k.Value, strings.Join(names, ", "))
			}
			if err := checkKnown(file, v, ft); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if node.Kind != yaml.SequenceNode {
			return nil
		}
		for _, c := range node.Content {
			if err := checkKnown(file, c, t.Elem()); err != nil {
				return err
			}
		}
	case reflect.Map:
		if node.Kind != yaml.MappingNode {
			return nil
		}
		for i := 1; i < len(node.Content); i += 2 {
			if err := checkKnown(file, node.Content[i], t.Elem()); err != nil {
				return err
			}
		}
	}
	return nil
}

func collectFields(t reflect.Type, fields map[string]reflect.Type, names *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			collectFields(ft, fields, names)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
		*names = append(*names, name)
	}
}
