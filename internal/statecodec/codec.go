package statecodec

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"unsafe"
)

// ErrCorrupt is wrapped by the errors Decode returns for bytes that are
// not an encoding of the values given.
var ErrCorrupt = errors.New("statecodec: corrupt encoding")

var (
	marshalerType   = reflect.TypeFor[encoding.BinaryMarshaler]()
	unmarshalerType = reflect.TypeFor[encoding.BinaryUnmarshaler]()
)

// Encoder writes values to one stream; pointers shared between the values
// of one Encoder are written once.
type Encoder struct {
	buf  []byte
	ptrs map[ptrKey]uint64
}

// ptrKey names a value by address and type: a struct and its first field
// share an address.
type ptrKey struct {
	p unsafe.Pointer
	t reflect.Type
}

// NewEncoder returns an empty Encoder.
func NewEncoder() *Encoder { return &Encoder{ptrs: map[ptrKey]uint64{}} }

// Bytes returns what was encoded so far.
func (e *Encoder) Bytes() []byte { return e.buf }

// Encode appends the value ptr points to. ptr must be a non-nil pointer.
func (e *Encoder) Encode(ptr any) error {
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return fmt.Errorf("statecodec: Encode needs a non-nil pointer, not %T", ptr)
	}
	return e.value(v.Elem())
}

func (e *Encoder) uvarint(x uint64) { e.buf = binary.AppendUvarint(e.buf, x) }
func (e *Encoder) varint(x int64)   { e.buf = binary.AppendVarint(e.buf, x) }

// accessible returns v made readable and settable even when it was
// reached through unexported fields; v must be addressable.
func accessible(v reflect.Value) reflect.Value {
	if v.CanInterface() && v.CanSet() {
		return v
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

// addressable returns an addressable copy of v when v is not.
func addressable(v reflect.Value) reflect.Value {
	if v.CanAddr() {
		return v
	}
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	return c
}

func skipped(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Func, reflect.Chan, reflect.Interface, reflect.UnsafePointer, reflect.Uintptr:
		return true
	}
	return false
}

func (e *Encoder) value(v reflect.Value) error {
	t := v.Type()
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(marshalerType) && reflect.PointerTo(t).Implements(unmarshalerType) {
		v = accessible(addressable(v))
		b, err := v.Addr().Interface().(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return err
		}
		e.uvarint(uint64(len(b)))
		e.buf = append(e.buf, b...)
		return nil
	}
	switch t.Kind() {
	case reflect.Bool:
		if v.Bool() {
			e.buf = append(e.buf, 1)
		} else {
			e.buf = append(e.buf, 0)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.varint(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		e.uvarint(v.Uint())
	case reflect.Float32, reflect.Float64:
		e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(v.Float()))
	case reflect.String:
		e.uvarint(uint64(v.Len()))
		e.buf = append(e.buf, v.String()...)
	case reflect.Array:
		v = addressable(v)
		for i := range v.Len() {
			if err := e.value(accessible(v.Index(i))); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			e.uvarint(0)
			return nil
		}
		e.uvarint(uint64(v.Len()) + 1)
		if t.Elem().Kind() == reflect.Uint8 {
			e.buf = append(e.buf, v.Bytes()...)
			return nil
		}
		for i := range v.Len() {
			if err := e.value(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Struct:
		v = addressable(v)
		for i := range t.NumField() {
			sf := t.Field(i)
			if sf.Tag.Get("partial") == "-" || skipped(sf.Type) {
				continue
			}
			f := v.Field(i)
			if f.CanAddr() {
				f = accessible(f)
			}
			if err := e.value(f); err != nil {
				return fmt.Errorf("%s.%s: %w", t, sf.Name, err)
			}
		}
	case reflect.Pointer:
		if v.IsNil() {
			e.uvarint(0)
			return nil
		}
		p := ptrKey{v.UnsafePointer(), t}
		if id, ok := e.ptrs[p]; ok {
			e.uvarint(id)
			return nil
		}
		id := uint64(len(e.ptrs)) + 2 // 0 is nil, 1 a new value
		e.ptrs[p] = id
		e.uvarint(1)
		return e.value(v.Elem())
	case reflect.Map:
		if v.CanAddr() {
			v = accessible(v)
		}
		return e.mapValue(v)
	default:
		if skipped(t) {
			return nil
		}
		return fmt.Errorf("statecodec: cannot encode %s", t)
	}
	return nil
}

// mapValue writes a map's entries in the order of their keys' encoding.
func (e *Encoder) mapValue(v reflect.Value) error {
	if v.IsNil() {
		e.uvarint(0)
		return nil
	}
	type entry struct {
		order []byte
		k, v  reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		// The order comes from a separate encoder, so it neither
		// numbers pointers nor depends on those numbered so far.
		o := NewEncoder()
		o.ptrs = nil
		if err := o.orderKey(it.Key()); err != nil {
			return err
		}
		if v.Type().Key().Kind() == reflect.Pointer {
			// Keys of equal content: their values decide.
			if err := o.orderKey(it.Value()); err != nil {
				return err
			}
		}
		entries = append(entries, entry{o.buf, it.Key(), it.Value()})
	}
	slices.SortFunc(entries, func(a, b entry) int { return bytes.Compare(a.order, b.order) })
	e.uvarint(uint64(len(entries)) + 1)
	for _, en := range entries {
		if err := e.value(en.k); err != nil {
			return err
		}
		if err := e.value(en.v); err != nil {
			return err
		}
	}
	return nil
}

// orderKey writes v for sorting only: pointers by what they point to
// (to a bounded depth, so a cycle cannot recurse for ever).
func (e *Encoder) orderKey(v reflect.Value) error {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			e.buf = append(e.buf, 0)
			return nil
		}
		e.buf = append(e.buf, 1)
		return e.orderKey(v.Elem())
	}
	if v.Kind() == reflect.Struct && !reflect.PointerTo(v.Type()).Implements(marshalerType) {
		v = addressable(v)
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			if sf.Tag.Get("partial") == "-" || skipped(sf.Type) || sf.Type.Kind() == reflect.Pointer || sf.Type.Kind() == reflect.Map {
				continue
			}
			if err := e.orderKey(accessible(v.Field(i))); err != nil {
				return err
			}
		}
		return nil
	}
	save := e.ptrs
	e.ptrs = map[ptrKey]uint64{}
	defer func() { e.ptrs = save }()
	return e.value(v)
}
