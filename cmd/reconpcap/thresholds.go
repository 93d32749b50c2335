package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/BurntSushi/toml"

	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

// A setting is one field of detectors.Config, reachable as a flag
// (--port-scan-threshold) and as a key of a --config file
// (port_scan.threshold). The list comes from the struct itself, so a
// threshold added to detectors.Config is a flag and a key without an edit
// here.
type setting struct {
	key   string // TOML key: "port_scan.threshold"
	flag  string // flag name: "port-scan-threshold"
	index []int  // field path for reflect.Value.FieldByIndex
	typ   reflect.Type
	def   string // the default, for the usage line
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	prefixesType = reflect.TypeFor[[]netip.Prefix]()
)

// settings lists every settable field of detectors.Config, in declaration
// order.
func settings() []setting {
	var out []setting
	def := reflect.ValueOf(detectors.Config{}.Defaults())
	var walk func(t reflect.Type, index []int, keys, flags []string)
	walk = func(t reflect.Type, index []int, keys, flags []string) {
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			idx := append(slices.Clone(index), i)
			k := append(slices.Clone(keys), snake(f.Name))
			fl := append(slices.Clone(flags), strings.ReplaceAll(snake(f.Name), "_", "-"))
			if f.Type.Kind() == reflect.Struct && f.Type != durationType {
				walk(f.Type, idx, k, fl)
				continue
			}
			out = append(out, setting{
				key: strings.Join(k, "."), flag: strings.Join(fl, "-"), index: idx, typ: f.Type,
				def: format(def.FieldByIndex(idx)),
			})
		}
	}
	walk(def.Type(), nil, nil, nil)
	return out
}

// snake turns a Go field name into snake_case: PortScan is port_scan,
// TopN top_n, HTTP http, MinUniqueSubdomains min_unique_subdomains.
func snake(name string) string {
	r := []rune(name)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 {
			prevLower := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1])
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if prevLower || (nextLower && unicode.IsUpper(r[i-1])) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// format prints a field's value the way set reads it.
func format(v reflect.Value) string {
	if v.Type() == prefixesType {
		var s []string
		for _, p := range v.Interface().([]netip.Prefix) {
			s = append(s, p.String())
		}
		return strings.Join(s, ",")
	}
	if v.Type() == durationType {
		return v.Interface().(time.Duration).String()
	}
	return fmt.Sprint(v.Interface())
}

// format prints the setting's value in cfg.
func (st setting) format(cfg *detectors.Config) string {
	return format(reflect.ValueOf(cfg).Elem().FieldByIndex(st.index))
}

// set parses s into the setting's field of cfg.
func (st setting) set(cfg *detectors.Config, s string) error {
	v := reflect.ValueOf(cfg).Elem().FieldByIndex(st.index)
	switch {
	case st.typ == durationType:
		d, err := parseInterval(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
	case st.typ == prefixesType:
		var ps []netip.Prefix
		for _, part := range strings.Split(s, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			p, err := netip.ParsePrefix(part)
			if err != nil {
				a, aerr := netip.ParseAddr(part)
				if aerr != nil {
					return fmt.Errorf("%q is not a network (10.1.0.0/16) or an address", part)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			ps = append(ps, p.Masked())
		}
		v.Set(reflect.ValueOf(ps))
	default:
		switch st.typ.Kind() {
		case reflect.Int, reflect.Int64, reflect.Int32:
			n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
			if err != nil || v.OverflowInt(n) {
				return fmt.Errorf("%q is not a whole number", s)
			}
			v.SetInt(n)
		case reflect.Float64, reflect.Float32:
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return fmt.Errorf("%q is not a number", s)
			}
			v.SetFloat(f)
		case reflect.String:
			v.SetString(s)
		case reflect.Bool:
			b, err := strconv.ParseBool(s)
			if err != nil {
				return fmt.Errorf("%q is not true or false", s)
			}
			v.SetBool(b)
		default:
			return fmt.Errorf("a %s cannot be set from the command line", st.typ)
		}
	}
	return nil
}

// parseInterval reads a duration ("90s", "5m") or a number of seconds
// ("90").
func parseInterval(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q: want seconds (60) or a duration (1m)", s)
	}
	return d, nil
}

// thresholdFlags holds what the command line says about detectors.Config:
// a --config file and the flags given, applied in that order, so a flag
// overrides the file.
type thresholdFlags struct {
	file  string
	given []flagValue
}

type flagValue struct {
	st    setting
	value string
}

// register adds --config and one flag per setting to fs.
func (t *thresholdFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.file, "config", "", "read detector thresholds from a TOML file (see docs/reconpcap.toml); flags override it")
	for _, st := range settings() {
		fs.Var(&thresholdValue{t: t, st: st}, st.flag, fmt.Sprintf("detector threshold %s (default %s)", st.key, orNone(st.def)))
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// thresholdValue is the flag.Value of one setting: it checks the value
// at once (so a bad flag is reported by the flag package, with its name)
// and keeps it to apply after the file.
type thresholdValue struct {
	t  *thresholdFlags
	st setting
}

func (v *thresholdValue) String() string { return "" }

// IsBoolFlag makes a true/false setting a switch: --no-frames alone.
func (v *thresholdValue) IsBoolFlag() bool { return v.st.typ.Kind() == reflect.Bool }

func (v *thresholdValue) Set(s string) error {
	var probe detectors.Config
	if err := v.st.set(&probe, s); err != nil {
		return err
	}
	v.t.given = append(v.t.given, flagValue{v.st, s})
	return nil
}

// ErrConfigFile is wrapped by every problem with a --config file.
var ErrConfigFile = errors.New("config file")

// config returns the detectors.Config the file and flags describe, checked
// with Validate.
func (t *thresholdFlags) config() (detectors.Config, error) {
	var cfg detectors.Config
	if t.file != "" {
		var err error
		if cfg, err = loadConfigFile(t.file); err != nil {
			return detectors.Config{}, err
		}
	}
	for _, g := range t.given {
		if err := g.st.set(&cfg, g.value); err != nil {
			return detectors.Config{}, fmt.Errorf("--%s: %w", g.st.flag, err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return detectors.Config{}, err
	}
	return cfg, nil
}

// maxConfigFile bounds a --config file: thresholds fit in a few KiB.
const maxConfigFile = 1 << 20

// loadConfigFile reads a TOML file of detector settings. A key that is
// not a setting is an error that names it (a typo must not silently leave
// a default in force).
func loadConfigFile(path string) (detectors.Config, error) {
	fail := func(format string, args ...any) (detectors.Config, error) {
		return detectors.Config{}, fmt.Errorf("%w %s: %s", ErrConfigFile, textsafe.Escape(path, 256), fmt.Sprintf(format, args...))
	}
	st, err := os.Stat(path)
	if err != nil {
		return fail("%v", errors.Unwrap(err))
	}
	if st.Size() > maxConfigFile {
		return fail("%d bytes, more than a config file holds (%d)", st.Size(), maxConfigFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fail("%v", err)
	}
	var tree map[string]any
	if _, err := toml.Decode(string(data), &tree); err != nil {
		return fail("%v", err)
	}
	byKey := map[string]setting{}
	for _, s := range settings() {
		byKey[s.key] = s
	}
	var cfg detectors.Config
	var walk func(prefix string, m map[string]any) error
	walk = func(prefix string, m map[string]any) error {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			key := prefix + k
			v := m[k]
			if sub, ok := v.(map[string]any); ok {
				if err := walk(key+".", sub); err != nil {
					return err
				}
				continue
			}
			s, ok := byKey[key]
			if !ok {
				return fmt.Errorf("unknown key %s", textsafe.Escape(key, 128))
			}
			if err := s.set(&cfg, tomlText(v)); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		}
		return nil
	}
	if err := walk("", tree); err != nil {
		return fail("%v", err)
	}
	return cfg, nil
}

// tomlText turns a decoded TOML value into the text set reads.
func tomlText(v any) string {
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, ",")
	case time.Duration:
		return x.String()
	}
	return fmt.Sprint(v)
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
