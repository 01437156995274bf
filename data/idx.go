package data

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
)

// IDX element types (the third magic byte).
const (
	IDXUbyte  byte = 0x08
	IDXSbyte  byte = 0x09
	IDXShort  byte = 0x0B
	IDXInt    byte = 0x0C
	IDXFloat  byte = 0x0D
	IDXDouble byte = 0x0E
)

// idxElemSize returns the size in bytes of one element of type typ, or 0 for
// an unknown type.
func idxElemSize(typ byte) int {
	switch typ {
	case IDXUbyte, IDXSbyte:
		return 1
	case IDXShort:
		return 2
	case IDXInt, IDXFloat:
		return 4
	case IDXDouble:
		return 8
	}
	return 0
}

// maxIDXBytes bounds the data size an IDX header may announce, so that a
// corrupt header cannot make ReadIDX allocate absurd amounts of memory.
const maxIDXBytes = 1 << 34

// ReadIDX reads an IDX file (gzipped or not, detected by the gzip magic
// bytes) from r; name is used in errors. It returns the dimensions, the
// element type (IDXUbyte, …) and the raw big-endian element data, whose
// length is the product of dims times the element size. A short file, a
// corrupt gzip stream, a bad magic number, an unknown element type and bytes
// after the announced data are all errors.
func ReadIDX(r io.Reader, name string) (dims []int, typ byte, data []byte, err error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(2)
	if len(head) == 0 {
		if err == nil || err == io.EOF {
			return nil, 0, nil, fmt.Errorf("data: %s: empty file, want an IDX file", name)
		}
		return nil, 0, nil, fmt.Errorf("data: %s: %v", name, err)
	}
	var src io.Reader = br
	gz := len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b
	if gz {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, 0, nil, idxReadError(name, true, "gzip header", err)
		}
		defer zr.Close()
		zr.Multistream(false)
		src = &gzipMembers{br: br, zr: zr}
	}

	var hdr [4]byte
	if _, err := io.ReadFull(src, hdr[:]); err != nil {
		if err == io.EOF {
			return nil, 0, nil, fmt.Errorf("data: %s: empty file, want an IDX file", name)
		}
		return nil, 0, nil, idxReadError(name, gz, "IDX header", err)
	}
	if hdr[0] != 0 || hdr[1] != 0 {
		return nil, 0, nil, fmt.Errorf("data: %s: not an IDX file (magic bytes %02x %02x %02x %02x, want 00 00 type ndim)",
			name, hdr[0], hdr[1], hdr[2], hdr[3])
	}
	typ = hdr[2]
	size := idxElemSize(typ)
	if size == 0 {
		return nil, 0, nil, fmt.Errorf("data: %s: unsupported IDX element type 0x%02x", name, typ)
	}
	ndim := int(hdr[3])
	if ndim == 0 {
		return nil, 0, nil, fmt.Errorf("data: %s: IDX header announces 0 dimensions", name)
	}
	raw := make([]byte, 4*ndim)
	if _, err := io.ReadFull(src, raw); err != nil {
		return nil, 0, nil, idxReadError(name, gz, "IDX dimensions", err)
	}
	dims = make([]int, ndim)
	total := int64(size)
	for i := range dims {
		d := int64(raw[4*i])<<24 | int64(raw[4*i+1])<<16 | int64(raw[4*i+2])<<8 | int64(raw[4*i+3])
		dims[i] = int(d)
		if d != 0 && total > maxIDXBytes/d {
			return nil, 0, nil, fmt.Errorf("data: %s: IDX dimensions %v are too large", name, dims[:i+1])
		}
		total *= d
	}

	data, err = readN(src, int(total))
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, 0, nil, fmt.Errorf("data: %s: file is truncated: dimensions %v need %d data bytes, found %d",
				name, dims, total, len(data))
		}
		return nil, 0, nil, idxReadError(name, gz, "IDX data", err)
	}
	// Anything after the data is an error; reading on also makes the gzip
	// reader verify its checksum.
	var one [1]byte
	switch n, err := io.ReadFull(src, one[:]); {
	case n > 0:
		return nil, 0, nil, fmt.Errorf("data: %s: unexpected bytes after the %d data bytes that dimensions %v announce",
			name, total, dims)
	case err != io.EOF:
		return nil, 0, nil, idxReadError(name, gz, "end of file", err)
	}
	return dims, typ, data, nil
}

// errGzipTrailer reports bytes after the last gzip member that do not start
// another member.
var errGzipTrailer = errors.New("unexpected bytes after the gzip stream")

// gzipMembers reads the concatenated gzip members of br, like a
// multistream gzip.Reader, but reports bytes after the last member that are
// not another gzip member as errGzipTrailer rather than as a bad header.
type gzipMembers struct {
	br *bufio.Reader
	zr *gzip.Reader
}

func (g *gzipMembers) Read(p []byte) (int, error) {
	for {
		n, err := g.zr.Read(p)
		if n > 0 {
			if err == io.EOF {
				err = nil // the next call moves on to the next member
			}
			return n, err
		}
		if err != io.EOF {
			return 0, err
		}
		head, err := g.br.Peek(2)
		switch {
		case len(head) == 0 && err == io.EOF:
			return 0, io.EOF
		case len(head) == 0:
			return 0, err
		case len(head) < 2 || head[0] != 0x1f || head[1] != 0x8b:
			return 0, errGzipTrailer
		}
		if err := g.zr.Reset(g.br); err != nil {
			return 0, err
		}
		g.zr.Multistream(false)
	}
}

// readN reads exactly n bytes. It allocates at most about as much as the data actually
// present (growing its buffer from 1 MiB by doubling), so a lying header cannot exhaust memory.
func readN(r io.Reader, n int) ([]byte, error) {
	const first = 1 << 20
	buf := make([]byte, 0, min(n, first))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(cap(buf), n-len(buf)))
		}
		k, err := io.ReadFull(r, buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+k]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// idxReadError turns an error met while reading part of an IDX file into a
// one-line error naming the file.
func idxReadError(name string, gz bool, part string, err error) error {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, errGzipTrailer):
		return fmt.Errorf("data: %s: %v", name, err)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		if gz {
			return fmt.Errorf("data: %s: gzip data is truncated (in the %s)", name, part)
		}
		return fmt.Errorf("data: %s: file is truncated (in the %s)", name, part)
	case gz && (errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.As(err, &corrupt)):
		return fmt.Errorf("data: %s: corrupt gzip data: %v", name, err)
	}
	return fmt.Errorf("data: %s: read error: %v", name, err)
}

// readIDXFile opens path and reads it with ReadIDX.
func readIDXFile(path string) (dims []int, typ byte, data []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return ReadIDX(f, path)
}

// pixelScale maps a byte to its value divided by 255.
var pixelScale = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// imageLabelFiles reads a pair of IDX files, images (N×rows×cols unsigned
// bytes) and labels (N unsigned bytes < classes), into a Set with pixels
// scaled to [0,1] and Shape [1,rows,cols]. Both files are read concurrently.
func imageLabelFiles(imgPath, lblPath string, classes int) (*Set, error) {
	type result struct {
		dims []int
		typ  byte
		data []byte
		err  error
	}
	var img, lbl result
	done := make(chan struct{})
	go func() {
		defer close(done)
		lbl.dims, lbl.typ, lbl.data, lbl.err = readIDXFile(lblPath)
	}()
	img.dims, img.typ, img.data, img.err = readIDXFile(imgPath)
	<-done
	if img.err != nil {
		return nil, img.err
	}
	if lbl.err != nil {
		return nil, lbl.err
	}
	if img.typ != IDXUbyte || len(img.dims) != 3 {
		return nil, fmt.Errorf("data: %s: not an image file: want unsigned bytes (type 0x08) with 3 dimensions (count, rows, cols), found type 0x%02x with dimensions %v",
			imgPath, img.typ, img.dims)
	}
	if lbl.typ != IDXUbyte || len(lbl.dims) != 1 {
		return nil, fmt.Errorf("data: %s: not a label file: want unsigned bytes (type 0x08) with 1 dimension, found type 0x%02x with dimensions %v",
			lblPath, lbl.typ, lbl.dims)
	}
	n, rows, cols := img.dims[0], img.dims[1], img.dims[2]
	if rows == 0 || cols == 0 {
		return nil, fmt.Errorf("data: %s: images have size %d×%d", imgPath, rows, cols)
	}
	if lbl.dims[0] != n {
		return nil, fmt.Errorf("data: %s holds %d images but %s holds %d labels", imgPath, n, lblPath, lbl.dims[0])
	}
	labels := make([]int32, n)
	for i, b := range lbl.data {
		if int(b) >= classes {
			return nil, fmt.Errorf("data: %s: labels out of range: label %d at index %d, want 0..%d", lblPath, b, i, classes-1)
		}
		labels[i] = int32(b)
	}
	x := make([]float32, len(img.data))
	scalePixels(x, img.data)
	return &Set{X: x, Shape: []int{1, rows, cols}, Labels: labels, Classes: classes}, nil
}

// scalePixels sets x[i] = px[i]/255, splitting large inputs over the CPUs
// (the time goes mostly into first touching the freshly allocated x).
func scalePixels(x []float32, px []byte) {
	const grain = 1 << 20
	workers := min(runtime.GOMAXPROCS(0), (len(px)+grain-1)/grain)
	if workers <= 1 {
		for i, b := range px {
			x[i] = pixelScale[b]
		}
		return
	}
	var wg sync.WaitGroup
	step := (len(px) + workers - 1) / workers
	for lo := 0; lo < len(px); lo += step {
		hi := min(lo+step, len(px))
		wg.Go(func() {
			dst := x[lo:hi]
			for i, b := range px[lo:hi] {
				dst[i] = pixelScale[b]
			}
		})
	}
	wg.Wait()
}
