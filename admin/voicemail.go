package admin

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/officepbx/pbx/pbx/store"
)

// voicemailJSON is a voicemail message as the API shows it.
type voicemailMessageJSON struct {
	ID         int64     `json:"id"`
	Caller     string    `json:"caller"`
	CallerName string    `json:"caller_name"`
	ReceivedAt time.Time `json:"received_at"`
	DurationS  float64   `json:"duration_s"` // to the millisecond
	Read       bool      `json:"read"`
}

func toVoicemailJSON(m store.VoicemailMessage) voicemailMessageJSON {
	return voicemailMessageJSON{ID: m.ID, Caller: m.Caller, CallerName: m.CallerName, ReceivedAt: m.ReceivedAt,
		DurationS: seconds(m.Duration), Read: m.Read}
}

// voicemailPatch is the body of PATCH .../messages/{id}.
type voicemailPatch struct {
	Read *bool `json:"read"`
}

// mailbox checks that the caller may see the box in the path (an admin any
// box, a user their own extension's) and that it exists, and returns it.
func (s *Server) mailbox(c echo.Context) (string, error) {
	ext := pathParam(c, "ext")
	if p := principalOf(c); !p.isAdmin() && !p.ownsExtension(ext) {
		return "", forbidden("forbidden: you may only see your own voicemail")
	}
	if _, err := s.loadExtension(c.Request().Context(), ext); err != nil {
		return "", err
	}
	return ext, nil
}

// messageID reads the {id} path parameter; anything but a positive number
// names no message.
func messageID(c echo.Context, mailbox string) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound("no voicemail message %s in box %s", c.Param("id"), mailbox)
	}
	return id, nil
}

func voicemailNotFound(err error, mailbox string, id int64) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no voicemail message %d in box %s", id, mailbox)
	}
	return err
}

// listVoicemail pages a box's messages, newest first; ?q= filters by
// caller number or name.
func (s *Server) listVoicemail(c echo.Context) error {
	mailbox, err := s.mailbox(c)
	if err != nil {
		return err
	}
	opt, err := listOptions(c)
	if err != nil {
		return err
	}
	msgs, next, err := s.store.ListVoicemail(c.Request().Context(), mailbox, opt)
	if errors.Is(err, store.ErrInvalid) {
		return fieldError("cursor", "is not a cursor this server gave out")
	}
	if err != nil {
		return err
	}
	items := make([]voicemailMessageJSON, 0, len(msgs))
	for _, m := range msgs {
		items = append(items, toVoicemailJSON(m))
	}
	return c.JSON(http.StatusOK, page[voicemailMessageJSON]{Items: items, NextCursor: next})
}

// loadVoicemail resolves the box and message of the path.
func (s *Server) loadVoicemail(c echo.Context) (string, int64, error) {
	mailbox, err := s.mailbox(c)
	if err != nil {
		return "", 0, err
	}
	id, err := messageID(c, mailbox)
	return mailbox, id, err
}

// getVoicemail shows one message.
func (s *Server) getVoicemail(c echo.Context) error {
	mailbox, id, err := s.loadVoicemail(c)
	if err != nil {
		return err
	}
	m, err := s.store.GetVoicemail(c.Request().Context(), mailbox, id)
	if err != nil {
		return voicemailNotFound(err, mailbox, id)
	}
	return c.JSON(http.StatusOK, toVoicemailJSON(m))
}

// patchVoicemail marks a message read or unread.
func (s *Server) patchVoicemail(c echo.Context) error {
	mailbox, id, err := s.loadVoicemail(c)
	if err != nil {
		return err
	}
	var in voicemailPatch
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Read == nil {
		return fieldError("read", "required")
	}
	ctx := c.Request().Context()
	if err := s.store.SetVoicemailRead(ctx, mailbox, id, *in.Read); err != nil {
		return voicemailNotFound(err, mailbox, id)
	}
	m, err := s.store.GetVoicemail(ctx, mailbox, id)
	if err != nil {
		return voicemailNotFound(err, mailbox, id)
	}
	return c.JSON(http.StatusOK, toVoicemailJSON(m))
}

// deleteVoicemail removes a message and its audio.
func (s *Server) deleteVoicemail(c echo.Context) error {
	mailbox, id, err := s.loadVoicemail(c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteVoicemail(c.Request().Context(), mailbox, id); err != nil {
		return voicemailNotFound(err, mailbox, id)
	}
	return c.NoContent(http.StatusNoContent)
}

// getVoicemailAudio serves a message's audio as audio/wav, with Range
// support for the browser's player; ?download=1 asks the browser to save
// it (Content-Disposition attachment) instead of playing it.
func (s *Server) getVoicemailAudio(c echo.Context) error {
	mailbox, id, err := s.loadVoicemail(c)
	if err != nil {
		return err
	}
	f, m, err := s.store.OpenVoicemailAudio(c.Request().Context(), mailbox, id)
	if err != nil {
		return voicemailNotFound(err, mailbox, id)
	}
	defer f.Close()
	name := "voicemail-" + mailbox + "-" + strconv.FormatInt(id, 10) + ".wav"
	disposition := "inline"
	if c.QueryParam("download") != "" && c.QueryParam("download") != "0" {
		disposition = "attachment"
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "audio/wav")
	h.Set(echo.HeaderContentDisposition, disposition+`; filename="`+name+`"`)
	http.ServeContent(c.Response(), c.Request(), name, m.ReceivedAt, f)
	return nil
}

// voicemailCount is the number of stored messages for /metrics; -1 when the
// store does not answer.
func (s *Server) voicemailCount(ctx context.Context) int {
	n, err := s.store.CountVoicemail(ctx)
	if err != nil {
		return -1
	}
	return n
}
