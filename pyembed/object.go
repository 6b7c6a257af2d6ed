//go:build !nopython

package pyembed

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"sort"

	python3 "github.com/go-python/cpy3"
)

// Scope is the life of one Do call. Every object handed out within it holds a
// strong reference that the scope owns and drops when the call returns, so
// code outside this package never counts references. Objects must not be
// used after their scope has ended; Keep makes one that may.
type Scope struct {
	in    *Interpreter
	owned []*python3.PyObject
}

// Object is a Python object valid for the life of its Scope.
type Object struct {
	s *Scope
	p *python3.PyObject
}

// Kwargs are keyword arguments of a call.
type Kwargs map[string]any

// own takes over a new reference; a nil one means the call that returned it
// raised, and the pending exception becomes the error.
func (s *Scope) own(p *python3.PyObject) (Object, error) {
	if p == nil {
		return Object{}, s.fetchError()
	}
	s.owned = append(s.owned, p)
	return Object{s: s, p: p}, nil
}

// borrow turns a borrowed reference into one the scope owns.
func (s *Scope) borrow(p *python3.PyObject) (Object, error) {
	if p == nil {
		return Object{}, s.fetchError()
	}
	p.IncRef()
	return s.own(p)
}

func (s *Scope) release() {
	for i := len(s.owned) - 1; i >= 0; i-- {
		s.owned[i].DecRef()
	}
	s.owned = nil
}

func (s *Scope) prependPath(entries []string) error {
	if len(entries) == 0 {
		return nil
	}
	sysPath, err := s.borrow(python3.PySys_GetObject("path")) // borrowed
	if err != nil {
		return fmt.Errorf("read sys.path: %w", err)
	}
	for i := len(entries) - 1; i >= 0; i-- {
		entry, err := s.Value(entries[i])
		if err != nil {
			return err
		}
		if python3.PyList_Insert(sysPath.p, 0, entry.p) != 0 { // does not steal
			return fmt.Errorf("extend sys.path: %w", s.fetchError())
		}
	}
	return nil
}

// Import imports a module by its dotted name.
func (s *Scope) Import(name string) (Object, error) {
	m, err := s.own(python3.PyImport_ImportModule(name)) // new reference
	if err != nil {
		return Object{}, fmt.Errorf("import %s: %w", name, err)
	}
	return m, nil
}

// None is Python's None.
func (s *Scope) None() Object {
	o, _ := s.borrow(python3.Py_None)
	return o
}

// Value converts a Go value to a new Python object: nil to None, bools,
// integers, floats and strings to their Python kinds, slices and arrays to
// lists, maps with string keys to dicts (recursively), and an Object to
// itself.
func (s *Scope) Value(v any) (Object, error) {
	switch x := v.(type) {
	case nil:
		return s.None(), nil
	case Object:
		return s.borrow(x.p)
	case bool:
		if x {
			return s.borrow(python3.Py_True)
		}
		return s.borrow(python3.Py_False)
	case string:
		return s.own(python3.PyUnicode_FromString(x))
	case int:
		return s.own(python3.PyLong_FromLongLong(int64(x)))
	case int64:
		return s.own(python3.PyLong_FromLongLong(x))
	case float64:
		return s.own(python3.PyFloat_FromDouble(x))
	case []int:
		return s.intList(x)
	}
	return s.reflectValue(reflect.ValueOf(v))
}

// intList is Value's fast path for token ids, the bulk of what Go sends.
func (s *Scope) intList(xs []int) (Object, error) {
	list, err := s.own(python3.PyList_New(len(xs)))
	if err != nil {
		return Object{}, err
	}
	for i, x := range xs {
		item := python3.PyLong_FromLongLong(int64(x)) // new reference, stolen below
		if item == nil {
			return Object{}, s.fetchError()
		}
		python3.PyList_SetItem(list.p, i, item)
	}
	return list, nil
}

func (s *Scope) reflectValue(v reflect.Value) (Object, error) {
	switch v.Kind() {
	case reflect.Bool:
		return s.Value(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return s.Value(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Uint() > math.MaxInt64 {
			return Object{}, fmt.Errorf("integer %d does not fit in int64", v.Uint())
		}
		return s.Value(int64(v.Uint()))
	case reflect.Float32, reflect.Float64:
		return s.Value(v.Float())
	case reflect.String:
		return s.Value(v.String())
	case reflect.Slice, reflect.Array:
		list, err := s.own(python3.PyList_New(v.Len()))
		if err != nil {
			return Object{}, err
		}
		for i := range v.Len() {
			item, err := s.Value(v.Index(i).Interface())
			if err != nil {
				return Object{}, fmt.Errorf("item %d: %w", i, err)
			}
			item.p.IncRef() // PyList_SetItem steals one reference; the scope keeps its own
			python3.PyList_SetItem(list.p, i, item.p)
		}
		return list, nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return Object{}, fmt.Errorf("map key type %s: only string keys convert to a dict", v.Type().Key())
		}
		dict, err := s.own(python3.PyDict_New())
		if err != nil {
			return Object{}, err
		}
		keys := v.MapKeys()
		// Sorted so that dict order, which Python code can observe, does not
		// depend on Go's map iteration.
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			item, err := s.Value(v.MapIndex(k).Interface())
			if err != nil {
				return Object{}, fmt.Errorf("key %q: %w", k.String(), err)
			}
			if python3.PyDict_SetItemString(dict.p, k.String(), item.p) != 0 { // does not steal
				return Object{}, s.fetchError()
			}
		}
		return dict, nil
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return s.None(), nil
		}
		return s.Value(v.Elem().Interface())
	}
	return Object{}, fmt.Errorf("cannot convert %s to a Python value", v.Type())
}

// Attr reads an attribute.
func (o Object) Attr(name string) (Object, error) {
	a, err := o.s.own(o.p.GetAttrString(name)) // new reference
	if err != nil {
		return Object{}, fmt.Errorf("attribute %s: %w", name, err)
	}
	return a, nil
}

// HasAttr reports whether the object has the attribute.
func (o Object) HasAttr(name string) bool { return o.p.HasAttrString(name) }

// Call calls the object with positional arguments and keyword arguments
// (kwargs may be nil), all converted with Value.
func (o Object) Call(args []any, kwargs Kwargs) (Object, error) {
	s := o.s
	tuple, err := s.own(python3.PyTuple_New(len(args)))
	if err != nil {
		return Object{}, err
	}
	for i, a := range args {
		item, err := s.Value(a)
		if err != nil {
			return Object{}, fmt.Errorf("argument %d: %w", i, err)
		}
		item.p.IncRef() // PyTuple_SetItem steals one reference; the scope keeps its own
		python3.PyTuple_SetItem(tuple.p, i, item.p)
	}
	var kw *python3.PyObject
	if len(kwargs) > 0 {
		d, err := s.Value(map[string]any(kwargs))
		if err != nil {
			return Object{}, fmt.Errorf("keyword arguments: %w", err)
		}
		kw = d.p
	}
	return s.own(o.p.Call(tuple.p, kw)) // new reference
}

// CallMethod calls the named method.
func (o Object) CallMethod(name string, args []any, kwargs Kwargs) (Object, error) {
	m, err := o.Attr(name)
	if err != nil {
		return Object{}, err
	}
	r, err := m.Call(args, kwargs)
	if err != nil {
		return Object{}, fmt.Errorf("%s(): %w", name, err)
	}
	return r, nil
}

// IsNone reports whether the object is None.
func (o Object) IsNone() bool { return o.p == python3.Py_None }

// Int converts a Python int.
func (o Object) Int() (int64, error) {
	if !python3.PyLong_Check(o.p) {
		return 0, fmt.Errorf("expected int, got %s", o.typeName())
	}
	v, overflow := python3.PyLong_AsLongLongAndOverflow(o.p)
	if overflow != 0 {
		return 0, fmt.Errorf("int does not fit in int64")
	}
	return v, nil
}

// Float converts a Python float or int.
func (o Object) Float() (float64, error) {
	if !python3.PyFloat_Check(o.p) && !python3.PyLong_Check(o.p) {
		return 0, fmt.Errorf("expected float, got %s", o.typeName())
	}
	v := python3.PyFloat_AsDouble(o.p)
	if v == -1 && python3.PyErr_Occurred() != nil {
		return 0, o.s.fetchError()
	}
	return v, nil
}

// Str converts a Python str.
func (o Object) Str() (string, error) {
	if !python3.PyUnicode_Check(o.p) {
		return "", fmt.Errorf("expected str, got %s", o.typeName())
	}
	return python3.PyUnicode_AsUTF8(o.p), nil
}

// String is str(o), for messages.
func (o Object) String() string {
	str := o.p.Str() // new reference
	if str == nil {
		python3.PyErr_Clear()
		return "<unprintable " + o.typeName() + ">"
	}
	defer str.DecRef()
	return python3.PyUnicode_AsUTF8(str)
}

func (o Object) typeName() string {
	t := o.p.Type() // new reference
	defer t.DecRef()
	name := t.GetAttrString("__name__") // new reference
	if name == nil {
		python3.PyErr_Clear()
		return "?"
	}
	defer name.DecRef()
	return python3.PyUnicode_AsUTF8(name)
}

// Len is len(o).
func (o Object) Len() (int, error) {
	n := o.p.Length()
	if n < 0 {
		return 0, o.s.fetchError()
	}
	return n, nil
}

// Index is o[i] for a sequence.
func (o Object) Index(i int) (Object, error) {
	key, err := o.s.Value(i)
	if err != nil {
		return Object{}, err
	}
	return o.s.own(o.p.GetItem(key.p)) // new reference
}

// Ints converts a list or tuple of Python ints without creating an Object
// per item: token id lists are long.
func (o Object) Ints() ([]int, error) {
	return sequence(o, "ints", func(item Object) (int, error) {
		v, err := item.Int()
		return int(v), err
	})
}

// Floats converts a list or tuple of Python floats (or ints) as Ints does:
// log-prob lists are as long as token lists.
func (o Object) Floats() ([]float64, error) {
	return sequence(o, "floats", Object.Float)
}

// sequence converts each item of a list or tuple with conv, reading the
// items as borrowed references.
func sequence[T any](o Object, what string, conv func(Object) (T, error)) ([]T, error) {
	n, err := o.Len()
	if err != nil {
		return nil, err
	}
	isList := python3.PyList_Check(o.p)
	if !isList && !python3.PyTuple_Check(o.p) {
		return nil, fmt.Errorf("expected list or tuple of %s, got %s", what, o.typeName())
	}
	out := make([]T, n)
	for i := range n {
		var item *python3.PyObject // borrowed
		if isList {
			item = python3.PyList_GetItem(o.p, i)
		} else {
			item = python3.PyTuple_GetItem(o.p, i)
		}
		if out[i], err = conv(Object{s: o.s, p: item}); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
	}
	return out, nil
}

// Go converts plain data (None, bool, int, float, str, list, tuple and dicts
// with str keys, nested) to nil, bool, int64, float64, string, []any and
// map[string]any.
func (o Object) Go() (any, error) {
	switch {
	case o.IsNone():
		return nil, nil
	case python3.PyBool_Check(o.p):
		return o.p == python3.Py_True, nil
	case python3.PyLong_Check(o.p):
		return o.Int()
	case python3.PyFloat_Check(o.p):
		return o.Float()
	case python3.PyUnicode_Check(o.p):
		return o.Str()
	case python3.PyList_Check(o.p), python3.PyTuple_Check(o.p):
		n, err := o.Len()
		if err != nil {
			return nil, err
		}
		out := make([]any, n)
		for i := range n {
			item, err := o.Index(i)
			if err != nil {
				return nil, err
			}
			if out[i], err = item.Go(); err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
		}
		return out, nil
	case python3.PyDict_Check(o.p):
		items, err := o.s.own(python3.PyDict_Items(o.p)) // new reference
		if err != nil {
			return nil, err
		}
		n, err := items.Len()
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, n)
		for i := range n {
			pair := python3.PyList_GetItem(items.p, i)                 // borrowed
			key := Object{s: o.s, p: python3.PyTuple_GetItem(pair, 0)} // borrowed
			val := Object{s: o.s, p: python3.PyTuple_GetItem(pair, 1)} // borrowed
			k, err := key.Str()
			if err != nil {
				return nil, fmt.Errorf("dict key: %w", err)
			}
			if out[k], err = val.Go(); err != nil {
				return nil, fmt.Errorf("key %q: %w", k, err)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot convert %s to a Go value", o.typeName())
}

// Keep returns a handle to the object that outlives the scope, for objects
// such as an engine that several calls use. Release it when done.
func (o Object) Keep() *Handle {
	o.p.IncRef() // owned by the handle until Release
	return &Handle{in: o.s.in, p: o.p}
}

// Handle is a strong reference held across calls.
type Handle struct {
	in *Interpreter
	p  *python3.PyObject
}

// Object gives the handle's object within a scope.
func (s *Scope) Object(h *Handle) Object {
	if h.in != s.in || h.p == nil {
		panic("pyembed: handle used outside its interpreter or after Release")
	}
	o, _ := s.borrow(h.p)
	return o
}

// Release drops the handle's reference on the interpreter thread. Releasing
// twice, or after the interpreter closed, does nothing.
func (h *Handle) Release() {
	if h.p == nil {
		return
	}
	p := h.p
	h.p = nil
	_ = h.in.Do(context.Background(), func(*Scope) error {
		p.DecRef()
		return nil
	})
}
