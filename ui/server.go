package ui

import (
	"bytes"
	"embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed assets
var assets embed.FS

// Options configure a Server; the zero value (or nil) means the defaults.
type Options struct {
	// Poll is how often the server looks for changed files, for /api/events and to keep the
	// index fresh (0 = 1 s).
	Poll time.Duration
	// LiveWindow: a run without summary.json counts as still training while its metrics.jsonl
	// changed less than this long ago (0 = 10 minutes).
	LiveWindow time.Duration
	// LocalOnly refuses requests whose Host header is not a loopback name or address (a guard
	// against DNS rebinding when the server binds to loopback).
	LocalOnly bool
}

// Server serves the page and the JSON API for a set of directories.
type Server struct {
	opt   Options
	roots []*root
	mu    sync.Mutex
	sc    *scanner
	ix    *index
	mux   *http.ServeMux
}

// New returns a server for the run folders under dirs. Each must be a readable directory.
func New(dirs []string, o *Options) (*Server, error) {
	var opt Options
	if o != nil {
		opt = *o
	}
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	if opt.LiveWindow <= 0 {
		opt.LiveWindow = 10 * time.Minute
	}
	if len(dirs) == 0 {
		return nil, errors.New("ui: no directory to serve")
	}
	s := &Server{opt: opt}
	used := map[string]int{}
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil {
			s.Close()
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("ui: %s: no such directory", d)
			}
			return nil, fmt.Errorf("ui: %s: %v", d, cleanErr(err))
		}
		if !fi.IsDir() {
			s.Close()
			return nil, fmt.Errorf("ui: %s: not a directory", d)
		}
		r, err := os.OpenRoot(d)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("ui: %s: %v", d, cleanErr(err))
		}
		name := rootName(d)
		if used[name]++; used[name] > 1 {
			name = fmt.Sprintf("%s~%d", name, used[name])
		}
		s.roots = append(s.roots, &root{name: name, dir: d, fs: r})
	}
	s.sc = &scanner{roots: s.roots, live: opt.LiveWindow, now: time.Now, cache: map[string]cacheEntry{}}
	s.routes()
	return s, nil
}

// rootName is the ID prefix of directory d: its base name (of the absolute path for "." and the like).
func rootName(d string) string {
	if a, err := filepath.Abs(d); err == nil {
		d = a
	}
	name := filepath.Base(d)
	if name == "/" || name == "." || name == "" || strings.ContainsAny(name, "/\\") {
		name = "root"
	}
	return name
}

// Close releases the directories.
func (s *Server) Close() error {
	for _, r := range s.roots {
		r.fs.Close()
	}
	return nil
}

// Handler returns the HTTP handler: the page under /, the API under /api/.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'")
		if s.opt.LocalOnly && !loopbackHost(r.Host) {
			httpError(w, http.StatusForbidden, "host "+strconv.Quote(r.Host)+" not allowed: the server answers to localhost only")
			return
		}
		s.mux.ServeHTTP(w, r)
	})
}

// loopbackHost tells whether a Host header names this machine: localhost or a loopback address.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	files := http.FileServerFS(static)
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(static, "index.html")
		if err != nil {
			httpError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	})
	m.Handle("GET /assets/", http.StripPrefix("/assets/", files))
	m.HandleFunc("GET /api/status", s.status)
	m.HandleFunc("GET /api/runs", s.listRuns)
	m.HandleFunc("GET /api/runs/{id}", s.getRun)
	m.HandleFunc("GET /api/runs/{id}/metrics", s.metrics)
	m.HandleFunc("GET /api/runs/{id}/sharpness", s.sharpness)
	m.HandleFunc("GET /api/runs/{id}/files/{name}", s.runFile)
	m.HandleFunc("GET /api/sweeps", s.listSweeps)
	m.HandleFunc("GET /api/sweeps/{id}", s.getSweep)
	m.HandleFunc("GET /api/sweeps/{id}/files/{name}", s.sweepFile)
	m.HandleFunc("GET /api/events", s.events)
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		httpError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpError(w, http.StatusNotFound, "not found: "+r.URL.Path)
	})
	s.mux = m
}

// current returns an index at most half a poll interval old.
func (s *Server) current() *index {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ix == nil || time.Since(s.ix.at) >= s.opt.Poll/2 {
		s.ix = s.sc.scan()
	}
	return s.ix
}

// parsed returns file name of a folder through the scanner's cache.
func (s *Server) parsed(rt *root, rel, name string, files map[string]fileInfo, parse func([]byte) (any, error)) (any, error) {
	fi, ok := files[name]
	if !ok {
		return nil, fs.ErrNotExist
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sc.cached(rt, path.Join(rel, name), fi, parse)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

// httpError answers {"error": msg} with the status code.
func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Write(b)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	ix := s.current()
	type dir struct {
		Name string `json:"name"`
		Path string `json:"path"`
	}
	dirs := make([]dir, len(s.roots))
	for i, rt := range s.roots {
		dirs[i] = dir{rt.name, rt.dir}
	}
	live := 0
	for _, r := range ix.runs {
		if r.Live {
			live++
		}
	}
	writeJSON(w, map[string]any{
		"dirs": dirs, "runs": len(ix.runs), "sweeps": len(ix.sweeps), "live": live,
		"problems": orEmpty(ix.problems), "poll_ms": s.opt.Poll.Milliseconds(),
		"live_window_s": s.opt.LiveWindow.Seconds(), "scanned": ix.at,
	})
}

// orEmpty turns nil into an empty slice, which JSON writes as [] rather than null.
func orEmpty[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, orEmpty(s.current().runs))
}

// lookup finds the {id} of the request in an index map (answering 404 when it is not there);
// the id is never used as a path.
func lookup[T any](w http.ResponseWriter, r *http.Request, m map[string]*T, what string) *T {
	id := r.PathValue("id")
	v := m[id]
	if v == nil {
		httpError(w, http.StatusNotFound, "no "+what+" "+strconv.Quote(id))
	}
	return v
}

func (s *Server) run(w http.ResponseWriter, r *http.Request) *Run {
	return lookup(w, r, s.current().byID, "run")
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	run := s.run(w, r)
	if run == nil {
		return
	}
	cfg := run.cfgJSON
	if len(cfg) == 0 {
		cfg = json.RawMessage("null")
	}
	writeJSON(w, struct {
		*Run
		Config json.RawMessage `json:"config"`
	}{run, cfg})
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	run := s.run(w, r)
	if run == nil {
		return
	}
	rows := orEmpty(run.rows)
	writeJSON(w, map[string]any{
		"id": run.ID, "status": run.Status, "live": run.Live, "version": run.Version,
		"rows": rows, "problems": run.Problems,
	})
}

// Density is an eigenvalue density curve (density.csv).
type Density struct {
	Eigenvalue []float64 `json:"eigenvalue"`
	Density    []float64 `json:"density"`
}

func parseDensity(b []byte) (any, error) {
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("corrupt: %v", err)
	}
	if len(recs) == 0 || len(recs[0]) < 2 || recs[0][0] != "eigenvalue" || recs[0][1] != "density" {
		return nil, errors.New("corrupt: the header is not eigenvalue,density")
	}
	d := &Density{Eigenvalue: []float64{}, Density: []float64{}}
	for i, rec := range recs[1:] {
		x, err1 := strconv.ParseFloat(rec[0], 64)
		y, err2 := strconv.ParseFloat(rec[1], 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("corrupt: line %d: not two numbers", i+2)
		}
		d.Eigenvalue = append(d.Eigenvalue, x)
		d.Density = append(d.Density, y)
	}
	return d, nil
}

// figureOrder sorts a run's figures: the density first, then the landscapes, then the path.
func figureOrder(names []string) []string {
	rank := func(n string) int {
		switch {
		case n == "density.png":
			return 0
		case strings.HasPrefix(n, "landscape_1d"):
			return 1
		case strings.HasPrefix(n, "landscape_"):
			return 2
		case n == "path.png":
			return 3
		}
		return 4
	}
	var out []string
	for _, n := range names {
		if strings.HasSuffix(n, ".png") {
			out = append(out, n)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	if out == nil {
		out = []string{}
	}
	return out
}

func (s *Server) sharpness(w http.ResponseWriter, r *http.Request) {
	run := s.run(w, r)
	if run == nil {
		return
	}
	problems := []string{}
	var sh json.RawMessage
	if v, err := s.parsed(run.root, run.rel, sharpnessFile, run.files, parseObject); err == nil {
		sh = v.(json.RawMessage)
	} else if !isNotExist(err) {
		problems = append(problems, fmt.Sprintf("%s: %v", sharpnessFile, err))
	}
	var dens *Density
	if v, err := s.parsed(run.root, run.rel, densityFile, run.files, parseDensity); err == nil {
		dens = v.(*Density)
	} else if !isNotExist(err) {
		problems = append(problems, fmt.Sprintf("%s: %v", densityFile, err))
	}
	if sh == nil {
		sh = json.RawMessage("null")
	}
	writeJSON(w, map[string]any{
		"id": run.ID, "sharpness": sh, "density": dens, "figures": figureOrder(run.Files), "problems": problems,
	})
}

func (s *Server) runFile(w http.ResponseWriter, r *http.Request) {
	run := s.run(w, r)
	if run == nil {
		return
	}
	s.serveFile(w, r, run.root, run.rel, run.Files)
}

// serveFile serves {name} of folder rel when the scan listed it; the name is matched against
// the listing, never joined into a path unchecked, and the root refuses links out of it.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, rt *root, rel string, listed []string) {
	name := r.PathValue("name")
	ok := false
	for _, n := range listed {
		ok = ok || n == name
	}
	if !ok {
		httpError(w, http.StatusNotFound, "no file "+strconv.Quote(name))
		return
	}
	f, err := rt.fs.Open(path.Join(rel, name))
	if err != nil {
		httpError(w, http.StatusNotFound, fmt.Sprintf("%s: %v", name, cleanErr(err)))
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		httpError(w, http.StatusNotFound, name+": not a regular file")
		return
	}
	w.Header().Set("Content-Type", servable[path.Ext(name)])
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

func (s *Server) listSweeps(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, orEmpty(s.current().sweeps))
}

func (s *Server) sweep(w http.ResponseWriter, r *http.Request) *Sweep {
	return lookup(w, r, s.current().sweepID, "sweep")
}

func (s *Server) getSweep(w http.ResponseWriter, r *http.Request) {
	sw := s.sweep(w, r)
	if sw == nil {
		return
	}
	trials := orEmpty(sw.trials)
	res := sw.results
	if res == nil {
		res = json.RawMessage("null")
	}
	metric := "val_loss"
	for _, t := range trials {
		if t.Final["val_acc"] != nil {
			metric = "val_acc"
			break
		}
	}
	writeJSON(w, map[string]any{
		"sweep": sw, "metric": metric, "points": points(trials), "trials": trials, "results": res,
	})
}

func (s *Server) sweepFile(w http.ResponseWriter, r *http.Request) {
	sw := s.sweep(w, r)
	if sw == nil {
		return
	}
	s.serveFile(w, r, sw.root, sw.rel, sw.Files)
}

// events streams server-sent events: "hello" on connecting, then "change" with the ids of the
// runs and sweeps whose files changed (or that appeared or went away) since the last event.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		httpError(w, http.StatusInternalServerError, "streaming not supported")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	versions := func(ix *index) map[string]string {
		v := make(map[string]string, len(ix.runs)+len(ix.sweeps))
		for _, r := range ix.runs {
			v["r"+r.ID] = r.Status + r.Version
		}
		for _, sw := range ix.sweeps {
			v["s"+sw.ID] = sw.Status + sw.Version
		}
		return v
	}
	last := versions(s.current())
	send := func(event string, v any) bool {
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return false
		}
		fl.Flush()
		return true
	}
	if !send("hello", map[string]any{"poll_ms": s.opt.Poll.Milliseconds()}) {
		return
	}
	tick := time.NewTicker(s.opt.Poll)
	defer tick.Stop()
	quiet := 0
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		now := versions(s.current())
		runs, sweeps := []string{}, []string{}
		note := func(k string) {
			if k[0] == 'r' {
				runs = append(runs, k[1:])
			} else {
				sweeps = append(sweeps, k[1:])
			}
		}
		for k, v := range now {
			if last[k] != v {
				note(k)
			}
		}
		for k := range last {
			if _, ok := now[k]; !ok {
				note(k)
			}
		}
		last = now
		if len(runs)+len(sweeps) == 0 {
			if quiet++; quiet*int(s.opt.Poll/time.Millisecond) >= 15000 {
				quiet = 0
				if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
					return
				}
				fl.Flush()
			}
			continue
		}
		sort.Strings(runs)
		sort.Strings(sweeps)
		if !send("change", map[string]any{"runs": runs, "sweeps": sweeps}) {
			return
		}
	}
}
