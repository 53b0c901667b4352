// Command pbx is the whole phone system in one binary: SIP registrar and
// B2BUA, media relay, dial plan, voicemail, conferences, REST API and web UI.
//
//	pbx [serve] [flags]        run everything (the default)
//	pbx version                print version and build info
//	pbx admin password USER    reset a web/API user's password (read from stdin)
//	pbx dialplan check FILE    validate a dial plan (- reads stdin)
//	pbx backup OUT.tar.gz      back up the data directory (online)
//	pbx restore IN.tar.gz      restore a backup into an empty data directory
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	// The dial plan's time zones must load on a host without zoneinfo
	// (a static binary in a scratch container).
	_ "time/tzdata"
)

// errUsage marks a command-line mistake (exit status 2).
var errUsage = errors.New("usage")

func main() {
	if cmd, _ := command(os.Args[1:]); cmd == "serve" {
		keepSysmonOutOfDeepSleep(os.Environ())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "pbx:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "pbx:", err)
		os.Exit(1)
	}
}

// run dispatches a command line; getenv supplies the environment.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	cmd, args := command(args)
	switch cmd {
	case "serve":
		return serve(ctx, args, stderr, getenv)
	case "version":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "admin":
		if len(args) == 0 || args[0] != "password" {
			return fmt.Errorf("%w: pbx admin password USER", errUsage)
		}
		return adminPassword(ctx, args[1:], stdin, stdout, stderr, getenv)
	case "dialplan":
		if len(args) == 0 || args[0] != "check" {
			return fmt.Errorf("%w: pbx dialplan check FILE", errUsage)
		}
		return dialplanCheck(ctx, args[1:], stdin, stdout, stderr, getenv)
	case "backup":
		return backupCmd(ctx, args, stdout, stderr, getenv)
	case "restore":
		return restoreCmd(ctx, args, stdout, stderr, getenv)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
		return nil
	}
	return fmt.Errorf("%w: unknown command %q\n%s", errUsage, cmd, usageText)
}

// command splits a command line into its command (serve when the line
// starts with a flag or is empty) and the command's arguments.
func command(args []string) (string, []string) {
	if len(args) > 0 && (len(args[0]) == 0 || args[0][0] != '-' || isHelp(args[0])) {
		return args[0], args[1:]
	}
	return "serve", args
}

func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

const usageText = `pbx: a small-office IP PBX in one binary

Commands:
  pbx [serve] [flags]        run the PBX: SIP, media, REST API and web UI
  pbx version                print version and build info
  pbx admin password USER    reset a web/API user's password (new password on stdin)
  pbx dialplan check FILE    validate a dial plan: errors as FILE:LINE:COL: message, exit 1
                             on any; - reads stdin. Destinations are checked against the
                             database in --data (PBX_DATA) if there is one, else syntax only
  pbx backup OUT.tar.gz      write a backup of --data (database, prompts, voicemail, TLS
                             material); safe while the PBX runs
  pbx restore IN.tar.gz      check a backup whole, then restore it into --data, which must be
                             empty or new and not in use by a running PBX

Run 'pbx serve -h' for the flags; each flag has an environment variable.
`
