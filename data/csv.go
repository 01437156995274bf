package data

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// maxCSVClasses bounds the class labels of a CSV classification target.
const maxCSVClasses = 1 << 16

// openCSV reads a CSV file with a header row and numeric cells. The target
// column is o.Target, or the last column when o.Target is empty.
func openCSV(path string, o Options) (*Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	s, err := readCSV(f, path, o)
	if err != nil {
		return nil, err
	}
	return &Source{Name: "csv:" + path, Train: s}, nil
}

// readCSV parses CSV data from r; name is used in errors.
func readCSV(r io.Reader, name string, o Options) (*Set, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if head, _ := br.Peek(3); string(head) == "\ufeff" {
		br.Discard(3) // UTF-8 byte order mark, as written by spreadsheets
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // checked below, with a clearer message
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("data: %s: empty file, want a header row naming the columns", name)
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	cols := make([]string, len(header))
	allNumeric := true
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, fmt.Errorf("data: %s: header column %d has no name", name, i+1)
		}
		for j := range i {
			if cols[j] == h {
				return nil, fmt.Errorf("data: %s: header names column %q twice", name, h)
			}
		}
		if _, err := strconv.ParseFloat(h, 64); err != nil {
			allNumeric = false
		}
		cols[i] = h
	}
	if allNumeric {
		return nil, fmt.Errorf("data: %s: the first line looks like data; a header row naming the columns is required", name)
	}
	if len(cols) < 2 {
		return nil, fmt.Errorf("data: %s: only one column (%q); need at least one feature column besides the target", name, cols[0])
	}

	target := len(cols) - 1
	if o.Target != "" {
		target = -1
		for i, c := range cols {
			if c == o.Target {
				target = i
			}
		}
		if target < 0 {
			return nil, fmt.Errorf("data: %s: no target column %q; columns are %s", name, o.Target, listColumns(cols))
		}
	}
	dim := len(cols) - 1
	features := make([]string, 0, dim)
	for i, c := range cols {
		if i != target {
			features = append(features, c)
		}
	}

	s := &Set{Shape: []int{dim}, FeatureNames: features, TargetName: cols[target]}
	maxLabel := int64(-1)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(cols) {
			return nil, fmt.Errorf("data: %s: line %d has %d fields but the header has %d", name, line, len(rec), len(cols))
		}
		for i, cell := range rec {
			v, err := parseCell(cell)
			if err != nil {
				return nil, fmt.Errorf("data: %s: line %d, column %q: %v", name, line, cols[i], err)
			}
			if i != target {
				s.X = append(s.X, float32(v))
				continue
			}
			switch o.Task {
			case Regression:
				s.Y = append(s.Y, float32(v))
			default:
				if v != math.Trunc(v) {
					return nil, fmt.Errorf("data: %s: line %d, column %q: %q is not an integer class label", name, line, cols[i], strings.TrimSpace(cell))
				}
				if v < 0 || v >= maxCSVClasses {
					return nil, fmt.Errorf("data: %s: line %d, column %q: labels out of range: %q (want an integer in 0..%d)",
						name, line, cols[i], strings.TrimSpace(cell), maxCSVClasses-1)
				}
				s.Labels = append(s.Labels, int32(v))
				maxLabel = max(maxLabel, int64(v))
			}
		}
	}
	if len(s.X) == 0 {
		return nil, fmt.Errorf("data: %s: no data rows after the header", name)
	}
	if o.Task == Regression {
		s.Outputs = 1
	} else {
		s.Classes = max(int(maxLabel)+1, 2)
	}
	return s, nil
}

// parseCell parses one numeric CSV cell; NaN, infinities and values beyond
// float32 range are rejected.
func parseCell(cell string) (float64, error) {
	c := strings.TrimSpace(cell)
	if c == "" {
		return 0, errors.New("empty cell (missing values are not supported)")
	}
	v, err := strconv.ParseFloat(c, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("%q is out of range", c)
		}
		return 0, fmt.Errorf("%q is not a number", c)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a finite number", c)
	}
	if math.Abs(v) > math.MaxFloat32 {
		return 0, fmt.Errorf("%q is out of float32 range", c)
	}
	return v, nil
}

// csvError reports a CSV syntax error on one line.
func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("data: %s: line %d, column %d: %v", name, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("data: %s: %v", name, err)
}

// listColumns quotes column names for an error message, eliding the middle
// of long lists.
func listColumns(cols []string) string {
	const most = 20
	q := make([]string, 0, min(len(cols), most+1))
	for i, c := range cols {
		if i == most {
			q = append(q, fmt.Sprintf("… (%d more)", len(cols)-most))
			break
		}
		q = append(q, strconv.Quote(c))
	}
	return strings.Join(q, ", ")
}
