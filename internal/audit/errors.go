package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/palisade-sec/palisade/internal/srcpos"
)

// A problem with one input file is a *srcpos.Error: the file, a line and
// column when known, and the cause in Err.

// ErrNotRecognized says a file is not in any format palisade audits.
var ErrNotRecognized = errors.New("not a docker inspect dump, compose file, Kubernetes manifest or OCI config.json")

// JSONError turns an encoding/json error into a *srcpos.Error at the
// offending byte.
func JSONError(file string, data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		// Offset is just past the bad byte.
		return srcpos.Wrap(srcpos.At(file, data, se.Offset-1), fmt.Errorf("invalid JSON: %v", se))
	case errors.As(err, &te):
		return srcpos.Wrap(srcpos.At(file, data, te.Offset), fmt.Errorf("%s: cannot use JSON %s as %s", te.Field, te.Value, te.Type))
	}
	return srcpos.Wrap(srcpos.Position{File: file}, err)
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// YAMLError turns a YAML parser error ("yaml: line 3: ...") into a
// *srcpos.Error; lineOffset is added for documents that start further down a
// multi-document file.
func YAMLError(file string, lineOffset int, err error) error {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return srcpos.Wrap(srcpos.Position{File: file, Line: n + lineOffset}, fmt.Errorf("invalid YAML: %s", m[2]))
	}
	return srcpos.Wrap(srcpos.Position{File: file, Line: lineOffset + 1}, fmt.Errorf("invalid YAML: %v", err))
}
