package config

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestOverride(t *testing.T) {
	cfg, err := Parse("readiness.yaml", []byte(`version: 1
checks:
  - name: k
    type: security-key
    with:
      key: a.asc
      expiry_fail: 10d
  - name: bare
    type: workflow
`), LoadOptions{KnownTypes: []string{"security-key", "workflow"}})
	if err != nil {
		t.Fatal(err)
	}
	type opts struct {
		Key        string   `yaml:"key"`
		ExpiryFail string   `yaml:"expiry_fail"`
		Files      []string `yaml:"files"`
	}
	tests := []struct {
		name string
		spec CheckSpec
		set  map[string]any
		want opts
	}{
		{"replaces one key, keeps the rest", cfg.Checks[0], map[string]any{"key": "/abs/b.asc"}, opts{Key: "/abs/b.asc", ExpiryFail: "10d"}},
		{"adds a key", cfg.Checks[0], map[string]any{"files": []string{"x.yml"}}, opts{Key: "a.asc", ExpiryFail: "10d", Files: []string{"x.yml"}}},
		{"no with block", cfg.Checks[1], map[string]any{"key": "k"}, opts{Key: "k"}},
		{"nothing set", cfg.Checks[0], nil, opts{Key: "a.asc", ExpiryFail: "10d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := yaml.Marshal(&tt.spec.With)
			got, err := tt.spec.Override(tt.set)
			if err != nil {
				t.Fatal(err)
			}
			var o opts
			if err := DecodeStrict("readiness.yaml", &got.With, &o); err != nil {
				t.Fatal(err)
			}
			if o.Key != tt.want.Key || o.ExpiryFail != tt.want.ExpiryFail || len(o.Files) != len(tt.want.Files) {
				t.Errorf("got %+v, want %+v", o, tt.want)
			}
			if after, _ := yaml.Marshal(&tt.spec.With); string(after) != string(before) {
				t.Errorf("the original spec changed:\n%s\nbecame\n%s", before, after)
			}
		})
	}
}

func TestOverridesRename(t *testing.T) {
	o := Overrides{Set: map[string]any{"expiry_fail": "100d"}, Flags: map[string]string{"expiry_fail": "--expiry-fail", "expiry_warn": "--expiry-warn", "key": "KEY_FILE"}}
	got := o.Rename("expiry_warn (90 days) must not be shorter than expiry_fail (100 days); keyring is fine")
	want := "--expiry-warn (90 days) must not be shorter than --expiry-fail (100 days); keyring is fine"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := (Overrides{Flags: o.Flags}).Rename("expiry_fail"); got != "expiry_fail" {
		t.Errorf("no flag given: renamed to %q", got)
	}
}
