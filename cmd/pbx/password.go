package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/officepbx/pbx/admin"
	"github.com/officepbx/pbx/pbx/app"
	"github.com/officepbx/pbx/pbx/store"
)

// adminPassword resets USER's web/API password from the first line of stdin
// and ends the user's sessions. It works on a stopped or running PBX.
func adminPassword(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, s := newFlagSet("admin password", stderr, getenv)
	if err := parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: pbx admin password USER (the new password is read from stdin)", errUsage)
	}
	username := fs.Arg(0)
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if err := admin.ValidatePassword(pw); err != nil {
		return err
	}
	st, err := store.Open(ctx, filepath.Join(s.cfg.DataDir, app.DatabaseFile))
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.GetUser(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user %q in %s", username, s.cfg.DataDir)
	} else if err != nil {
		return err
	}
	if u.PasswordHash, err = admin.HashPassword(pw); err != nil {
		return err
	}
	if err := st.UpdateUser(ctx, &u); err != nil {
		return err
	}
	if err := st.DeleteUserSessions(ctx, username); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "password of %s changed; their sessions were ended\n", username)
	return nil
}
