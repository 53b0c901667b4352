package pbx

import "github.com/officepbx/pbx/media"

// builtinMusicOnHold is the music a held party hears unless configured.
func builtinMusicOnHold() media.Source {
	return media.NewToneSource(media.ToneSpec{Freq1: 600, Level: -20})
}

// musicOnHold is a new source of the configured music on hold.
func (e *Engine) musicOnHold() media.Source { return e.cfg.MusicOnHold() }
