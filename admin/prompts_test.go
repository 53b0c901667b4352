package admin

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/zaf/g711"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
)

// wavSpec is the format of a test WAV file.
type wavSpec struct {
	format   uint16 // media.WAVFormatPCM, media.WAVFormatMuLaw
	rate     int
	channels int
	bits     int
}

// toneWAV is seconds of a sine at freq (half full scale) on every channel,
// as a WAV file of spec.
func toneWAV(spec wavSpec, freq, seconds float64) []byte {
	n := int(seconds * float64(spec.rate))
	var data []byte
	le := binary.LittleEndian
	for i := range n {
		v := 0.5 * math.Sin(2*math.Pi*freq*float64(i)/float64(spec.rate))
		for range spec.channels {
			switch {
			case spec.format == media.WAVFormatMuLaw:
				data = append(data, g711.EncodeUlawFrame(int16(v*32767)))
			case spec.bits == 16:
				data = le.AppendUint16(data, uint16(int16(v*32767)))
			case spec.bits == 24:
				s := int32(v * 8388607)
				data = append(data, byte(s), byte(s>>8), byte(s>>16))
			}
		}
	}
	return wavFile(spec, data)
}

func wavFile(spec wavSpec, data []byte) []byte {
	le := binary.LittleEndian
	block := spec.channels * spec.bits / 8
	fmtChunk := le.AppendUint16(nil, spec.format)
	fmtChunk = le.AppendUint16(fmtChunk, uint16(spec.channels))
	fmtChunk = le.AppendUint32(fmtChunk, uint32(spec.rate))
	fmtChunk = le.AppendUint32(fmtChunk, uint32(spec.rate*block))
	fmtChunk = le.AppendUint16(fmtChunk, uint16(block))
	fmtChunk = le.AppendUint16(fmtChunk, uint16(spec.bits))
	out := []byte("RIFF")
	out = le.AppendUint32(out, uint32(4+8+len(fmtChunk)+8+len(data)))
	out = append(out, "WAVEfmt "...)
	out = le.AppendUint32(out, uint32(len(fmtChunk)))
	out = append(out, fmtChunk...)
	out = append(out, "data"...)
	out = le.AppendUint32(out, uint32(len(data)))
	return append(out, data...)
}

// multipartBody builds an upload; parts are field name and content, in
// order (a part named "file" is sent as a file).
func multipartBody(t testing.TB, parts ...[2]string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		var pw io.Writer
		var err error
		if p[0] == "file" {
			pw, err = w.CreateFormFile("file", "upload.wav")
		} else {
			pw, err = w.CreateFormField(p[0])
		}
		if err != nil {
			t.Fatal(err)
		}
		pw.Write([]byte(p[1]))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), buf.Bytes()
}

// upload POSTs a prompt upload as token.
func (e *testEnv) upload(token string, parts ...[2]string) response {
	e.t.Helper()
	ct, body := multipartBody(e.t, parts...)
	req, err := http.NewRequest("POST", e.ts.URL+"/api/v1/prompts", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+token)
	return e.send(req)
}

// audio GETs a prompt's audio and decodes it.
func (e *testEnv) audio(name string) (*media.Audio, response) {
	e.t.Helper()
	r := e.must(http.StatusOK, e.do("GET", "/api/v1/prompts/"+name, e.admin, nil))
	if ct := r.header.Get("Content-Type"); ct != "audio/wav" {
		e.t.Errorf("audio of %s has Content-Type %q", name, ct)
	}
	a, err := media.ReadWAV(bytes.NewReader(r.raw))
	if err != nil {
		e.t.Fatalf("audio of %s: %v", name, err)
	}
	return a, r
}

// listed returns the prompts of GET /prompts by name (on one page: the
// built-in ones are more than the default limit).
func (e *testEnv) listed() map[string]map[string]any {
	e.t.Helper()
	r := e.must(http.StatusOK, e.do("GET", "/api/v1/prompts?limit=500", e.admin, nil))
	out := map[string]map[string]any{}
	for _, it := range r.items() {
		m := it.(map[string]any)
		out[m["name"].(string)] = m
	}
	if r.body["next_cursor"] != "" {
		e.t.Errorf("next_cursor %v", r.body["next_cursor"])
	}
	return out
}

// Uploads of any common format come out 8 kHz mono 16-bit PCM, listed with
// their duration.
func TestPromptUploadConverts(t *testing.T) {
	env := newEnv(t)
	for _, tc := range []struct {
		name     string
		spec     wavSpec
		seconds  float64
		duration float64
	}{
		{"cd-stereo", wavSpec{media.WAVFormatPCM, 44100, 2, 16}, 1.5, 1.5},
		{"mulaw", wavSpec{media.WAVFormatMuLaw, 8000, 1, 8}, 2, 2},
		{"studio_24", wavSpec{media.WAVFormatPCM, 48000, 1, 24}, 0.25, 0.25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := env.as(t)
			r := env.must(http.StatusCreated, env.upload(env.admin, [2]string{"name", tc.name},
				[2]string{"file", string(toneWAV(tc.spec, 1000, tc.seconds))}))
			if r.str("name") != tc.name || r.body["duration_s"] != tc.duration || r.body["builtin"] != false ||
				r.str("created_at") == "" {
				t.Errorf("created %s", r.raw)
			}
			if loc := r.header.Get("Location"); loc != "/api/v1/prompts/"+tc.name {
				t.Errorf("Location %q", loc)
			}
			if p := env.listed()[tc.name]; p == nil || p["duration_s"] != tc.duration || p["builtin"] != false {
				t.Errorf("listed as %v", p)
			}
			a, res := env.audio(tc.name)
			if a.Source != (media.WAVFormat{Encoding: media.WAVFormatPCM, SampleRate: 8000, Channels: 1, BitsPerSample: 16}) {
				t.Errorf("served audio is %+v, want 8 kHz mono 16-bit PCM", a.Source)
			}
			if want := int(tc.seconds * 8000); len(a.Samples) != want || len(res.raw) != 44+2*want {
				t.Errorf("served %d samples in %d bytes, want %d", len(a.Samples), len(res.raw), want)
			}
			if on, off := media.Goertzel(a.Samples, 1000), media.Goertzel(a.Samples, 700); on < 1000*off {
				t.Errorf("the 1000 Hz tone did not survive the conversion: %.0f at 1000 Hz, %.0f at 700 Hz", on, off)
			}
			// On disk exactly what is served.
			disk, err := env.store.GetPrompt(t.Context(), tc.name)
			if err != nil || seconds(disk.Duration) != tc.duration {
				t.Errorf("stored %+v, %v", disk, err)
			}
		})
	}
	// The built-in music on hold is listed beside the uploads.
	list := env.listed()
	if moh := list[store.PromptMusicOnHold]; moh == nil || moh["builtin"] != true || moh["duration_s"] != 20.0 || moh["created_at"] != nil {
		t.Errorf("music on hold listed as %v", moh)
	}
	if want := 4 + len(media.BuiltinPromptNames()); len(list) != want {
		t.Errorf("%d prompts listed, want %d", len(list), want)
	}
}

func TestPromptUploadRejects(t *testing.T) {
	env := newEnv(t)
	good := string(toneWAV(wavSpec{media.WAVFormatPCM, 8000, 1, 16}, 440, 0.5))
	adpcm := string(wavFile(wavSpec{2, 8000, 1, 4}, make([]byte, 100)))
	for _, tc := range []struct {
		name  string
		parts [][2]string
		field string
		msg   string
	}{
		{"not a WAV", [][2]string{{"name", "x"}, {"file", "hello, world"}}, "file", "is not a WAV file"},
		{"cut short", [][2]string{{"name", "x"}, {"file", good[:30]}}, "file", "is not a WAV file"},
		{"ADPCM", [][2]string{{"name", "x"}, {"file", adpcm}}, "file", "cannot convert"},
		{"no audio", [][2]string{{"name", "x"}, {"file", good[:44]}}, "file", "holds no audio"},
		{"no file", [][2]string{{"name", "x"}}, "file", "required"},
		{"no name", [][2]string{{"file", good}}, "name", "required"},
		{"upper case", [][2]string{{"name", "Welcome"}, {"file", good}}, "name", "lower-case"},
		{"path", [][2]string{{"name", "../welcome"}, {"file", good}}, "name", "lower-case"},
		{"space", [][2]string{{"name", "good morning"}, {"file", good}}, "name", "lower-case"},
		{"too long", [][2]string{{"name", strings.Repeat("a", 65)}, {"file", good}}, "name", "1 to 64"},
		{"empty name", [][2]string{{"name", ""}, {"file", good}}, "name", "1 to 64"},
		{"two names", [][2]string{{"name", "a"}, {"name", "b"}, {"file", good}}, "name", "twice"},
		{"two files", [][2]string{{"name", "a"}, {"file", good}, {"file", good}}, "file", "twice"},
		{"unknown field", [][2]string{{"name", "a"}, {"colour", "blue"}, {"file", good}}, "colour", "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := env.as(t)
			r := env.must(http.StatusBadRequest, env.upload(env.admin, tc.parts...))
			if msg, _ := r.fields()[tc.field].(string); !strings.Contains(msg, tc.msg) {
				t.Errorf("fields %v, want %s: ...%s...", r.fields(), tc.field, tc.msg)
			}
		})
	}
	// Not multipart: 415.
	r := env.must(http.StatusUnsupportedMediaType, env.do("POST", "/api/v1/prompts", env.admin, map[string]any{"name": "x"}))
	if !strings.Contains(r.str("error"), "multipart/form-data") {
		t.Errorf("415 error %q", r.str("error"))
	}
	// Too large: 413, whether the client says so up front or not.
	big := string(toneWAV(wavSpec{media.WAVFormatPCM, 48000, 2, 16}, 440, 110)) // 21 MB
	ct, body := multipartBody(t, [2]string{"name", "big"}, [2]string{"file", big})
	for _, chunked := range []bool{false, true} {
		var rd io.Reader = bytes.NewReader(body)
		if chunked {
			rd = io.MultiReader(rd) // hides the length: sent chunked
		}
		req, _ := http.NewRequest("POST", env.ts.URL+"/api/v1/prompts", rd)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+env.admin)
		r := env.must(http.StatusRequestEntityTooLarge, env.send(req))
		if r.fields()["file"] == nil || !strings.Contains(r.str("error"), "20 MiB") {
			t.Errorf("413 (chunked %v): %s", chunked, r.raw)
		}
	}
	// Nothing was stored.
	if list := env.listed(); len(list) != builtinCount() {
		t.Errorf("prompts after refused uploads: %v", list)
	}
	if files, _ := os.ReadDir(env.store.PromptDir()); len(files) != 0 {
		t.Errorf("files after refused uploads: %v", files)
	}
}

// An upload's name is taken until it is deleted; deleting removes it and
// its audio. A built-in prompt cannot be deleted, but an upload of its name
// replaces it until that upload is deleted.
func TestPromptConflictDeleteAndBuiltin(t *testing.T) {
	env := newEnv(t)
	tone := func(freq float64) string {
		return string(toneWAV(wavSpec{media.WAVFormatPCM, 16000, 1, 16}, freq, 1))
	}
	env.must(http.StatusCreated, env.upload(env.admin, [2]string{"name", "greeting-main"}, [2]string{"file", tone(440)}))
	r := env.must(http.StatusConflict, env.upload(env.admin, [2]string{"name", "greeting-main"}, [2]string{"file", tone(700)}))
	if r.fields()["name"] != "already exists" || !strings.Contains(r.str("error"), "delete it first") {
		t.Errorf("409 %s", r.raw)
	}
	if a, _ := env.audio("greeting-main"); media.Goertzel(a.Samples, 440) < 100*media.Goertzel(a.Samples, 700) {
		t.Error("the refused upload replaced the audio")
	}
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/prompts/greeting-main", env.admin, nil))
	r = env.must(http.StatusNotFound, env.do("GET", "/api/v1/prompts/greeting-main", env.admin, nil))
	if r.str("error") != "no prompt greeting-main" {
		t.Errorf("404 %s", r.raw)
	}
	env.must(http.StatusNotFound, env.do("DELETE", "/api/v1/prompts/greeting-main", env.admin, nil))
	env.must(http.StatusNotFound, env.do("GET", "/api/v1/prompts/..%2f..%2fpbx.db", env.admin, nil))
	if _, ok := env.listed()["greeting-main"]; ok {
		t.Error("deleted prompt still listed")
	}
	if files, _ := os.ReadDir(env.store.PromptDir()); len(files) != 0 {
		t.Errorf("files after delete: %v", files)
	}

	// The built-in music on hold: served, not deletable, replaceable.
	builtin, _ := env.audio(store.PromptMusicOnHold)
	if len(builtin.Samples) != 20*8000 {
		t.Errorf("built-in music on hold: %d samples", len(builtin.Samples))
	}
	r = env.must(http.StatusConflict, env.do("DELETE", "/api/v1/prompts/music-on-hold", env.admin, nil))
	if !strings.Contains(r.str("error"), "built in") {
		t.Errorf("409 %s", r.raw)
	}
	env.must(http.StatusCreated, env.upload(env.admin, [2]string{"name", store.PromptMusicOnHold}, [2]string{"file", tone(1000)}))
	if moh := env.listed()[store.PromptMusicOnHold]; moh["builtin"] != false || moh["duration_s"] != 1.0 {
		t.Errorf("after upload music on hold is listed as %v", moh)
	}
	if a, _ := env.audio(store.PromptMusicOnHold); len(a.Samples) != 8000 || media.Goertzel(a.Samples, 1000) < 1e6 {
		t.Errorf("after upload music on hold serves %d samples", len(a.Samples))
	}
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/prompts/music-on-hold", env.admin, nil))
	if moh := env.listed()[store.PromptMusicOnHold]; moh["builtin"] != true || moh["duration_s"] != 20.0 {
		t.Errorf("after delete music on hold is listed as %v", moh)
	}
	if a, _ := env.audio(store.PromptMusicOnHold); len(a.Samples) != 20*8000 {
		t.Errorf("after delete music on hold serves %d samples", len(a.Samples))
	}
}

// The built-in speech prompts are listed and served like the music on
// hold, and an upload of one's name overrides it until deleted.
func TestPromptBuiltinSpeech(t *testing.T) {
	env := newEnv(t)
	want, _ := media.BuiltinPrompt("welcome")
	list := env.listed()
	for _, name := range media.BuiltinPromptNames() {
		a, _ := media.BuiltinPrompt(name)
		if p := list[name]; p == nil || p["builtin"] != true || p["created_at"] != nil || p["duration_s"] != seconds(a.Duration()) {
			t.Errorf("%s listed as %v", name, p)
		}
	}
	if a, _ := env.audio("welcome"); !slices.Equal(a.Samples, want.Samples) {
		t.Errorf("built-in welcome served %d samples, want the embedded %d", len(a.Samples), len(want.Samples))
	}
	r := env.must(http.StatusConflict, env.do("DELETE", "/api/v1/prompts/welcome", env.admin, nil))
	if !strings.Contains(r.str("error"), "built in") {
		t.Errorf("409 %s", r.raw)
	}
	tone := string(toneWAV(wavSpec{media.WAVFormatPCM, 8000, 1, 16}, 440, 1))
	env.must(http.StatusCreated, env.upload(env.admin, [2]string{"name", "welcome"}, [2]string{"file", tone}))
	list = env.listed()
	if p := list["welcome"]; p["builtin"] != false || p["duration_s"] != 1.0 || p["created_at"] == nil {
		t.Errorf("after upload welcome is listed as %v", p)
	}
	if len(list) != builtinCount() {
		t.Errorf("%d prompts listed after the override, want %d (listed once)", len(list), builtinCount())
	}
	if a, _ := env.audio("welcome"); len(a.Samples) != 8000 || media.Goertzel(a.Samples, 440) < 1e6 {
		t.Errorf("after upload welcome serves %d samples", len(a.Samples))
	}
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/prompts/welcome", env.admin, nil))
	if p := env.listed()["welcome"]; p["builtin"] != true || p["duration_s"] != seconds(want.Duration()) {
		t.Errorf("after delete welcome is listed as %v", p)
	}
	if a, _ := env.audio("welcome"); !slices.Equal(a.Samples, want.Samples) {
		t.Error("after delete welcome does not serve the built-in prompt")
	}
}

// builtinCount is how many prompts are built in: the speech prompts and
// the music on hold.
func builtinCount() int { return len(media.BuiltinPromptNames()) + 1 }

func TestPromptRangeRequest(t *testing.T) {
	env := newEnv(t)
	req, _ := http.NewRequest("GET", env.ts.URL+"/api/v1/prompts/music-on-hold", nil)
	req.Header.Set("Authorization", "Bearer "+env.admin)
	req.Header.Set("Range", "bytes=0-43")
	r := env.must(http.StatusPartialContent, env.send(req))
	if len(r.raw) != 44 || string(r.raw[:4]) != "RIFF" || r.header.Get("Content-Range") != "bytes 0-43/320044" {
		t.Errorf("range answer %d bytes, Content-Range %q", len(r.raw), r.header.Get("Content-Range"))
	}
}

func TestPromptsAdminOnly(t *testing.T) {
	env := newEnv(t)
	env.createExtension("201", nil)
	anna := env.createUser("anna", roleUser, "201")
	good := string(toneWAV(wavSpec{media.WAVFormatPCM, 8000, 1, 16}, 440, 0.5))
	for _, token := range []string{anna, ""} {
		want := http.StatusForbidden
		if token == "" {
			want = http.StatusUnauthorized
		}
		env.must(want, env.do("GET", "/api/v1/prompts", token, nil))
		env.must(want, env.do("GET", "/api/v1/prompts/music-on-hold", token, nil))
		env.must(want, env.do("DELETE", "/api/v1/prompts/music-on-hold", token, nil))
		env.must(want, env.upload(token, [2]string{"name", "x"}, [2]string{"file", good}))
	}
	if list := env.listed(); len(list) != builtinCount() {
		t.Errorf("prompts %v", list)
	}
}

func TestPromptsPaging(t *testing.T) {
	env := newEnv(t)
	good := string(toneWAV(wavSpec{media.WAVFormatPCM, 8000, 1, 16}, 440, 0.1))
	for _, n := range []string{"b", "a", "zz"} {
		env.must(http.StatusCreated, env.upload(env.admin, [2]string{"name", n}, [2]string{"file", good}))
	}
	var names []string
	cursor := ""
	for range 100 {
		r := env.must(http.StatusOK, env.do("GET", "/api/v1/prompts?limit=7&cursor="+cursor, env.admin, nil))
		for _, it := range r.items() {
			names = append(names, it.(map[string]any)["name"].(string))
		}
		if cursor = r.str("next_cursor"); cursor == "" {
			break
		}
	}
	want := append([]string{"a", "b", store.PromptMusicOnHold, "zz"}, media.BuiltinPromptNames()...)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("pages gave %q, want %q", names, want)
	}
	r := env.must(http.StatusOK, env.do("GET", "/api/v1/prompts?q=usic", env.admin, nil))
	if len(r.items()) != 1 {
		t.Errorf("q=usic: %s", r.raw)
	}
}

// FuzzPromptUpload sends arbitrary bytes as the uploaded file: the answer
// is always a stored prompt (201, or 409 for a name taken by an earlier
// input) or a JSON 400, never a crash or a 5xx.
func FuzzPromptUpload(f *testing.F) {
	f.Add(toneWAV(wavSpec{media.WAVFormatPCM, 44100, 2, 16}, 1000, 0.05))
	f.Add(toneWAV(wavSpec{media.WAVFormatMuLaw, 8000, 1, 8}, 1000, 0.05))
	f.Add(wavFile(wavSpec{media.WAVFormatPCM, 192000, 64, 32}, make([]byte, 256)))
	f.Add(wavFile(wavSpec{media.WAVFormatPCM, 1, 1, 16}, []byte{1, 2}))
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEdata\xff\xff\xff\xff"))
	f.Add([]byte("not a wav"))
	env := newEnv(f)
	h := env.srv.Handler()
	f.Fuzz(func(t *testing.T, file []byte) {
		ct, body := multipartBody(t, [2]string{"name", "fuzz"}, [2]string{"file", string(file)})
		req := httptest.NewRequest("POST", "/api/v1/prompts", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+env.admin)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusCreated, http.StatusConflict, http.StatusBadRequest:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
		}
		if rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("answer is not JSON: %q", rec.Header().Get("Content-Type"))
		}
	})
}
