//go:build !nopython

package pyembed

import (
	"strings"

	python3 "github.com/go-python/cpy3"
)

// Error is a Python exception seen from Go.
type Error struct {
	// Type is the exception's class, qualified by its module unless it is
	// a builtin: "ValueError", "torch.OutOfMemoryError".
	Type    string
	Message string
	// Traceback is the whole formatted exception, chained causes included.
	Traceback string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Type
	}
	return e.Type + ": " + e.Message
}

// fetchError takes the pending exception, leaving none pending.
func (s *Scope) fetchError() error {
	typ, val, tb := python3.PyErr_Fetch() // new references, or nil
	if typ == nil {
		return &Error{Type: "SystemError", Message: "a Python call failed without setting an exception"}
	}
	typ, val, tb = python3.PyErr_NormalizeException(typ, val, tb)
	// Owned by the scope from here, so they are dropped with it.
	for _, p := range []*python3.PyObject{typ, val, tb} {
		if p != nil {
			s.owned = append(s.owned, p)
		}
	}
	e := &Error{Type: qualifiedName(typ)}
	if val != nil {
		e.Message = Object{s: s, p: val}.String()
	}
	e.Traceback = formatException(typ, val, tb)
	return e
}

func qualifiedName(typ *python3.PyObject) string {
	name := attrString(typ, "__qualname__")
	if mod := attrString(typ, "__module__"); mod != "" && mod != "builtins" {
		return mod + "." + name
	}
	return name
}

// attrString reads a str attribute, or "" when there is none.
func attrString(o *python3.PyObject, attr string) string {
	v := o.GetAttrString(attr) // new reference
	if v == nil {
		python3.PyErr_Clear()
		return ""
	}
	defer v.DecRef()
	if !python3.PyUnicode_Check(v) {
		return ""
	}
	return python3.PyUnicode_AsUTF8(v)
}

// formatException uses Python's own traceback module so the text reads as
// Python prints it. Failing that, there is no traceback, never a crash.
func formatException(typ, val, tb *python3.PyObject) string {
	mod := python3.PyImport_ImportModule("traceback") // new reference
	if mod == nil {
		python3.PyErr_Clear()
		return ""
	}
	defer mod.DecRef()
	if tb == nil {
		tb = python3.Py_None
	}
	if val == nil {
		val = python3.Py_None
	}
	lines := mod.CallMethodArgs("format_exception", typ, val, tb) // new reference
	if lines == nil {
		python3.PyErr_Clear()
		return ""
	}
	defer lines.DecRef()
	var b strings.Builder
	for i := range python3.PyList_Size(lines) {
		b.WriteString(python3.PyUnicode_AsUTF8(python3.PyList_GetItem(lines, i))) // borrowed
	}
	return b.String()
}
