package admin

import (
	"bytes"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
)

// maxGreetingSeconds bounds an uploaded voicemail greeting.
const maxGreetingSeconds = 120

// isGreetingUpload reports whether r uploads a voicemail greeting, which
// has its own body limit (a WAV file) like a prompt upload.
func isGreetingUpload(r *http.Request) bool {
	return r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/v1/voicemail/") &&
		strings.HasSuffix(r.URL.Path, "/greeting")
}

// putVoicemailGreeting stores an uploaded greeting for the box (multipart
// field file, a WAV file of any format, converted to 8 kHz mono), replacing
// a recorded one; the box's callers hear it from the next call.
func (s *Server) putVoicemailGreeting(c echo.Context) error {
	mailbox, err := s.mailbox(c)
	if err != nil {
		return err
	}
	req := c.Request()
	name, audio, err := readAudioUpload(c, "the field file (a WAV file)")
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	if name != nil {
		fe.add("name", "not used for a greeting; send only file")
	}
	switch {
	case audio == nil:
		fe.add("file", "required: a WAV file")
	case len(audio.Samples) == 0:
		fe.add("file", "holds no audio")
	case audio.Duration().Seconds() > maxGreetingSeconds:
		fe.add("file", "is longer than 2 minutes")
	}
	if err := fe.err(); err != nil {
		return err
	}
	var wav bytes.Buffer
	if err := media.WriteWAV(&wav, audio.Samples); err != nil {
		return err
	}
	f, err := s.store.CreateGreetingFile(mailbox)
	if err != nil {
		return err
	}
	if _, err := f.Write(wav.Bytes()); err != nil {
		f.Close()
		return err
	}
	if err := s.store.CommitGreeting(req.Context(), f, mailbox); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// getVoicemailGreeting serves the box's greeting (uploaded or recorded by
// phone) as audio/wav; 404 when it has none (callers then hear the
// built-in one).
func (s *Server) getVoicemailGreeting(c echo.Context) error {
	mailbox, err := s.mailbox(c)
	if err != nil {
		return err
	}
	f, err := s.store.OpenGreeting(c.Request().Context(), mailbox)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("box %s has no greeting of its own", mailbox)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentType, "audio/wav")
	http.ServeContent(c.Response(), c.Request(), "greeting-"+mailbox+".wav", st.ModTime(), f)
	return nil
}

// deleteVoicemailGreeting removes the box's greeting: callers hear the
// built-in one again.
func (s *Server) deleteVoicemailGreeting(c echo.Context) error {
	mailbox, err := s.mailbox(c)
	if err != nil {
		return err
	}
	err = s.store.DeleteGreeting(c.Request().Context(), mailbox)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("box %s has no greeting of its own", mailbox)
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
