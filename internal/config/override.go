package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Overrides are a command line's settings for one check, laid over its
// `with:` block before the gate builds it: `readiness key verify KEY
// --expiry-fail 60d` is the security-key check with key and expiry_fail
// replaced. Gates see one input, readiness.yaml's shape, whoever wrote it.
type Overrides struct {
	// Set maps `with:` keys to their new values.
	Set map[string]any
	// Flags names the command-line flag of each `with:` key the command
	// can set (set or not), so that an error about a setting names the
	// flag the user typed, not a key of a file they may not have.
	Flags map[string]string
}

// Override returns a copy of c whose `with:` block has every key of set
// replaced (or added) with its value. c itself is not changed.
func (c CheckSpec) Override(set map[string]any) (CheckSpec, error) {
	if len(set) == 0 {
		return c, nil
	}
	with := c.With
	if with.Kind == yaml.DocumentNode && len(with.Content) == 1 {
		with = *with.Content[0]
	}
	switch {
	case with.Kind == 0 || (with.Kind == yaml.ScalarNode && with.Tag == "!!null"):
		with = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: c.Line}
	case with.Kind != yaml.MappingNode:
		return c, fmt.Errorf("check %q: with: must be a mapping of settings", c.Name)
	}
	content := make([]*yaml.Node, 0, len(with.Content)+2*len(set))
	for i := 0; i+1 < len(with.Content); i += 2 {
		if _, replaced := set[with.Content[i].Value]; !replaced {
			content = append(content, with.Content[i], with.Content[i+1])
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var v yaml.Node
		if err := v.Encode(set[k]); err != nil {
			return c, fmt.Errorf("check %q: %s: %w", c.Name, k, err)
		}
		content = append(content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, &v)
	}
	with.Content = content
	c.With = with
	return c, nil
}

// Rename rewrites the `with:` keys an error message names into the flags
// that set them, when any flag was given: "expiry_warn (90 days) must not
// be shorter than expiry_fail" reads "--expiry-warn … --expiry-fail" to the
// user who typed flags.
func (o Overrides) Rename(msg string) string {
	if len(o.Set) == 0 || len(o.Flags) == 0 {
		return msg
	}
	keys := make([]string, 0, len(o.Flags))
	for k := range o.Flags {
		keys = append(keys, regexp.QuoteMeta(k))
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	re := regexp.MustCompile(`\b(` + strings.Join(keys, "|") + `)\b`)
	return re.ReplaceAllStringFunc(msg, func(k string) string { return o.Flags[k] })
}
