package mailer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/officepbx/pbx/pbx/store"
)

// sendVoicemail mails one queued voicemail message with its WAV attached.
// A message deleted meanwhile has no queue row left, so a vanished message
// is not an error worth retrying: its item is gone with it.
func (m *Mailer) sendVoicemail(ctx context.Context, cfg store.SMTPSettings, it store.MailItem) error {
	f, vm, err := m.store.OpenVoicemailAudio(ctx, it.Mailbox, it.MessageID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("voicemail audio: %w", err)
	}
	defer f.Close()
	msg := &message{
		From:       cfg.From,
		To:         it.Recipient,
		Subject:    fmt.Sprintf("New voicemail from %s for extension %s", callerText(vm), vm.Mailbox),
		Date:       m.clock.Now(),
		MessageID:  fmt.Sprintf("voicemail-%d.%s", vm.ID, newMessageID(domainOf(cfg.From))),
		Text:       voicemailText(vm),
		AttachName: fmt.Sprintf("voicemail-%d.wav", vm.ID),
		AttachType: "audio/wav",
		Attach:     f,
	}
	return m.send(ctx, cfg, msg)
}

// callerText is "CALLER (NAME)", or just the number without a name.
func callerText(vm store.VoicemailMessage) string {
	caller := vm.Caller
	if caller == "" {
		caller = "an unknown caller"
	}
	if vm.CallerName != "" {
		return fmt.Sprintf("%s (%s)", caller, vm.CallerName)
	}
	return caller
}

func voicemailText(vm store.VoicemailMessage) string {
	return fmt.Sprintf("New voicemail from %s for extension %s, received %s, duration %s.\n\nThe recording is attached (voicemail-%d.wav).\n",
		callerText(vm), vm.Mailbox, vm.ReceivedAt.Local().Format("Mon 2 Jan 2006 15:04 MST"),
		vm.Duration.Round(time.Second), vm.ID)
}
