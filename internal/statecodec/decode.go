package statecodec

import (
	"encoding"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
)

// Decoder reads values an Encoder wrote, in the same order and of the
// same types.
type Decoder struct {
	buf  []byte
	off  int
	ptrs []reflect.Value
}

// NewDecoder returns a Decoder reading b.
func NewDecoder(b []byte) *Decoder { return &Decoder{buf: b} }

// Rest returns the bytes not yet read.
func (d *Decoder) Rest() []byte { return d.buf[d.off:] }

// Decode reads into the value ptr points to, in place: fields the encoding
// skips keep their values, and a pointer that is not nil is decoded into
// what it points to. ptr must be a non-nil pointer.
func (d *Decoder) Decode(ptr any) error {
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return fmt.Errorf("statecodec: Decode needs a non-nil pointer, not %T", ptr)
	}
	return d.value(v.Elem())
}

func (d *Decoder) corrupt(what string) error {
	return fmt.Errorf("%w: %s at byte %d", ErrCorrupt, what, d.off)
}

func (d *Decoder) uvarint() (uint64, error) {
	x, n := binary.Uvarint(d.buf[d.off:])
	if n <= 0 {
		return 0, d.corrupt("bad unsigned number")
	}
	d.off += n
	return x, nil
}

func (d *Decoder) varint() (int64, error) {
	x, n := binary.Varint(d.buf[d.off:])
	if n <= 0 {
		return 0, d.corrupt("bad number")
	}
	d.off += n
	return x, nil
}

// length reads a length and checks that at least min bytes per element
// remain, so a damaged length cannot make Decode allocate without bound.
func (d *Decoder) length(per int) (int, error) {
	n, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if n > uint64(len(d.buf)-d.off)/uint64(max(per, 1))+1 {
		return 0, d.corrupt(fmt.Sprintf("length %d past the end", n))
	}
	return int(n), nil
}

func (d *Decoder) value(v reflect.Value) error {
	v = accessible(v)
	t := v.Type()
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(unmarshalerType) && reflect.PointerTo(t).Implements(marshalerType) {
		n, err := d.length(1)
		if err != nil {
			return err
		}
		if d.off+n > len(d.buf) {
			return d.corrupt("value past the end")
		}
		if err := v.Addr().Interface().(encoding.BinaryUnmarshaler).UnmarshalBinary(d.buf[d.off : d.off+n]); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrCorrupt, t, err)
		}
		d.off += n
		return nil
	}
	switch t.Kind() {
	case reflect.Bool:
		if d.off >= len(d.buf) {
			return d.corrupt("missing boolean")
		}
		v.SetBool(d.buf[d.off] != 0)
		d.off++
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x, err := d.varint()
		if err != nil {
			return err
		}
		if v.OverflowInt(x) {
			return d.corrupt("number out of range")
		}
		v.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		x, err := d.uvarint()
		if err != nil {
			return err
		}
		if v.OverflowUint(x) {
			return d.corrupt("number out of range")
		}
		v.SetUint(x)
	case reflect.Float32, reflect.Float64:
		if d.off+8 > len(d.buf) {
			return d.corrupt("missing float")
		}
		v.SetFloat(math.Float64frombits(binary.LittleEndian.Uint64(d.buf[d.off:])))
		d.off += 8
	case reflect.String:
		n, err := d.length(1)
		if err != nil {
			return err
		}
		if d.off+n > len(d.buf) {
			return d.corrupt("string past the end")
		}
		v.SetString(string(d.buf[d.off : d.off+n]))
		d.off += n
	case reflect.Array:
		for i := range v.Len() {
			if err := d.value(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		n, err := d.length(1)
		if err != nil {
			return err
		}
		if n == 0 {
			v.SetZero()
			return nil
		}
		n--
		if t.Elem().Kind() == reflect.Uint8 {
			if d.off+n > len(d.buf) {
				return d.corrupt("bytes past the end")
			}
			v.SetBytes(append([]byte(nil), d.buf[d.off:d.off+n]...))
			d.off += n
			return nil
		}
		s := reflect.MakeSlice(t, n, n)
		for i := range n {
			if err := d.value(s.Index(i)); err != nil {
				return err
			}
		}
		v.Set(s)
	case reflect.Struct:
		for i := range t.NumField() {
			sf := t.Field(i)
			if sf.Tag.Get("partial") == "-" || skipped(sf.Type) {
				continue
			}
			if err := d.value(v.Field(i)); err != nil {
				return fmt.Errorf("%s.%s: %w", t, sf.Name, err)
			}
		}
	case reflect.Pointer:
		id, err := d.uvarint()
		if err != nil {
			return err
		}
		switch {
		case id == 0:
			v.SetZero()
		case id == 1:
			if v.IsNil() {
				v.Set(reflect.New(t.Elem()))
			}
			d.ptrs = append(d.ptrs, reflect.ValueOf(v.Interface()))
			return d.value(v.Elem())
		default:
			i := id - 2
			if i >= uint64(len(d.ptrs)) {
				return d.corrupt("reference to a value not yet read")
			}
			p := d.ptrs[i]
			if p.Type() != t {
				return d.corrupt(fmt.Sprintf("reference to a %s where a %s belongs", p.Type(), t))
			}
			v.Set(p)
		}
	case reflect.Map:
		n, err := d.length(2)
		if err != nil {
			return err
		}
		if n == 0 {
			v.SetZero()
			return nil
		}
		n--
		m := reflect.MakeMapWithSize(t, n)
		for range n {
			k := reflect.New(t.Key()).Elem()
			if err := d.value(k); err != nil {
				return err
			}
			e := reflect.New(t.Elem()).Elem()
			if err := d.value(e); err != nil {
				return err
			}
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	default:
		if skipped(t) {
			return nil
		}
		return fmt.Errorf("statecodec: cannot decode %s", t)
	}
	return nil
}
