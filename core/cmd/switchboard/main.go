// Command switchboard is the Switchboard daemon and its admin commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/config"
	"github.com/switchboard-chat/switchboard/core/daemon"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// defaultConfigPath is the config file of every command run without
// --config.
const defaultConfigPath = "config.toml"

const usage = `usage: switchboard <command> [flags]

commands:
  serve --config F [--strict]
                            run the daemon; --strict: refuse to start when a
                            plugin rejects its options (else it is left failed)
  check-config --config F   run every check serve runs (keys, data folder,
                            plugin binaries, pins, permissions, plugin options);
                            exit 1 naming each problem
  version                   print the version
  apikey create --name N --scopes S [--allow-ip CIDRS] [--rate 20/s]
                            create an API key; it is printed once
  apikey list | apikey revoke ID|NAME
  oauth-client create --name N --scopes S [--allow-ip CIDRS] [--rate 20/s]
                            create an OAuth client; its secret is printed once
  oauth-client list | oauth-client revoke ID|NAME
  operator add --email E --name N --role agent|admin --password-stdin
                            create a console account (password on stdin)
  operator list | operator disable|enable ID|EMAIL
  operator reset-password --password-stdin ID|EMAIL
  audit verify [--db FILE]  check the audit log's hash chain
  deadletter list | deadletter retry ID | deadletter drop ID
  backup --out FILE         write a consistent copy of the database
  kb add PATH… | kb list | kb remove ID | kb search "text" | kb gaps
                            manage and search the knowledge base
  setup --instance NAME [--config F] [flags]
                            run the setup step of the instance's plugin
  salesiq setup --config F --public-url URL [--instance siq]
                            register the SalesIQ data webhook

The admin commands take --config F; they work on the database directly
when the daemon is stopped, and through its admin API when it runs.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(rest, stderr)
	case "check-config":
		return checkConfig(rest, stdout, stderr)
	case "apikey":
		return apikeyCommand(rest, stdout, stderr)
	case "oauth-client":
		return oauthClientCommand(rest, stdout, stderr)
	case "operator":
		return operatorCommand(rest, stdin, stdout, stderr)
	case "audit":
		return auditCommand(rest, stdout, stderr)
	case "deadletter":
		return deadletterCommand(rest, stdout, stderr)
	case "backup":
		return backupCommand(rest, stdout, stderr)
	case "kb":
		return kbCommand(rest, stdout, stderr)
	case "setup":
		return setupCommand(rest, stdout, stderr)
	case "salesiq":
		return salesiqCommand(rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "switchboard", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "switchboard: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

// readConfig loads the file at path with the environment's overrides and
// returns its problems, missing plugin binaries included; code is 1 when
// the file could not be read at all (said on stderr).
func readConfig(path string, stderr io.Writer) (cfg *config.Config, problems []config.Problem, code int) {
	cfg, err := config.Load(path, os.Environ())
	var invalid *config.ValidationError
	if errors.As(err, &invalid) {
		problems = invalid.Problems
	} else if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", path, err)
		return nil, nil, 1
	}
	// Missing plugin binaries are reported along with the other problems.
	return cfg, append(problems, cfg.CheckPlugins()...), 0
}

// checkConfig runs every check serve runs before serving and names every
// problem at once: the file's keys, the data folder, the TLS files, and
// each plugin's binary and options (each plugin is started, asked to check
// its options without acting on them, and stopped).
func checkConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", defaultConfigPath, "path to the config file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, problems, code := readConfig(*path, stderr)
	if code != 0 {
		return code
	}
	if len(problems) == 0 {
		// Plugins are only started from a config without problems: their
		// options and binaries are then what serve would use.
		log := logrus.New()
		log.SetOutput(io.Discard)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		problems = daemon.New(cfg, log, version).Check(ctx)
	} else {
		problems = append(problems, cfg.CheckFiles()...)
	}
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "%s: %v\n", *path, &config.ValidationError{Problems: problems})
		return 1
	}
	fmt.Fprintln(stdout, "config is valid")
	return 0
}

func serve(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", defaultConfigPath, "path to the config file")
	strict := fs.Bool("strict", false, "refuse to start when any plugin fails to start, instead of starting without it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, problems, code := readConfig(*path, stderr)
	if code != 0 {
		return code
	}
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "%s: %v\n", *path, &config.ValidationError{Problems: problems})
		return 1
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	d := daemon.New(cfg, log, version)
	d.Strict = *strict
	if err := d.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.WithError(err).Error("switchboard stopped")
		return 1
	}
	log.Info("switchboard stopped")
	return 0
}

func newLogger(cfg *config.Config, out io.Writer) *logrus.Logger {
	log := logrus.New()
	log.SetOutput(out)
	if level, err := logrus.ParseLevel(cfg.Log.Level); err == nil {
		log.SetLevel(level)
	}
	if cfg.Log.Format == "json" {
		log.SetFormatter(&logrus.JSONFormatter{})
	} else {
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	}
	return log
}
