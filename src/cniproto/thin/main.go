// The thin `nnet` plugin (/opt/cni/bin/nnet), compiled: VERSION is answered here; every other
// command is forwarded (the CNI_* variables and stdin) to nnet-agent's socket, and its answer
// printed as is (src/cniproto/index.ts has the protocol). There is no fallback: without the agent
// the plugin answers CNI code 11 (STATUS: 50), so that one process on the node owns the locks,
// the port pools and the Neutron queue (src/agent/README.md).
//
// It is a static binary with Go's standard library only, so a node needs nothing to run it (no
// Node.js on the host) and it starts in about a millisecond. The protocol's constants are not
// written here: scripts/build.ts sets them from src/cniproto/index.ts (-ldflags -X), the one place
// that owns them.
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// Set by scripts/build.ts from src/cniproto/index.ts.
var (
	supportedVersions = ""
	latestVersion     = ""
	defaultSocket     = ""
	protocolVersion   = ""
	maxStdinBytes     = ""
	maxAnswerBytes    = ""
	codeIo            = ""
	codeTryAgainLater = ""
	codeNotAvailable  = ""
)

type answer struct {
	V      *int    `json:"v"`
	Code   *int    `json:"code"`
	Stdout *string `json:"stdout"`
}

type errorDoc struct {
	CniVersion string `json:"cniVersion"`
	Code       int    `json:"code"`
	Msg        string `json:"msg"`
}

type versionDoc struct {
	CniVersion        string   `json:"cniVersion"`
	SupportedVersions []string `json:"supportedVersions"`
}

type clientConfig struct {
	agentSocket string
	nodeName    string
	cniVersion  string
}

// unreachable: the agent's socket is not there, or the agent went away mid-request.
type unreachable struct{ why string }

func (u unreachable) Error() string { return u.why }

func mustInt(name, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fmt.Fprintf(os.Stderr, "nnet: built without %s (scripts/build.ts sets it)\n", name)
		os.Exit(1)
	}
	return n
}

// document writes one JSON document and a newline, with <, > and & as they are (as
// JSON.stringify writes them).
func document(v interface{}) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return b.String()
}

func versions() []string { return strings.Split(supportedVersions, ",") }

func supported(v string) bool {
	for _, s := range versions() {
		if s == v {
			return true
		}
	}
	return false
}

func main() {
	os.Exit(run())
}

func run() int {
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	if os.Getenv("CNI_COMMAND") == "VERSION" {
		out.WriteString(document(versionDoc{latestVersion, versions()}))
		return 0
	}
	stdin, err := readStdin(mustInt("maxStdinBytes", maxStdinBytes))
	if err != nil {
		out.WriteString(document(errorDoc{latestVersion, mustInt("codeIo", codeIo),
			"could not read the network config from stdin: " + err.Error()}))
		return 1
	}
	conf := parseClientConfig(stdin)
	request := document(map[string]interface{}{
		"v":     mustInt("protocolVersion", protocolVersion),
		"env":   cniEnv(),
		"stdin": base64.StdEncoding.EncodeToString(stdin),
	})
	a, err := ask(conf.agentSocket, request)
	if err == nil {
		out.WriteString(*a.Stdout)
		return *a.Code
	}
	node := conf.nodeName
	if node == "" {
		node, _ = os.Hostname()
	}
	code := mustInt("codeTryAgainLater", codeTryAgainLater)
	if os.Getenv("CNI_COMMAND") == "STATUS" {
		code = mustInt("codeNotAvailable", codeNotAvailable)
	}
	why := err.Error()
	var u unreachable
	if !errors.As(err, &u) {
		why = "talking to it failed: " + why
	}
	out.WriteString(document(errorDoc{conf.cniVersion, code,
		fmt.Sprintf("nnet-agent is not running on node %s (%s); the runtime will retry", node, why)}))
	return 1
}

// readStdin reads all of stdin, refusing more than max bytes. A terminal gives nothing (a runtime
// always gives a pipe or a file).
func readStdin(max int) ([]byte, error) {
	if st, err := os.Stdin.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(os.Stdin, int64(max)+1))
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) && errors.Is(pe.Err, syscall.EBADF) {
			return nil, nil // no stdin at all
		}
		return nil, err
	}
	if len(data) > max {
		return nil, fmt.Errorf("stdin is larger than %d bytes", max)
	}
	return data, nil
}

// cniEnv: the CNI_* variables, what the runtime passes and the agent needs (nothing else).
func cniEnv() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "CNI_") {
			env[k] = v
		}
	}
	return env
}

// parseClientConfig: what the client needs from its config, read without the plugin's parser.
// Anything odd is ignored; the agent parses the config for real.
func parseClientConfig(stdin []byte) clientConfig {
	c := clientConfig{agentSocket: defaultSocket, cniVersion: latestVersion}
	var doc map[string]interface{}
	if json.Unmarshal(stdin, &doc) != nil || doc == nil {
		return c
	}
	if s, ok := doc["agentSocket"].(string); ok && strings.HasPrefix(s, "/") && !strings.ContainsRune(s, 0) {
		c.agentSocket = s
	}
	if n, ok := doc["nodeName"].(string); ok && validNodeName(n) {
		c.nodeName = n
	}
	if v, ok := doc["cniVersion"].(string); ok && supported(v) {
		c.cniVersion = v
	}
	return c
}

func validNodeName(n string) bool {
	if n == "" || utf8.RuneCountInString(n) > 253 {
		return false
	}
	for _, r := range n {
		if r == 0 || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

var notThere = map[syscall.Errno]string{
	syscall.ENOENT:       "no socket at",
	syscall.ECONNREFUSED: "nothing listens on",
	syscall.EACCES:       "no permission to use (nnet runs as root)",
	syscall.ENOTSOCK:     "not a socket:",
}

// ask sends the request line and reads the one answer line. It never closes its side early: the
// agent takes the end of our side for this process having died.
func ask(socketPath, request string) (*answer, error) {
	conn, err := net.Dial("unix", socketPath)
	if err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			if what, ok := notThere[errno]; ok {
				return nil, unreachable{what + " " + socketPath}
			}
		}
		return nil, err
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, request); err != nil {
		return nil, unreachable{fmt.Sprintf("it closed the connection to %s before answering: %s", socketPath, errnoName(err))}
	}
	limit := mustInt("maxAnswerBytes", maxAnswerBytes)
	data, err := io.ReadAll(io.LimitReader(conn, int64(limit)+1))
	if err != nil {
		return nil, unreachable{fmt.Sprintf("it closed the connection to %s before answering: %s", socketPath, errnoName(err))}
	}
	if len(data) > limit {
		return nil, fmt.Errorf("its answer is larger than %d bytes", limit)
	}
	if len(data) == 0 {
		return nil, unreachable{"it closed the connection to " + socketPath + " before answering"}
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	var a answer
	if json.Unmarshal(line, &a) != nil || a.V == nil || strconv.Itoa(*a.V) != protocolVersion || a.Code == nil || a.Stdout == nil {
		return nil, fmt.Errorf("its answer on %s is not an nnet answer", socketPath)
	}
	return &a, nil
}

// errnoName: ECONNRESET rather than "read unix ...->...: read: connection reset by peer".
func errnoName(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		for name, e := range map[string]syscall.Errno{"ECONNRESET": syscall.ECONNRESET, "EPIPE": syscall.EPIPE} {
			if e == errno {
				return name
			}
		}
	}
	return err.Error()
}
