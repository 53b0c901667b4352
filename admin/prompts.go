package admin

import (
	"bytes"
	"errors"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
)

// Limits of a prompt upload.
const (
	// maxPromptUpload bounds the multipart body of POST /prompts: about
	// 2 minutes of CD-quality stereo, 20 minutes of 8 kHz 16-bit mono.
	maxPromptUpload = 20 << 20
	// maxPromptDuration bounds the converted audio, which is kept in
	// memory while it plays (music on hold): 10 minutes are 9.6 MB.
	maxPromptDuration = 10 * time.Minute
	// maxNameField bounds the multipart name field we read.
	maxNameField = 256
)

// promptUploadPath is the one API path with a body limit of its own.
const promptUploadPath = "/api/v1/prompts"

// promptJSON is a prompt as the API shows it.
type promptJSON struct {
	Name      string     `json:"name"`
	DurationS float64    `json:"duration_s"` // to the millisecond
	Builtin   bool       `json:"builtin"`
	CreatedAt *time.Time `json:"created_at"` // null for a built-in prompt
}

func toPromptJSON(p store.Prompt) promptJSON {
	created := p.CreatedAt
	return promptJSON{Name: p.Name, DurationS: seconds(p.Duration), CreatedAt: &created}
}

func seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1000) / 1000
}

// builtinPrompts are the prompts the binary carries (the music on hold
// and media's English speech prompts), rendered as WAV files on first use
// and kept (about 1.7 MB): they are listed beside the uploads, served as
// audio, and replaced by an upload of the same name.
type builtinPrompts struct {
	once  sync.Once
	items map[string]builtinPrompt
}

type builtinPrompt struct {
	duration time.Duration
	wav      []byte
}

func (b *builtinPrompts) all() map[string]builtinPrompt {
	b.once.Do(func() {
		b.items = map[string]builtinPrompt{}
		add := func(name string, pcm []int16) {
			var buf bytes.Buffer
			_ = media.WriteWAV(&buf, pcm) // a bytes.Buffer does not fail
			b.items[name] = builtinPrompt{duration: time.Duration(len(pcm)) * time.Second / 8000, wav: buf.Bytes()}
		}
		add(store.PromptMusicOnHold, media.NewMusicOnHold().Samples())
		for _, name := range media.BuiltinPromptNames() {
			if a, ok := media.BuiltinPrompt(name); ok {
				add(name, a.Samples)
			}
		}
	})
	return b.items
}

func (b *builtinPrompts) get(name string) (builtinPrompt, bool) {
	p, ok := b.all()[name]
	return p, ok
}

// listPrompts lists the uploaded and built-in prompts by name; an upload
// of a built-in name shows once, as the upload (builtin false). ?q=
// filters by name substring; paged by name like every collection.
func (s *Server) listPrompts(c echo.Context) error {
	opt, err := listOptions(c)
	if err != nil {
		return err
	}
	stored, err := s.store.ListPrompts(c.Request().Context())
	if err != nil {
		return err
	}
	byName := map[string]promptJSON{}
	for name, b := range s.builtins.all() {
		byName[name] = promptJSON{Name: name, DurationS: seconds(b.duration), Builtin: true}
	}
	for _, p := range stored {
		byName[p.Name] = toPromptJSON(p)
	}
	items := make([]promptJSON, 0, len(byName))
	for name, p := range byName {
		if name > opt.After && strings.Contains(name, opt.Query) {
			items = append(items, p)
		}
	}
	slices.SortFunc(items, func(a, b promptJSON) int { return strings.Compare(a.Name, b.Name) })
	limit := opt.Limit
	if limit <= 0 {
		limit = 50
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		next = items[limit-1].Name
	}
	return c.JSON(http.StatusOK, page[promptJSON]{Items: items, NextCursor: next})
}

// createPrompt takes a multipart upload (fields name and file), converts
// the WAV file to 8 kHz mono 16-bit PCM and stores it. A name an upload
// already has is 409 (delete it first); a built-in name is free, and the
// upload replaces the built-in prompt.
func (s *Server) createPrompt(c echo.Context) error {
	req := c.Request()
	name, audio, err := readAudioUpload(c, "the fields name and file (a WAV file)")
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	if name == nil {
		fe.add("name", "required")
	} else if msg := store.PromptNameProblem(*name); msg != "" {
		fe.add("name", msg)
	}
	switch {
	case audio == nil:
		fe.add("file", "required: a WAV file")
	case len(audio.Samples) == 0:
		fe.add("file", "holds no audio")
	case audio.Duration() > maxPromptDuration:
		fe.add("file", "is longer than 10 minutes")
	}
	if err := fe.err(); err != nil {
		return err
	}
	var wav bytes.Buffer
	if err := media.WriteWAV(&wav, audio.Samples); err != nil {
		return err
	}
	p := store.Prompt{Name: *name, Duration: audio.Duration()}
	if err := s.store.CreatePrompt(req.Context(), &p, &wav); err != nil {
		if errors.Is(err, store.ErrExists) {
			return &apiError{Status: http.StatusConflict,
				Message: "prompt " + p.Name + " exists; delete it first to upload a new one",
				Fields:  map[string]string{"name": "already exists"}}
		}
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, promptUploadPath+"/"+p.Name)
	return c.JSON(http.StatusCreated, toPromptJSON(p))
}

var errUploadTooLarge = &apiError{Status: http.StatusRequestEntityTooLarge,
	Message: "upload too large (limit 20 MiB)", Fields: map[string]string{"file": "larger than 20 MiB"}}

// readAudioUpload checks that the request is a multipart upload within
// the upload limit and reads it (readPromptUpload); fields says what the
// body should hold, for the 415.
func readAudioUpload(c echo.Context, fields string) (*string, *media.Audio, error) {
	req := c.Request()
	mt, params, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEMultipartForm || params["boundary"] == "" {
		return nil, nil, newError(http.StatusUnsupportedMediaType, "Content-Type must be multipart/form-data with %s", fields)
	}
	if req.ContentLength > maxPromptUpload {
		return nil, nil, errUploadTooLarge
	}
	body := http.MaxBytesReader(c.Response(), req.Body, maxPromptUpload)
	return readPromptUpload(multipart.NewReader(body, params["boundary"]))
}

// readPromptUpload reads the parts of a prompt upload: name (nil when
// absent) and file, decoded as it streams in (nil when absent). Errors
// are the API's answers.
func readPromptUpload(mr *multipart.Reader) (name *string, audio *media.Audio, err error) {
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return name, audio, nil
		}
		if err != nil {
			return nil, nil, uploadError(err, "malformed multipart body")
		}
		switch field := part.FormName(); field {
		case "name":
			b, err := io.ReadAll(io.LimitReader(part, maxNameField+1))
			if err != nil {
				return nil, nil, uploadError(err, "malformed multipart body")
			}
			n := strings.TrimSpace(string(b))
			if name != nil {
				return nil, nil, fieldError("name", "given twice")
			}
			name = &n
		case "file":
			if audio != nil {
				return nil, nil, fieldError("file", "given twice; upload one file at a time")
			}
			a, err := media.ReadWAV(part)
			switch {
			case err == nil:
				audio = a
			case errors.Is(err, media.ErrNotWAV):
				return nil, nil, uploadError(err, "is not a WAV file (RIFF/WAVE)")
			case errors.Is(err, media.ErrUnsupportedWAV):
				return nil, nil, uploadError(err, "is a WAV file this PBX cannot convert: "+
					strings.TrimPrefix(err.Error(), media.ErrUnsupportedWAV.Error()+": ")+
					" (use PCM of 8 to 32 bits, float, A-law or µ-law, 4 to 192 kHz)")
			default:
				return nil, nil, uploadError(err, "could not be read")
			}
		case "":
			return nil, nil, badRequest("a multipart part has no form field name; send name and file")
		default:
			return nil, nil, fieldError(field, "unknown field; send name and file")
		}
		part.Close()
	}
}

// uploadError answers a failed read of the upload: 413 when it hit the
// size limit, else a 400 on the file field with msg.
func uploadError(err error, msg string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errUploadTooLarge
	}
	return fieldError("file", msg)
}

// getPromptAudio serves a prompt's audio as audio/wav (with Range support
// for the browser's player): the upload, else the built-in prompt.
func (s *Server) getPromptAudio(c echo.Context) error {
	name := pathParam(c, "name")
	if store.PromptNameProblem(name) != "" {
		return notFound("no prompt %q", name)
	}
	f, p, err := s.store.OpenPrompt(c.Request().Context(), name)
	var content io.ReadSeeker
	modified := p.CreatedAt
	switch {
	case err == nil:
		defer f.Close()
		content = f
	case errors.Is(err, store.ErrNotFound):
		b, ok := s.builtins.get(name)
		if !ok {
			return notFound("no prompt %s", name)
		}
		content, modified = bytes.NewReader(b.wav), s.started
	default:
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "audio/wav")
	h.Set(echo.HeaderContentDisposition, `inline; filename="`+name+`.wav"`)
	http.ServeContent(c.Response(), c.Request(), name+".wav", modified, content)
	return nil
}

// deletePrompt removes an uploaded prompt; deleting the upload of a
// built-in name brings the built-in prompt back. A built-in prompt itself
// cannot be deleted (409).
//
// An upload an IVR menu plays is 409, naming the menus, unless a built-in
// prompt of its name takes over. (Checked before the delete, not in its
// transaction: a menu saved in between keeps a name that now plays nothing.)
func (s *Server) deletePrompt(c echo.Context) error {
	name := pathParam(c, "name")
	ctx := c.Request().Context()
	if !s.promptBuiltin(name) {
		users, err := s.store.PromptUsers(ctx, name)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return conflict("cannot delete prompt %s: used by %s", name, strings.Join(users, ", "))
		}
	}
	err := s.store.DeletePrompt(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if _, ok := s.builtins.get(name); ok {
			return conflict("prompt %s is built in and cannot be deleted; upload a WAV file named %s to replace it", name, name)
		}
		return notFound("no prompt %s", name)
	case err != nil:
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
