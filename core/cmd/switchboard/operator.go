package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/core/httpapi"
)

const operatorUsage = `usage: switchboard operator add --email E --name N --role agent|admin --password-stdin
       switchboard operator list
       switchboard operator disable|enable ID|EMAIL
       switchboard operator reset-password --password-stdin ID|EMAIL
(each takes --config F)`

// operatorCommand manages the console's operator accounts.
func operatorCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, operatorUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("operator "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAdminFlags(fs)
	email := fs.String("email", "", "the operator's email, used to sign in (add)")
	name := fs.String("name", "", "the name visitors and colleagues see (add)")
	role := fs.String("role", "agent", "agent or admin; admins may act on conversations others hold (add)")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (add, reset-password)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	wantArg := sub == "disable" || sub == "enable" || sub == "reset-password"
	switch {
	case sub != "add" && sub != "list" && !wantArg:
		fmt.Fprintf(stderr, "switchboard operator: unknown command %q\n%s\n", sub, operatorUsage)
		return 2
	case wantArg && fs.NArg() != 1:
		fmt.Fprintln(stderr, operatorUsage)
		return 2
	case (sub == "add" || sub == "reset-password") && !*pwStdin:
		fmt.Fprintln(stderr, "switchboard operator "+sub+": pass the password on standard input with --password-stdin (it never goes on the command line)")
		return 2
	}
	var password string
	if *pwStdin {
		var err error
		if password, err = readPassword(stdin); err != nil {
			fmt.Fprintln(stderr, "switchboard:", err)
			return 1
		}
	}
	a, err := openAdmin(af)
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	defer a.close()
	var op httpapi.OperatorView
	switch sub {
	case "add":
		err = a.do("POST", "/v1/admin/operators", httpapi.CreateOperatorRequest{Email: *email, Name: *name, Role: *role, Password: password}, &op)
		if err == nil {
			fmt.Fprintf(stdout, "added %s %s <%s> as %s\n", op.ID, op.Name, op.Email, op.Role)
		}
	case "list":
		var out struct {
			Operators []httpapi.OperatorView `json:"operators"`
		}
		if err = a.do("GET", "/v1/admin/operators", nil, &out); err != nil {
			break
		}
		for _, o := range out.Operators {
			status := "active"
			if o.Disabled {
				status = "disabled"
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\t%s\tcreated %s\n", o.ID, o.Email, o.Name, o.Role, status, o.CreatedAt.Format(time.RFC3339))
		}
		if len(out.Operators) == 0 {
			fmt.Fprintln(stdout, "no operators; add one with: switchboard operator add --email … --name … --role admin --password-stdin")
		}
	case "disable", "enable":
		if err = a.do("POST", "/v1/admin/operators/"+fs.Arg(0)+"/"+sub, nil, &op); err == nil {
			fmt.Fprintf(stdout, "%sd %s <%s>\n", sub, op.ID, op.Email)
		}
	case "reset-password":
		if err = a.do("POST", "/v1/admin/operators/"+fs.Arg(0)+"/password", httpapi.PasswordRequest{Password: password}, &op); err == nil {
			fmt.Fprintf(stdout, "new password set for %s <%s>; their sessions were ended\n", op.ID, op.Email)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	return 0
}

// readPassword reads the first line of r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}
